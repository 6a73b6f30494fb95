//! Attachment keys: the sealer and opener (key, AES key schedule, GHASH key) are wiped when
//! dropped, so a heap-held one leaves no copy of the key in freed memory.

use rand_core::{CryptoRng, RngCore};
use wac1::attachment::{Opener, Sealer};

use super::{freed_blocks_with_secrets, SECRETS};

struct FixedKey([u8; 32]);

impl RngCore for FixedKey {
    fn next_u32(&mut self) -> u32 {
        0
    }
    fn next_u64(&mut self) -> u64 {
        0
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for (d, s) in dest.iter_mut().zip(self.0.iter().cycle()) {
            *d = *s;
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}
impl CryptoRng for FixedKey {}

#[test]
fn sealing_and_opening_free_no_copy_of_the_key() {
    let hits = freed_blocks_with_secrets(|| {
        // Boxed, as the Python classes hold them; AES-256's first two round keys are the key.
        let mut sealer = Box::new(Sealer::new(&mut FixedKey(SECRETS[0])));
        let mut blob = Vec::new();
        sealer.push(&[0x42; 100_000], &mut blob).unwrap();
        let keys = sealer.finish(&mut blob).unwrap();
        let mut opener = Box::new(Opener::new(&keys.key, &keys.digest, keys.size).unwrap());
        let mut out = Vec::new();
        opener.push(&blob, &mut out).unwrap();
        opener.finish(&mut out).unwrap();
        let whole = Box::new(wac1::attachment::open(&blob, &keys.key, &keys.digest, keys.size).unwrap());
        assert_eq!(*whole, out);
        drop(keys);
    });
    assert_eq!(hits, 0, "a freed block still held the attachment key");
}

#[test]
fn a_heap_held_ring_key_would_be_seen() {
    // Why no struct holds a ring key (wac1::aead::with_key): ring does not wipe its key
    // schedule on drop, and AES-256's schedule starts with the key itself, so a boxed ring
    // key leaves the key in freed memory. This control shows the spy would catch it.
    let hits = freed_blocks_with_secrets(|| {
        let unbound = ring::aead::UnboundKey::new(&ring::aead::AES_256_GCM, &SECRETS[0]).unwrap();
        let key = Box::new(ring::aead::LessSafeKey::new(unbound));
        drop(std::hint::black_box(key));
    });
    assert_eq!(hits, 1, "ring's key schedule no longer holds the key: revisit with_key's notes");
}

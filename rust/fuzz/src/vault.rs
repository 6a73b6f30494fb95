//! Fuzz target `open_vault`: opening a tampered or arbitrary vault blob never panics, and
//! only the genuine blob with its own associated data opens (to its own plaintext); anything
//! else is refused with `decryption_failed`. Every input also round-trips through `seal`.

use std::sync::OnceLock;

use wac1::vault::{VaultKey, KEY_SIZE};
use wac1::Error;

use super::DetRng;

/// A key, a record sealed under it with its associated data, from a fixed seed.
pub struct VaultFixture {
    /// The key.
    pub key: VaultKey,
    /// The plaintext.
    pub plain: Vec<u8>,
    /// The associated data it was sealed with.
    pub ad: Vec<u8>,
    /// The genuine blob.
    pub blob: Vec<u8>,
}

/// The fixture, built once.
pub fn vault_fixture() -> &'static VaultFixture {
    static FIXTURE: OnceLock<VaultFixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let mut rng = DetRng::new(0x7a01);
        let mut raw = [0u8; KEY_SIZE];
        rand_core::RngCore::fill_bytes(&mut rng, &mut raw);
        let key = VaultKey::from_bytes(&raw).unwrap();
        let plain = b"credentials of session ses_fixture".to_vec();
        let ad = b"\0\0\0\x08sessions\0\0\0\x0bses_fixture".to_vec();
        let blob = key.seal(&plain, &ad, &mut rng).unwrap();
        VaultFixture { key, plain, ad, blob }
    })
}

/// What one input did.
#[derive(Debug, PartialEq, Eq)]
pub enum VaultOutcome {
    /// The genuine blob and AD: opened to the plaintext.
    Opened,
    /// Refused with `decryption_failed`.
    Refused,
}

/// Fuzz target `open_vault`. The first byte picks the kind of input:
/// - even: edits of the fixture's blob and AD, as 4-byte operations `(op, a, b, c)`: op % 4 =
///   0 XORs `c` into the blob byte at `(a, b)` scaled over the blob, 1 truncates the blob
///   there, 2 appends `c` to the blob, 3 XORs `c` into a byte of the AD (or appends it);
/// - odd: the rest of the input is the blob itself, opened with the fixture's AD.
pub fn open_vault_input(data: &[u8]) -> VaultOutcome {
    let fx = vault_fixture();
    let rest = data.get(1..).unwrap_or_default();
    let (blob, ad) = match data.first() {
        Some(mode) if mode % 2 == 1 => (rest.to_vec(), fx.ad.clone()),
        _ => edited(fx, rest),
    };
    let genuine = blob == fx.blob && ad == fx.ad;
    // Whatever the input, sealing it as a plaintext opens back to it, under its own AD only.
    let mut rng = DetRng::new(data.len() as u64);
    let resealed = fx.key.seal(data, &ad, &mut rng).unwrap();
    assert_eq!(fx.key.open(&resealed, &ad).unwrap(), data, "a sealed input did not round-trip");
    match fx.key.open(&blob, &ad) {
        Ok(plain) => {
            assert!(genuine, "a tampered blob opened");
            assert!(plain == fx.plain, "the genuine blob opened to something else");
            VaultOutcome::Opened
        }
        Err(e) => {
            assert_eq!(e, Error::DecryptionFailed);
            assert!(!genuine, "the genuine blob was refused");
            VaultOutcome::Refused
        }
    }
}

fn edited(fx: &VaultFixture, ops: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let mut blob = fx.blob.clone();
    let mut ad = fx.ad.clone();
    for op in ops.chunks_exact(4) {
        let at = |len: usize| (usize::from(op[1]) << 8 | usize::from(op[2])) * len / 65_536;
        match op[0] % 4 {
            0 if !blob.is_empty() => {
                let i = at(blob.len());
                blob[i] ^= op[3];
            }
            1 => blob.truncate(at(blob.len() + 1)),
            2 => blob.push(op[3]),
            3 if !ad.is_empty() && op[3] != 0 => {
                let i = at(ad.len());
                ad[i] ^= op[3];
            }
            3 => ad.push(op[3]),
            _ => {}
        }
    }
    (blob, ad)
}

/// The committed seeds of `corpus/open_vault`: `valid-*` open, the others are refused.
pub fn vault_seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let t = "open_vault";
    let fx = vault_fixture();
    vec![
        (t, "valid-unchanged".into(), vec![0]),
        (t, "flip-nonce".into(), vec![0, 0, 0x00, 0x00, 0x01]),
        (t, "flip-ciphertext".into(), vec![0, 0, 0x80, 0x00, 0x40]),
        (t, "flip-tag".into(), vec![0, 0, 0xff, 0xff, 0x80]),
        (t, "truncate-tag".into(), vec![0, 1, 0xf0, 0x00, 0]),
        (t, "truncate-all".into(), vec![0, 1, 0, 0, 0]),
        (t, "append-byte".into(), vec![0, 2, 0, 0, 0x41]),
        (t, "wrong-ad".into(), vec![0, 3, 0x80, 0x00, 0x01]),
        (t, "raw-short".into(), b"\x01not a vault blob".to_vec()),
        (t, "valid-raw".into(), [&[1u8][..], &fx.blob].concat()),
    ]
}

//! Every case and every failure of `attachment.json` (§8): sealing under the vector's key
//! reproduces the blob, opening gives the plaintext back, each tampered blob is refused.

use rand_core::{CryptoRng, RngCore};
use serde_json::Value;
use sha2::{Digest, Sha256};
use wac1::attachment::{self, blob_size, Opener, Sealer, CHUNK_SIZE};
use wac1::Error;

use super::vectors::{b, k, load};

/// Hands out a fixed key: the vectors fix what the sealer would draw at random.
pub struct FixedKey(pub [u8; 32]);

impl RngCore for FixedKey {
    // The sealer must draw nothing but its key: any other draw fails the test on purpose.
    fn next_u32(&mut self) -> u32 {
        panic!("the sealer drew a u32; it may only draw its 32-byte key")
    }
    fn next_u64(&mut self) -> u64 {
        panic!("the sealer drew a u64; it may only draw its 32-byte key")
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        assert_eq!(dest.len(), 32, "the sealer draws exactly one 32-byte key");
        dest.copy_from_slice(&self.0);
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}
impl CryptoRng for FixedKey {}

fn plaintext(size: u64, salt: u64) -> Vec<u8> {
    (0..size).map(|i| ((i * 31 + 7 + salt) % 256) as u8).collect()
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap()
}

/// Seals through the streaming sealer in uneven pieces, to cover its chunk boundaries too.
fn seal_streaming(key: [u8; 32], data: &[u8], piece: usize) -> (Vec<u8>, attachment::AttachmentKeys) {
    let mut sealer = Sealer::new(&mut FixedKey(key));
    let mut blob = Vec::new();
    for part in data.chunks(piece.max(1)) {
        sealer.push(part, &mut blob).unwrap();
    }
    let keys = sealer.finish(&mut blob).unwrap();
    (blob, keys)
}

#[test]
fn attachment_cases() {
    let v = load("attachment.json");
    assert_eq!(u(&v["chunk_size"]), CHUNK_SIZE as u64);
    assert_eq!(v["associated_data"].as_str().unwrap().as_bytes(), attachment::ASSOCIATED_DATA);
    let cases = v["cases"].as_array().unwrap();
    assert!(!cases.is_empty());
    for case in cases {
        let size = u(&case["size"]);
        let key = k(&case["key"]);
        let data = plaintext(size, u(&case["plaintext_salt"]));
        let (blob, keys) = attachment::seal(&data, &mut FixedKey(key)).unwrap();
        assert_eq!(blob.len() as u64, u(&case["blob_size"]), "size {size}");
        assert_eq!(blob_size(size), Some(u(&case["blob_size"])));
        assert_eq!(keys.digest.to_vec(), b(&case["digest"]), "size {size}");
        assert_eq!(*keys.key, key);
        assert_eq!(keys.size, size);
        assert_eq!(<[u8; 32]>::from(Sha256::digest(&blob)), keys.digest);
        if case.get("blob").is_some() {
            assert_eq!(blob, b(&case["blob"]), "size {size}");
        } else {
            assert_eq!(blob[..32].to_vec(), b(&case["blob_first_32"]), "size {size}");
            assert_eq!(blob[blob.len() - 32..].to_vec(), b(&case["blob_last_32"]), "size {size}");
        }
        // The streaming sealer produces the same blob whatever the piece size.
        for piece in [1000, CHUNK_SIZE, CHUNK_SIZE + 1] {
            let (streamed, skeys) = seal_streaming(key, &data, piece);
            assert_eq!(streamed, blob, "size {size}, pieces of {piece}");
            assert_eq!(skeys, keys);
        }
        // Opening, whole and streamed, gives the plaintext back.
        assert_eq!(attachment::open(&blob, &key, &keys.digest, size).unwrap(), data);
        let mut opener = Opener::new(&key, &keys.digest, size).unwrap();
        let mut out = Vec::new();
        for part in blob.chunks(7777) {
            opener.push(part, &mut out).unwrap();
        }
        opener.finish(&mut out).unwrap();
        assert_eq!(out, data);
    }
}

#[test]
fn attachment_failures() {
    let v = load("attachment.json");
    let failures = v["failures"].as_array().unwrap();
    assert!(!failures.is_empty());
    for f in failures {
        let tamper = f["tamper"].as_str().unwrap();
        assert_eq!(f["expect_error"], "attachment_corrupt");
        let (blob, key, size) = (b(&f["blob"]), k(&f["key"]), u(&f["size"]));
        let digest: [u8; 32] = b(&f["digest_of_this_blob"]).try_into().unwrap();
        assert_eq!(<[u8; 32]>::from(Sha256::digest(&blob)), digest, "{tamper}: digest of the blob");
        let err = attachment::open(&blob, &key, &digest, size).unwrap_err();
        assert_eq!(err, Error::AttachmentCorrupt, "{tamper}");
        assert_eq!(err.code(), "attachment_corrupt");
        // The streaming opener refuses it too, and releases nothing past the bad chunk.
        let mut opener = Opener::new(&key, &digest, size).unwrap();
        let mut out = Vec::new();
        let pushed = opener.push(&blob, &mut out);
        let finished = if pushed.is_ok() { opener.finish(&mut out) } else { pushed };
        assert_eq!(finished.unwrap_err(), Error::AttachmentCorrupt, "{tamper}");
        // Past the length check, the AEAD itself refuses: a size matching the blob's length
        // (the truncated case) still fails on the missing final flag or the tag.
        let chunks = (blob.len() as u64).div_ceil(CHUNK_SIZE as u64 + 16);
        let as_if = blob.len() as u64 - 16 * chunks;
        assert_eq!(blob_size(as_if), Some(blob.len() as u64));
        assert_eq!(
            attachment::open(&blob, &key, &digest, as_if).unwrap_err(),
            Error::AttachmentCorrupt,
            "{tamper}"
        );
    }
}

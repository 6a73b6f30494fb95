//! Fingerprints and safety numbers (PROTOCOL.md §2).

use sha2::{Digest, Sha256, Sha512};

use crate::error::{Error, Result};
use crate::keys::PublicIdentity;

/// The raw 32-byte fingerprint digest of an identity.
pub fn fingerprint_digest(identity: &PublicIdentity) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"WAC1/fingerprint");
    h.update(identity.identity_key);
    h.update(identity.signing_key);
    h.finalize().into()
}

/// The fingerprint as 64 lowercase hex characters.
pub fn fingerprint(identity: &PublicIdentity) -> String {
    hex(&fingerprint_digest(identity))
}

/// The 60-digit safety number of two fingerprint digests; symmetric in its arguments.
pub fn safety_number(a: &[u8; 32], b: &[u8; 32]) -> String {
    let (first, second) = if a <= b { (a, b) } else { (b, a) };
    let mut h = Sha512::new();
    h.update(b"WAC1/safety");
    h.update(first);
    h.update(second);
    let digest: [u8; 64] = h.finalize().into();
    let mut out = String::with_capacity(60);
    for chunk in digest.chunks_exact(5).take(12) {
        let value = chunk.iter().fold(0u64, |acc, byte| (acc << 8) | u64::from(*byte));
        out.push_str(&format!("{:05}", value % 100_000));
    }
    out
}

/// Parses a 64-character hex fingerprint (either case) into its digest.
pub fn parse_fingerprint(text: &str) -> Result<[u8; 32]> {
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return Err(Error::InvalidMessage("a fingerprint is 64 hex characters".into()));
    }
    let mut out = [0u8; 32];
    for (slot, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        let hi = hex_value(pair.first().copied())?;
        let lo = hex_value(pair.get(1).copied())?;
        *slot = (hi << 4) | lo;
    }
    Ok(out)
}

fn hex_value(c: Option<u8>) -> Result<u8> {
    match c {
        Some(c @ b'0'..=b'9') => Ok(c - b'0'),
        Some(c @ b'a'..=b'f') => Ok(c - b'a' + 10),
        Some(c @ b'A'..=b'F') => Ok(c - b'A' + 10),
        _ => Err(Error::InvalidMessage("a fingerprint is 64 hex characters".into())),
    }
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        for nibble in [b >> 4, b & 0x0f] {
            s.push(char::from(DIGITS.get(usize::from(nibble)).copied().unwrap_or(b'0')));
        }
    }
    s
}

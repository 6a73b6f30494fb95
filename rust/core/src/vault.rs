//! The gateway's vault: AES-256-GCM sealing of small records at rest under one master key.
//!
//! A sealed blob is `nonce (12 random bytes) || ciphertext || tag (16)`. The associated data
//! binds a blob to where it belongs (table, row, field), so a blob copied to another place
//! does not open there. The master key is held in a [`Zeroizing`] buffer, never printed by
//! `Debug`, and the AES key schedule lives only on the stack of one call (see [`crate::aead`]).

use core::fmt;

use rand_core::{CryptoRng, RngCore};
use ring::aead::{Aad, Nonce};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Bytes of the master key.
pub const KEY_SIZE: usize = 32;
/// Bytes of the random nonce that starts every blob.
pub const NONCE_SIZE: usize = 12;
/// Bytes of the GCM tag that ends every blob.
pub const TAG_SIZE: usize = 16;
/// Bytes a blob has beyond its plaintext.
pub const OVERHEAD: usize = NONCE_SIZE + TAG_SIZE;

/// A vault master key. Random 96-bit nonces keep the collision risk negligible for far more
/// than the 2^32 seals NIST allows per key; the gateway seals orders of magnitude fewer.
pub struct VaultKey {
    key: Zeroizing<[u8; KEY_SIZE]>,
}

impl fmt::Debug for VaultKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VaultKey(<redacted>)")
    }
}

impl VaultKey {
    /// The key from exactly 32 bytes; any other length is [`Error::InvalidKey`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let key = <[u8; KEY_SIZE]>::try_from(bytes)
            .map_err(|_| Error::InvalidKey("a vault key must be 32 bytes"))?;
        Ok(Self { key: Zeroizing::new(key) })
    }

    /// A fresh random key.
    pub fn generate(rng: &mut (impl RngCore + CryptoRng)) -> Self {
        let mut key = Zeroizing::new([0u8; KEY_SIZE]);
        rng.fill_bytes(key.as_mut());
        Self { key }
    }

    /// The raw key, for writing the key file once (kept in a wiped buffer by the caller).
    pub fn expose(&self) -> &[u8; KEY_SIZE] {
        &self.key
    }

    /// Seals `plaintext` bound to `ad` under a fresh random nonce.
    pub fn seal(&self, plaintext: &[u8], ad: &[u8], rng: &mut (impl RngCore + CryptoRng)) -> Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_SIZE];
        rng.fill_bytes(&mut nonce);
        let mut out = Vec::with_capacity(plaintext.len() + OVERHEAD);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plaintext);
        crate::aead::with_key(&self.key, |cipher| {
            let body = out.get_mut(NONCE_SIZE..).unwrap_or_default();
            let tag = cipher
                .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::from(ad), body)
                .map_err(|_| Error::InvalidMessage("plaintext too large for AES-GCM".into()))?;
            out.extend_from_slice(tag.as_ref());
            Ok(())
        })?;
        Ok(out)
    }

    /// Opens a blob sealed with `ad`. A wrong key or AD, any changed bit, a truncated or
    /// extended blob: [`Error::DecryptionFailed`], and no plaintext is released.
    pub fn open(&self, blob: &[u8], ad: &[u8]) -> Result<Vec<u8>> {
        if blob.len() < OVERHEAD {
            return Err(Error::DecryptionFailed);
        }
        let (nonce, sealed) = blob.split_at(NONCE_SIZE);
        let nonce = <[u8; NONCE_SIZE]>::try_from(nonce).map_err(|_| Error::DecryptionFailed)?;
        let mut out = sealed.to_vec();
        crate::aead::with_key(&self.key, |cipher| {
            // ring zeroes the buffer when the tag does not verify.
            let len = cipher
                .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(ad), &mut out)
                .map_err(|_| Error::DecryptionFailed)?
                .len();
            out.truncate(len);
            Ok(())
        })?;
        Ok(out)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use rand_core::OsRng;

    use super::*;

    fn key() -> VaultKey {
        VaultKey::from_bytes(&[7u8; KEY_SIZE]).unwrap()
    }

    #[test]
    fn round_trip_and_layout() {
        let k = key();
        let blob = k.seal(b"hello", b"ad", &mut OsRng).unwrap();
        assert_eq!(blob.len(), 5 + OVERHEAD);
        assert_eq!(k.open(&blob, b"ad").unwrap(), b"hello");
        let empty = k.seal(b"", b"", &mut OsRng).unwrap();
        assert_eq!(k.open(&empty, b"").unwrap(), b"");
    }

    #[test]
    fn nonces_differ() {
        let k = key();
        assert_ne!(k.seal(b"x", b"", &mut OsRng).unwrap(), k.seal(b"x", b"", &mut OsRng).unwrap());
    }

    #[test]
    fn tampering_is_refused() {
        let k = key();
        let blob = k.seal(b"secret text", b"ad", &mut OsRng).unwrap();
        assert_eq!(k.open(&blob, b"other"), Err(Error::DecryptionFailed));
        for bit in 0..blob.len() * 8 {
            let mut bad = blob.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(k.open(&bad, b"ad"), Err(Error::DecryptionFailed), "bit {bit}");
        }
        for len in 0..blob.len() {
            assert_eq!(k.open(&blob[..len], b"ad"), Err(Error::DecryptionFailed), "len {len}");
        }
        let mut longer = blob.clone();
        longer.push(0);
        assert_eq!(k.open(&longer, b"ad"), Err(Error::DecryptionFailed));
        let other = VaultKey::from_bytes(&[8u8; KEY_SIZE]).unwrap();
        assert_eq!(other.open(&blob, b"ad"), Err(Error::DecryptionFailed));
    }

    #[test]
    fn key_length_and_debug() {
        assert!(matches!(VaultKey::from_bytes(&[0u8; 31]), Err(Error::InvalidKey(_))));
        assert!(matches!(VaultKey::from_bytes(&[0u8; 33]), Err(Error::InvalidKey(_))));
        let k = VaultKey::generate(&mut OsRng);
        assert_eq!(format!("{k:?}"), "VaultKey(<redacted>)");
    }
}

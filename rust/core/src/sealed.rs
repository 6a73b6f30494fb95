//! Sealing serialized state under a caller's 32-byte key, so state can leave the engine
//! (to Python, to a file) without exposing private keys.
//!
//! Layout: `"WACS" || version (1) || nonce (24) || XChaCha20-Poly1305(ciphertext || tag)`,
//! with the object's label as associated data so one kind of object cannot be restored as
//! another. Random 192-bit nonces make nonce reuse under one key negligible.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

const MAGIC: &[u8; 4] = b"WACS";
const VERSION: u8 = 1;
const HEADER: usize = 4 + 1 + 24;

/// Seals `plaintext` under `key`, bound to `label`.
pub fn seal<R: RngCore + CryptoRng>(
    key: &[u8; 32],
    label: &[u8],
    plaintext: &[u8],
    rng: &mut R,
) -> Result<Vec<u8>> {
    let mut nonce = [0u8; 24];
    rng.fill_bytes(&mut nonce);
    let cipher = XChaCha20Poly1305::new(key.into());
    let ct = cipher
        .encrypt(XNonce::from_slice(&nonce), Payload { msg: plaintext, aad: label })
        .map_err(|_| Error::Corrupt("state too large to seal"))?;
    let mut out = Vec::with_capacity(HEADER + ct.len());
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    Ok(out)
}

/// Opens what [`seal`] made; a wrong key, label, or any change gives [`Error::Corrupt`].
pub fn open(key: &[u8; 32], label: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    if sealed.len() < HEADER + 16 || !sealed.starts_with(MAGIC) {
        return Err(Error::Corrupt("not sealed state"));
    }
    if sealed.get(4) != Some(&VERSION) {
        return Err(Error::Corrupt("unknown sealed-state version"));
    }
    let (head, ct) = sealed.split_at(HEADER);
    let nonce = head.get(5..HEADER).ok_or(Error::Corrupt("not sealed state"))?;
    let cipher = XChaCha20Poly1305::new(key.into());
    cipher
        .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad: label })
        .map(Zeroizing::new)
        .map_err(|_| Error::Corrupt("wrong key or tampered sealed state"))
}

//! `ENCRYPT(mk, plaintext, ad)` of PROTOCOL.md §4: AES-256-GCM under keys expanded from `mk`.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};

use crate::error::{Error, Result};
use crate::kdf::message_keys;

/// Encrypts `plaintext`, returning ciphertext with the 16-byte tag appended.
pub fn encrypt(mk: &[u8; 32], plaintext: &[u8], ad: &[u8]) -> Result<Vec<u8>> {
    let keys = message_keys(mk);
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(keys.key.as_ref()));
    cipher
        .encrypt(Nonce::from_slice(&keys.nonce), Payload { msg: plaintext, aad: ad })
        .map_err(|_| Error::InvalidMessage("plaintext too large for AES-GCM".into()))
}

/// Decrypts and authenticates; any failure is [`Error::DecryptionFailed`].
pub fn decrypt(mk: &[u8; 32], ciphertext: &[u8], ad: &[u8]) -> Result<Vec<u8>> {
    let keys = message_keys(mk);
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(keys.key.as_ref()));
    cipher
        .decrypt(Nonce::from_slice(&keys.nonce), Payload { msg: ciphertext, aad: ad })
        .map_err(|_| Error::DecryptionFailed)
}

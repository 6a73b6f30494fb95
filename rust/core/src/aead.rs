//! `ENCRYPT(mk, plaintext, ad)` of PROTOCOL.md §4: AES-256-GCM under keys expanded from `mk`.
//!
//! AES-256-GCM is ring's (VAES/VPCLMULQDQ, AES-NI/CLMUL, or constant-time fallbacks, chosen
//! from the CPU at run time). ring's key is opaque and not wiped when dropped, so it is only
//! ever built on the stack for one call by [`with_key`], which overwrites that stack after.

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};

use crate::error::{Error, Result};
use crate::kdf::message_keys;

/// Bytes of the GCM tag.
const TAG_SIZE: usize = 16;

/// Encrypts `plaintext`, returning ciphertext with the 16-byte tag appended.
pub fn encrypt(mk: &[u8; 32], plaintext: &[u8], ad: &[u8]) -> Result<Vec<u8>> {
    let keys = message_keys(mk);
    let mut out = Vec::with_capacity(plaintext.len() + TAG_SIZE);
    out.extend_from_slice(plaintext);
    with_key(&keys.key, |cipher| {
        let nonce = Nonce::assume_unique_for_key(keys.nonce);
        let tag = cipher
            .seal_in_place_separate_tag(nonce, Aad::from(ad), &mut out)
            .map_err(|_| Error::InvalidMessage("plaintext too large for AES-GCM".into()))?;
        out.extend_from_slice(tag.as_ref());
        Ok(())
    })?;
    Ok(out)
}

/// Decrypts and authenticates; any failure is [`Error::DecryptionFailed`].
pub fn decrypt(mk: &[u8; 32], ciphertext: &[u8], ad: &[u8]) -> Result<Vec<u8>> {
    let keys = message_keys(mk);
    let mut out = ciphertext.to_vec();
    with_key(&keys.key, |cipher| {
        let nonce = Nonce::assume_unique_for_key(keys.nonce);
        // ring zeroes the buffer when the tag does not verify: no unverified plaintext.
        let len =
            cipher.open_in_place(nonce, Aad::from(ad), &mut out).map_err(|_| Error::DecryptionFailed)?.len();
        out.truncate(len);
        Ok(())
    })?;
    Ok(out)
}

/// Runs `f` with the AES-256-GCM key `key`. The key schedule and GHASH table live only in
/// this call's stack frames (never in a heap block), and that stack is overwritten after.
pub(crate) fn with_key<T>(key: &[u8; 32], f: impl FnOnce(&LessSafeKey) -> Result<T>) -> Result<T> {
    let result = with_key_inner(key, f);
    scrub_stack();
    result
}

#[inline(never)]
fn with_key_inner<T>(key: &[u8; 32], f: impl FnOnce(&LessSafeKey) -> Result<T>) -> Result<T> {
    // A 32-byte key is always accepted.
    let unbound =
        UnboundKey::new(&AES_256_GCM, key).map_err(|_| Error::InvalidMessage("bad AES key".into()))?;
    f(&LessSafeKey::new(unbound))
}

/// Overwrites the stack just below the caller, where [`with_key_inner`] held the key
/// schedule and GHASH table (and the moves that built them). `black_box` keeps the
/// otherwise dead stores.
#[inline(never)]
fn scrub_stack() {
    let mut area = [0u8; 4096];
    area.fill(0);
    core::hint::black_box(&mut area);
}

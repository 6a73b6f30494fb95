//! Checking a blob's length and SHA-256 while it arrives, so that opening it afterwards
//! needs no hashing pass of its own (PROTOCOL.md §8 still holds: nothing is decrypted before
//! the whole blob's length and digest matched the message).

use subtle::ConstantTimeEq;

use super::{blob_size, corrupt, finish_hash, hasher, Hasher};
use crate::error::Result;

/// SHA-256 and length of a blob, fed in pieces as it is received or written.
#[derive(Clone)]
pub struct BlobHasher {
    hasher: Hasher,
    len: u64,
}

impl core::fmt::Debug for BlobHasher {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("BlobHasher").field("len", &self.len).finish()
    }
}

impl Default for BlobHasher {
    fn default() -> Self {
        Self::new()
    }
}

impl BlobHasher {
    /// A hasher that has seen nothing.
    pub fn new() -> Self {
        Self { hasher: hasher(), len: 0 }
    }

    /// Adds the next bytes of the blob.
    pub fn update(&mut self, data: &[u8]) {
        self.hasher.update(data);
        self.len = self.len.saturating_add(data.len() as u64);
    }

    /// Bytes fed so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing was fed yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Checks what was fed against the message: exactly [`blob_size`]`(size)` bytes whose
    /// SHA-256 is `digest`. Any mismatch is [`crate::Error::AttachmentCorrupt`].
    pub fn verify(&self, digest: &[u8; 32], size: u64) -> Result<VerifiedBlob> {
        let expected = blob_size(size).ok_or_else(corrupt)?;
        let actual = finish_hash(self.hasher.clone());
        let same = bool::from(actual.ct_eq(digest));
        if self.len != expected || !same {
            return Err(corrupt());
        }
        Ok(VerifiedBlob { digest: *digest, size, blob_size: expected })
    }
}

/// Proof that a blob of an attachment's length and SHA-256 was seen: only
/// [`BlobHasher::verify`] makes one. [`super::Opener::verified`] takes it to decrypt without
/// hashing again; every chunk's tag, index and final flag and the total length are still
/// checked, so bytes changed after the check fail unless they were sealed under the
/// attachment's key.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifiedBlob {
    digest: [u8; 32],
    size: u64,
    blob_size: u64,
}

impl core::fmt::Debug for VerifiedBlob {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("VerifiedBlob").field("size", &self.size).finish()
    }
}

impl VerifiedBlob {
    /// The verified digest.
    pub fn digest(&self) -> &[u8; 32] {
        &self.digest
    }

    /// Plaintext bytes of the attachment.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Bytes of the blob.
    pub fn blob_size(&self) -> u64 {
        self.blob_size
    }
}

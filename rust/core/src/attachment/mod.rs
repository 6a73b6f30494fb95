//! Encrypted attachments of PROTOCOL.md §8: a file sealed in 64 KiB AES-256-GCM chunks
//! under a fresh random key, so it can travel as an opaque blob while the E2EE message
//! carries the key, the blob's SHA-256 and the plaintext size.
//!
//! Chunk `i` is sealed with nonce `0^7 || u32be(i) || f` (`f = 1` on the last chunk only) and
//! associated data `"WAC1/attachment"`. The index makes a reordered blob fail, the final flag
//! a truncated one. Every failure to open is [`Error::AttachmentCorrupt`], and no plaintext
//! of an attachment that fails is handed out by [`open`] or [`open_file`].
//!
//! Three ways in: whole buffers ([`seal`], [`open`]), streams a chunk at a time ([`Sealer`],
//! [`Opener`]), and file to file ([`seal_file`], [`open_file`]) without holding the file. A
//! download written through a [`BlobWriter`] is hashed as it arrives and opened without a
//! hashing pass of its own.

mod download;
mod file;
mod stream;
mod verified;

use rand_core::{CryptoRng, RngCore};
use ring::aead::{Aad, LessSafeKey, Nonce, Tag};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, Result};

pub use download::BlobWriter;
pub use file::{open_file, seal_file, FileError};
pub use stream::{Opener, Sealer};
pub use verified::{BlobHasher, VerifiedBlob};

/// Plaintext bytes per chunk.
pub const CHUNK_SIZE: usize = 65_536;
/// Bytes of the GCM tag after each chunk.
pub const TAG_SIZE: usize = 16;
/// A full sealed chunk.
pub const SEALED_CHUNK_SIZE: usize = CHUNK_SIZE + TAG_SIZE;
/// Associated data of every chunk.
pub const ASSOCIATED_DATA: &[u8] = b"WAC1/attachment";
/// Largest plaintext: the chunk index is a `u32`, so at most 2^32 chunks (256 TiB).
pub const MAX_SIZE: u64 = (u32::MAX as u64 + 1) * CHUNK_SIZE as u64;

/// What the E2EE message carries for an attachment: key, blob digest, plaintext size.
#[derive(Clone, PartialEq, Eq)]
pub struct AttachmentKeys {
    /// The fresh AES-256 key of this attachment.
    pub key: Zeroizing<[u8; 32]>,
    /// SHA-256 of the whole blob.
    pub digest: [u8; 32],
    /// Plaintext bytes.
    pub size: u64,
}

impl AttachmentKeys {
    /// Bytes of the blob (plaintext plus one tag per chunk).
    pub fn blob_size(&self) -> u64 {
        // `size` never exceeds MAX_SIZE for keys made here, so this cannot saturate.
        blob_size(self.size).unwrap_or(u64::MAX)
    }
}

impl core::fmt::Debug for AttachmentKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AttachmentKeys")
            .field("key", &"<redacted>")
            .field("digest", &crate::encoding::b64(&self.digest))
            .field("size", &self.size)
            .finish()
    }
}

/// Number of chunks of a plaintext of `size` bytes (an empty file is one empty chunk).
fn chunk_count(size: u64) -> u64 {
    size.div_ceil(CHUNK_SIZE as u64).max(1)
}

/// The blob size for `size` plaintext bytes: `size + 16 × max(1, ceil(size / 65536))`, or
/// `None` above [`MAX_SIZE`].
pub fn blob_size(size: u64) -> Option<u64> {
    if size > MAX_SIZE {
        return None;
    }
    size.checked_add(TAG_SIZE as u64 * chunk_count(size))
}

/// Plaintext bytes of chunk `index` of a `size`-byte attachment.
fn chunk_len(size: u64, index: u64) -> usize {
    let start = index.saturating_mul(CHUNK_SIZE as u64);
    // At most CHUNK_SIZE, so the conversion cannot fail.
    usize::try_from(size.saturating_sub(start).min(CHUNK_SIZE as u64)).unwrap_or(CHUNK_SIZE)
}

/// `0^7 || u32be(index) || final`.
fn nonce(index: u32, last: bool) -> [u8; 12] {
    let i = index.to_be_bytes();
    [0, 0, 0, 0, 0, 0, 0, i[0], i[1], i[2], i[3], u8::from(last)]
}

/// Runs `f` with the chunk cipher of `key`, built on the stack for this call only (ring's
/// key is opaque and not wiped on drop; see [`crate::aead`]).
fn with_cipher<T>(key: &[u8; 32], f: impl FnOnce(&LessSafeKey) -> Result<T>) -> Result<T> {
    crate::aead::with_key(key, f)
}

/// SHA-256 of the blob, incrementally (ring's: SHA-NI where the CPU has it).
type Hasher = ring::digest::Context;

fn hasher() -> Hasher {
    ring::digest::Context::new(&ring::digest::SHA256)
}

fn finish_hash(hasher: Hasher) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(hasher.finish().as_ref());
    out
}

fn corrupt() -> Error {
    Error::AttachmentCorrupt
}

/// Seals `buf` (one chunk's plaintext followed by `TAG_SIZE` spare bytes) in place.
fn seal_chunk(cipher: &LessSafeKey, index: u32, last: bool, buf: &mut [u8]) -> Result<()> {
    let (text, tag) = buf.split_at_mut(buf.len().saturating_sub(TAG_SIZE));
    let nonce = Nonce::assume_unique_for_key(nonce(index, last));
    let t = cipher
        .seal_in_place_separate_tag(nonce, Aad::from(ASSOCIATED_DATA), text)
        .map_err(|_| Error::InvalidMessage("attachment chunk too large".into()))?;
    tag.copy_from_slice(t.as_ref());
    Ok(())
}

/// Opens one sealed chunk into `out` (exactly its plaintext length). On failure `out` is
/// wiped: the cipher decrypts before it compares tags.
fn open_chunk(cipher: &LessSafeKey, index: u64, last: bool, sealed: &[u8], out: &mut [u8]) -> Result<()> {
    let index = u32::try_from(index).map_err(|_| corrupt())?;
    if sealed.len() != out.len() + TAG_SIZE {
        return Err(corrupt());
    }
    let (text, tag) = sealed.split_at(out.len());
    let tag = Tag::try_from(tag).map_err(|_| corrupt())?;
    out.copy_from_slice(text);
    let nonce = Nonce::assume_unique_for_key(nonce(index, last));
    let result = cipher.open_in_place_separate_tag(nonce, Aad::from(ASSOCIATED_DATA), tag, out, 0..);
    if result.is_err() {
        out.zeroize();
        return Err(corrupt());
    }
    Ok(())
}

fn fresh_key<R: RngCore + CryptoRng>(rng: &mut R) -> Zeroizing<[u8; 32]> {
    let mut key = Zeroizing::new([0u8; 32]);
    rng.fill_bytes(key.as_mut());
    key
}

/// Seals `plaintext` under a fresh key into `out`, which must be exactly
/// [`blob_size`]`(plaintext.len())` bytes. Returns the keys for the message.
pub fn seal_into<R: RngCore + CryptoRng>(
    plaintext: &[u8],
    out: &mut [u8],
    rng: &mut R,
) -> Result<AttachmentKeys> {
    let size = plaintext.len() as u64;
    if blob_size(size) != Some(out.len() as u64) {
        return Err(Error::InvalidMessage("output buffer is not the blob size".into()));
    }
    let key = fresh_key(rng);
    let mut hasher = hasher();
    let chunks = chunk_count(size);
    with_cipher(&key, |cipher| {
        let mut rest = &mut *out;
        for index in 0..chunks {
            let len = chunk_len(size, index);
            let start = usize::try_from(index).unwrap_or(usize::MAX).saturating_mul(CHUNK_SIZE);
            let (buf, tail) = rest.split_at_mut(len + TAG_SIZE);
            let text = plaintext.get(start..start + len).ok_or_else(corrupt)?;
            buf.get_mut(..len).ok_or_else(corrupt)?.copy_from_slice(text);
            seal_chunk(cipher, u32::try_from(index).map_err(|_| corrupt())?, index + 1 == chunks, buf)?;
            hasher.update(buf);
            rest = tail;
        }
        Ok(())
    })?;
    Ok(AttachmentKeys { key, digest: finish_hash(hasher), size })
}

/// Seals `plaintext` under a fresh key: the blob and the keys for the message.
pub fn seal<R: RngCore + CryptoRng>(plaintext: &[u8], rng: &mut R) -> Result<(Vec<u8>, AttachmentKeys)> {
    let size =
        blob_size(plaintext.len() as u64).ok_or(Error::InvalidMessage("attachment too large".into()))?;
    let mut blob =
        vec![0u8; usize::try_from(size).map_err(|_| Error::InvalidMessage("attachment too large".into()))?];
    let keys = seal_into(plaintext, &mut blob, rng)?;
    Ok((blob, keys))
}

/// Checks a whole blob's length and SHA-256 against the message before decrypting
/// anything (§8). Any mismatch is [`Error::AttachmentCorrupt`].
pub fn check_blob(blob: &[u8], digest: &[u8; 32], size: u64) -> Result<()> {
    if blob_size(size) != Some(blob.len() as u64) {
        return Err(corrupt());
    }
    let mut actual = [0u8; 32];
    actual.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, blob).as_ref());
    if !bool::from(actual.ct_eq(digest)) {
        return Err(corrupt());
    }
    Ok(())
}

/// Opens a whole blob into `out` (exactly `size` bytes): length and digest first, then every
/// chunk in order. On any failure `out` is wiped, so no partial plaintext escapes.
pub fn open_into(blob: &[u8], key: &[u8; 32], digest: &[u8; 32], size: u64, out: &mut [u8]) -> Result<()> {
    if out.len() as u64 != size {
        return Err(Error::InvalidMessage("output buffer is not the attachment size".into()));
    }
    check_blob(blob, digest, size)?;
    let result = open_checked(blob, key, size, out);
    if result.is_err() {
        out.zeroize();
    }
    result
}

/// Opens a whole blob: its plaintext, or [`Error::AttachmentCorrupt`] and nothing.
pub fn open(blob: &[u8], key: &[u8; 32], digest: &[u8; 32], size: u64) -> Result<Vec<u8>> {
    // Checked before allocating: `size` comes from the message, the blob bounds it.
    check_blob(blob, digest, size)?;
    let mut out = Zeroizing::new(vec![0u8; usize::try_from(size).map_err(|_| corrupt())?]);
    open_checked(blob, key, size, &mut out)?;
    Ok(core::mem::take(&mut *out))
}

/// Decrypts the chunks of a blob whose length and digest were checked.
fn open_checked(blob: &[u8], key: &[u8; 32], size: u64, out: &mut [u8]) -> Result<()> {
    let chunks = chunk_count(size);
    with_cipher(key, |cipher| {
        let mut at = 0usize;
        for index in 0..chunks {
            let len = chunk_len(size, index);
            let start = usize::try_from(index).unwrap_or(usize::MAX).saturating_mul(CHUNK_SIZE);
            let sealed = blob.get(at..at + len + TAG_SIZE).ok_or_else(corrupt)?;
            let dst = out.get_mut(start..start + len).ok_or_else(corrupt)?;
            open_chunk(cipher, index, index + 1 == chunks, sealed, dst)?;
            at += len + TAG_SIZE;
        }
        Ok(())
    })
}

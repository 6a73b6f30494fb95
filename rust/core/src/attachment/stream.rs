//! Sealing and opening a chunk at a time, for data that arrives in pieces of any size.

use rand_core::{CryptoRng, RngCore};
use ring::aead::LessSafeKey;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::{
    blob_size, chunk_count, chunk_len, corrupt, finish_hash, fresh_key, hasher, open_chunk, seal_chunk,
    with_cipher, AttachmentKeys, Hasher, VerifiedBlob, CHUNK_SIZE, SEALED_CHUNK_SIZE, TAG_SIZE,
};
use crate::error::{Error, Result};

/// Seals an attachment as its plaintext arrives. A full chunk is held back until more data
/// (or [`Sealer::finish`]) shows whether it is the last one, which carries the final flag.
pub struct Sealer {
    /// The cipher is built from it on the stack for each call (see `with_cipher`).
    key: Zeroizing<[u8; 32]>,
    /// Plaintext of the chunk being filled; never grows past one chunk.
    pending: Zeroizing<Vec<u8>>,
    index: u32,
    size: u64,
    hasher: Hasher,
    finished: bool,
}

impl core::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Sealer").field("key", &"<redacted>").field("size", &self.size).finish()
    }
}

impl Sealer {
    /// A sealer under a fresh random key.
    pub fn new<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        Self {
            key: fresh_key(rng),
            pending: Zeroizing::new(Vec::with_capacity(CHUNK_SIZE)),
            index: 0,
            size: 0,
            hasher: hasher(),
            finished: false,
        }
    }

    fn check_open(&self) -> Result<()> {
        if self.finished {
            return Err(Error::InvalidMessage("the attachment sealer is already finished".into()));
        }
        Ok(())
    }

    /// Adds plaintext; appends to `out` the sealed chunks it completes.
    pub fn push(&mut self, mut data: &[u8], out: &mut Vec<u8>) -> Result<()> {
        self.check_open()?;
        let too_large = || Error::InvalidMessage("attachment larger than the 256 TiB limit".into());
        let total = self
            .size
            .checked_add(data.len() as u64)
            .filter(|n| *n <= super::MAX_SIZE)
            .ok_or_else(too_large)?;
        let key = self.key.clone();
        with_cipher(&key, |cipher| {
            while !data.is_empty() {
                if self.pending.len() == CHUNK_SIZE {
                    // More data follows, so the held chunk is not the last one.
                    self.seal_pending(cipher, false, out)?;
                    self.index = self.index.checked_add(1).ok_or_else(too_large)?;
                }
                let take = data.len().min(CHUNK_SIZE - self.pending.len());
                let (head, tail) = data.split_at(take);
                self.pending.extend_from_slice(head);
                data = tail;
            }
            Ok(())
        })?;
        self.size = total;
        Ok(())
    }

    /// Seals the last chunk into `out` and returns the keys for the message. It takes
    /// `&mut self`, not `self`: moving the sealer out of a heap slot would leave a bitwise
    /// copy of its key there, freed unwiped; it is wiped where it lies when dropped.
    pub fn finish(&mut self, out: &mut Vec<u8>) -> Result<AttachmentKeys> {
        self.check_open()?;
        self.finished = true;
        let key = self.key.clone();
        with_cipher(&key, |cipher| self.seal_pending(cipher, true, out))?;
        let digest = finish_hash(core::mem::replace(&mut self.hasher, hasher()));
        Ok(AttachmentKeys { key, digest, size: self.size })
    }

    fn seal_pending(&mut self, cipher: &LessSafeKey, last: bool, out: &mut Vec<u8>) -> Result<()> {
        let start = out.len();
        out.reserve(self.pending.len() + TAG_SIZE);
        out.extend_from_slice(&self.pending);
        out.extend_from_slice(&[0u8; TAG_SIZE]);
        let sealed = out.get_mut(start..).ok_or_else(corrupt)?;
        seal_chunk(cipher, self.index, last, sealed)?;
        self.hasher.update(sealed);
        self.pending.clear();
        Ok(())
    }
}

/// Opens an attachment as its blob arrives, releasing the plaintext of each chunk once its
/// tag verifies. The digest of the whole blob can only be checked at [`Opener::finish`],
/// which also opens the last chunk (held back until then, so the final flag is checked
/// after the digest). A caller that must not act on any plaintext of a corrupt attachment
/// keeps what `push` returns until `finish` succeeds, or uses [`super::open`] /
/// [`super::open_file`], which check the whole blob first.
pub struct Opener {
    /// The cipher is built from it on the stack for each call (see `with_cipher`).
    key: Zeroizing<[u8; 32]>,
    digest: [u8; 32],
    size: u64,
    blob_size: u64,
    chunks: u64,
    index: u64,
    received: u64,
    /// Sealed bytes of a chunk split across pushes, or of the last chunk; never more than
    /// one sealed chunk.
    pending: Vec<u8>,
    /// `None` when the caller already checked the whole blob's digest (`open_file`).
    hasher: Option<Hasher>,
    failed: bool,
}

impl core::fmt::Debug for Opener {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Opener").field("size", &self.size).field("received", &self.received).finish()
    }
}

impl Opener {
    /// An opener for the attachment a message describes.
    pub fn new(key: &[u8; 32], digest: &[u8; 32], size: u64) -> Result<Self> {
        let blob_size = blob_size(size).ok_or_else(corrupt)?;
        Ok(Self {
            key: Zeroizing::new(*key),
            digest: *digest,
            size,
            blob_size,
            chunks: chunk_count(size),
            index: 0,
            received: 0,
            pending: Vec::with_capacity(SEALED_CHUNK_SIZE),
            hasher: Some(hasher()),
            failed: false,
        })
    }

    /// An opener for a blob whose length and digest the caller has just checked over the
    /// same open file: it does not hash again. A blob changed after that check still fails
    /// every chunk's tag unless it was sealed under this attachment's key, which only the
    /// sender and this receiver hold.
    fn digest_checked(key: &[u8; 32], digest: &[u8; 32], size: u64) -> Result<Self> {
        let mut opener = Self::new(key, digest, size)?;
        opener.hasher = None;
        Ok(opener)
    }

    /// An opener for a blob whose length and SHA-256 were verified as it arrived
    /// ([`super::BlobHasher::verify`]): it does not hash again, and still checks every
    /// chunk's tag, index and final flag and the total length.
    pub fn verified(key: &[u8; 32], blob: &VerifiedBlob) -> Result<Self> {
        Self::digest_checked(key, blob.digest(), blob.size())
    }

    /// Adds blob bytes; appends to `out` the plaintext of the chunks they complete (all but
    /// the last). After any failure the opener refuses everything.
    pub fn push(&mut self, part: &[u8], out: &mut Vec<u8>) -> Result<()> {
        self.guarded(out, |me, out| me.push_inner(part, out))
    }

    /// Checks that the whole blob arrived and matches the digest, then appends the last
    /// chunk's plaintext to `out`. Until this succeeds, the plaintext released so far must
    /// be treated as unverified. It takes `&mut self` (the opener is spent after it) so the
    /// opener is never moved out of a heap slot.
    pub fn finish(&mut self, out: &mut Vec<u8>) -> Result<()> {
        let result = self.guarded(out, |me, out| {
            let complete = me.received == me.blob_size
                && me.index + 1 == me.chunks
                && me.pending.len() == me.sealed_len();
            let digest_ok = match me.hasher.take() {
                Some(h) => bool::from(finish_hash(h).ct_eq(&me.digest)),
                None => true,
            };
            if !complete || !digest_ok {
                return Err(corrupt());
            }
            let sealed = core::mem::take(&mut me.pending);
            let key = me.key.clone();
            with_cipher(&key, |cipher| me.open_next(cipher, &sealed, out))
        });
        self.failed = true;
        result
    }

    /// Runs `step`; on failure wipes what it added to `out` and refuses all later calls.
    fn guarded(
        &mut self,
        out: &mut Vec<u8>,
        step: impl FnOnce(&mut Self, &mut Vec<u8>) -> Result<()>,
    ) -> Result<()> {
        if self.failed {
            return Err(corrupt());
        }
        let start = out.len();
        let result = step(self, out);
        if result.is_err() {
            self.failed = true;
            zeroize::Zeroize::zeroize(out.get_mut(start..).unwrap_or_default());
            out.truncate(start);
        }
        result
    }

    fn sealed_len(&self) -> usize {
        chunk_len(self.size, self.index) + TAG_SIZE
    }

    fn push_inner(&mut self, part: &[u8], out: &mut Vec<u8>) -> Result<()> {
        self.received = self.received.saturating_add(part.len() as u64);
        if self.received > self.blob_size {
            return Err(corrupt());
        }
        if let Some(h) = self.hasher.as_mut() {
            h.update(part);
        }
        let key = self.key.clone();
        with_cipher(&key, |cipher| self.open_chunks(cipher, part, out))
    }

    fn open_chunks(&mut self, cipher: &LessSafeKey, mut part: &[u8], out: &mut Vec<u8>) -> Result<()> {
        // Whole chunks straight from `part`; a chunk split across pushes through `pending`.
        // The last chunk waits in `pending` for `finish`.
        while self.index + 1 < self.chunks && !part.is_empty() {
            let need = self.sealed_len();
            if self.pending.is_empty() && part.len() >= need {
                let (sealed, tail) = part.split_at(need);
                self.open_next(cipher, sealed, out)?;
                part = tail;
                continue;
            }
            let take = part.len().min(need - self.pending.len());
            let (head, tail) = part.split_at(take);
            self.pending.extend_from_slice(head);
            part = tail;
            if self.pending.len() == need {
                let sealed = core::mem::take(&mut self.pending);
                let opened = self.open_next(cipher, &sealed, out);
                self.pending = sealed;
                self.pending.clear();
                opened?;
            }
        }
        self.pending.extend_from_slice(part);
        Ok(())
    }

    fn open_next(&mut self, cipher: &LessSafeKey, sealed: &[u8], out: &mut Vec<u8>) -> Result<()> {
        let start = out.len();
        out.resize(start + sealed.len().saturating_sub(TAG_SIZE), 0);
        let dst = out.get_mut(start..).ok_or_else(corrupt)?;
        open_chunk(cipher, self.index, self.index + 1 == self.chunks, sealed, dst)?;
        self.index += 1;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use rand_core::OsRng;

    use super::Opener;
    use crate::attachment::seal;

    fn open_checked(blob: &[u8], keys: &crate::attachment::AttachmentKeys) -> crate::Result<Vec<u8>> {
        let mut opener = Opener::digest_checked(&keys.key, &keys.digest, keys.size).unwrap();
        let mut out = Vec::new();
        opener.push(blob, &mut out)?;
        opener.finish(&mut out)?;
        Ok(out)
    }

    // The file path skips the second hash; the chunks must still be authenticated on their own.
    #[test]
    fn an_opener_after_the_digest_check_still_refuses_a_changed_blob() {
        let plaintext: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
        let (blob, keys) = seal(&plaintext, &mut OsRng).unwrap();
        assert_eq!(open_checked(&blob, &keys).unwrap(), plaintext);
        for at in [0, 70_000, blob.len() - 1] {
            let mut bad = blob.clone();
            bad[at] ^= 1;
            assert!(open_checked(&bad, &keys).is_err(), "flip at {at}");
        }
        assert!(open_checked(&blob[..blob.len() - 1], &keys).is_err());
        let mut longer = blob.clone();
        longer.push(0);
        assert!(open_checked(&longer, &keys).is_err());
    }
}

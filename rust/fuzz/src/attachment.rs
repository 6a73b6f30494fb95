//! Fuzz target `open_attachment`: opening a tampered or arbitrary blob through every opening
//! path (whole blob, streamed in input-chosen pieces, hashed as it arrives and then opened
//! without hashing) never panics, refuses everything but the genuine blob with
//! `attachment_corrupt`, and the paths agree. A blob changed after the genuine one passed the
//! digest check (what a download's file could suffer between writing and opening) is
//! refused too, though that opening pass does not hash.

use std::sync::OnceLock;

use sha2::{Digest, Sha256};
use wac1::attachment::{
    self, blob_size, AttachmentKeys, BlobHasher, Opener, VerifiedBlob, CHUNK_SIZE, TAG_SIZE,
};
use wac1::Error;

use super::DetRng;

/// A sealed attachment of two full chunks and a short third one, from a fixed seed.
pub struct AttachmentFixture {
    /// The plaintext.
    pub plain: Vec<u8>,
    /// Its genuine blob.
    pub blob: Vec<u8>,
    /// Key, digest and size.
    pub keys: AttachmentKeys,
}

/// The fixture, built once.
pub fn attachment_fixture() -> &'static AttachmentFixture {
    static FIXTURE: OnceLock<AttachmentFixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let mut rng = DetRng::new(0xa77);
        let mut plain = vec![0u8; 2 * CHUNK_SIZE + 100];
        rand_core::RngCore::fill_bytes(&mut rng, &mut plain);
        let (blob, keys) = attachment::seal(&plain, &mut rng).unwrap();
        AttachmentFixture { plain, blob, keys }
    })
}

/// What one input did.
#[derive(Debug, PartialEq, Eq)]
pub enum AttachmentOutcome {
    /// The blob was the genuine one and opened to the plaintext on every path.
    Opened,
    /// Every path refused it with `attachment_corrupt`.
    Refused,
}

/// Fuzz target `open_attachment`. The first byte picks the kind of input:
/// - even: edits of the fixture's blob, as 4-byte operations `(op, a, b, c)`: op % 4 = 0 XORs
///   `c` into the byte at `(a, b)` scaled over the blob, 1 truncates there, 2 swaps two whole
///   chunks `a % 3` and `b % 3`, 3 appends `c`;
/// - odd: the rest of the input is the blob itself, opened as an attachment of the size its
///   length implies (or, when none fits, of the fixture's size).
///
/// Each blob is opened against its own digest (so the chunk AEAD decides) and against the
/// fixture's digest.
pub fn open_attachment_input(data: &[u8]) -> AttachmentOutcome {
    let fx = attachment_fixture();
    let (blob, size) = match data.first() {
        Some(mode) if mode % 2 == 1 => {
            let raw = data.get(1..).unwrap_or_default().to_vec();
            let size = size_for(raw.len() as u64).unwrap_or(fx.keys.size);
            (raw, size)
        }
        _ => (edited(&fx.blob, data.get(1..).unwrap_or_default()), fx.keys.size),
    };
    let own: [u8; 32] = Sha256::digest(&blob).into();
    let genuine = blob == fx.blob && size == fx.keys.size;
    let pieces = data.get(1..).unwrap_or_default();
    for digest in [own, fx.keys.digest] {
        let outcomes = [
            whole(&blob, &fx.keys.key, &digest, size),
            streamed(&blob, &fx.keys.key, &digest, size, pieces),
            hashed_then_opened(&blob, &fx.keys.key, &digest, size, pieces),
        ];
        for got in outcomes {
            match got {
                Ok(plain) => {
                    assert!(genuine && digest == fx.keys.digest, "a tampered blob opened");
                    assert!(plain == fx.plain, "the genuine blob opened to something else");
                }
                Err(e) => {
                    assert_eq!(e, Error::AttachmentCorrupt);
                    assert!(!genuine, "the genuine blob was refused");
                }
            }
        }
    }
    // The genuine blob passed the check; then `blob` is what the opening pass reads.
    let mut hasher = BlobHasher::new();
    hasher.update(&fx.blob);
    let verified = hasher.verify(&fx.keys.digest, fx.keys.size).unwrap();
    match open_verified(&blob, &fx.keys.key, &verified, pieces) {
        Ok(plain) => assert!(blob == fx.blob && plain == fx.plain, "a blob changed after the check opened"),
        Err(e) => {
            assert_eq!(e, Error::AttachmentCorrupt);
            assert!(blob != fx.blob, "the genuine blob was refused after the check");
        }
    }
    if genuine {
        AttachmentOutcome::Opened
    } else {
        AttachmentOutcome::Refused
    }
}

/// The plaintext size whose blob is `len` bytes, if one exists.
fn size_for(len: u64) -> Option<u64> {
    let chunks = len.div_ceil(CHUNK_SIZE as u64 + TAG_SIZE as u64).max(1);
    let size = len.checked_sub(TAG_SIZE as u64 * chunks)?;
    (blob_size(size) == Some(len)).then_some(size)
}

fn edited(genuine: &[u8], ops: &[u8]) -> Vec<u8> {
    let mut blob = genuine.to_vec();
    let sealed = CHUNK_SIZE + TAG_SIZE;
    for op in ops.chunks_exact(4) {
        let at = |len: usize| (usize::from(op[1]) << 8 | usize::from(op[2])) * len / 65_536;
        match op[0] % 4 {
            0 if !blob.is_empty() => {
                let i = at(blob.len());
                blob[i] ^= op[3];
            }
            1 => blob.truncate(at(blob.len() + 1)),
            2 => {
                let (x, y) = (usize::from(op[1] % 3), usize::from(op[2] % 3));
                let chunks: Vec<Vec<u8>> = blob.chunks(sealed).map(<[u8]>::to_vec).collect();
                if x < chunks.len() && y < chunks.len() && chunks[x].len() == chunks[y].len() {
                    let mut c = chunks;
                    c.swap(x, y);
                    blob = c.concat();
                }
            }
            _ => blob.push(op[3]),
        }
    }
    blob
}

fn whole(blob: &[u8], key: &[u8; 32], digest: &[u8; 32], size: u64) -> Result<Vec<u8>, Error> {
    attachment::open(blob, key, digest, size)
}

/// Streams `blob` through an [`Opener`] in pieces whose sizes come from `shape`.
fn streamed(
    blob: &[u8],
    key: &[u8; 32],
    digest: &[u8; 32],
    size: u64,
    shape: &[u8],
) -> Result<Vec<u8>, Error> {
    let mut opener = Opener::new(key, digest, size)?;
    let mut out = Vec::new();
    for part in pieces(blob, shape) {
        opener.push(part, &mut out)?;
    }
    opener.finish(&mut out)?;
    Ok(out)
}

/// Hashes `blob` in input-chosen pieces as a download does, checks it, then opens it
/// without hashing.
fn hashed_then_opened(
    blob: &[u8],
    key: &[u8; 32],
    digest: &[u8; 32],
    size: u64,
    shape: &[u8],
) -> Result<Vec<u8>, Error> {
    let mut hasher = BlobHasher::new();
    for part in pieces(blob, shape) {
        hasher.update(part);
    }
    let verified = hasher.verify(digest, size)?;
    open_verified(blob, key, &verified, shape)
}

fn open_verified(
    blob: &[u8],
    key: &[u8; 32],
    verified: &VerifiedBlob,
    shape: &[u8],
) -> Result<Vec<u8>, Error> {
    let mut opener = Opener::verified(key, verified)?;
    let mut out = Vec::new();
    for part in pieces(blob, shape) {
        opener.push(part, &mut out)?;
    }
    opener.finish(&mut out)?;
    Ok(out)
}

/// `blob` cut in pieces whose sizes come from `shape`.
fn pieces<'a>(blob: &'a [u8], shape: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
    let mut sizes = shape.iter().cycle();
    let mut rest = blob;
    core::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let n = sizes.next().map_or(rest.len(), |b| 1 + usize::from(*b) * 997).min(rest.len());
        let (part, tail) = rest.split_at(n);
        rest = tail;
        Some(part)
    })
}

/// Seeds for `corpus/open_attachment`.
pub fn attachment_seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let t = "open_attachment";
    vec![
        (t, "valid-unchanged".into(), vec![0]),
        (t, "flip-first-chunk".into(), vec![0, 0, 0x10, 0x00, 0x01]),
        (t, "flip-last-tag".into(), vec![0, 0, 0xff, 0xff, 0x80]),
        (t, "truncate-middle".into(), vec![0, 1, 0x80, 0x00, 0]),
        (t, "truncate-last-chunk".into(), vec![0, 1, 0xff, 0x00, 0]),
        (t, "swap-chunks".into(), vec![0, 2, 0, 1, 0]),
        (t, "append-byte".into(), vec![0, 3, 0, 0, 0x41]),
        (t, "raw-empty-chunk".into(), [&[1u8][..], &[0u8; 16]].concat()),
        (t, "raw-short".into(), b"\x01not an attachment".to_vec()),
    ]
}

//! Properties of §8 attachments: round trips at sizes around the chunk boundaries, and any
//! single-bit flip, truncation, extension or chunk swap refused with `attachment_corrupt`,
//! through every API (whole blob, stream, file to file) with nothing released or written.

use proptest::prelude::*;
use rand_core::OsRng;
use wac1::attachment::{self, blob_size, open_file, seal_file, FileError, Opener, Sealer, CHUNK_SIZE};
use wac1::Error;

use super::harness::DetRng;

const C: u64 = CHUNK_SIZE as u64;

fn data(size: usize, seed: u64) -> Vec<u8> {
    let mut rng = DetRng::new(seed);
    let mut v = vec![0u8; size];
    rand_core::RngCore::fill_bytes(&mut rng, &mut v);
    v
}

/// Sizes near 0 and near 1, 2 and 3 chunks.
fn boundary_size() -> impl Strategy<Value = usize> {
    (0u64..4, -3i64..=3).prop_map(|(n, d)| (n * C).saturating_add_signed(d) as usize)
}

fn refused(blob: &[u8], keys: &attachment::AttachmentKeys, digest: &[u8; 32]) {
    assert_eq!(attachment::open(blob, &keys.key, digest, keys.size).unwrap_err(), Error::AttachmentCorrupt);
    let mut opener = Opener::new(&keys.key, digest, keys.size).unwrap();
    let mut out = Vec::new();
    let r = opener.push(blob, &mut out).and_then(|()| opener.finish(&mut out));
    assert_eq!(r.unwrap_err(), Error::AttachmentCorrupt);
}

/// The digest of a tampered blob, so the check that fails is the chunks' own.
fn digest_of(blob: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(blob).into()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn round_trip_at_chunk_boundaries(size in boundary_size(), seed in any::<u64>(), piece in 1usize..200_000) {
        let plain = data(size, seed);
        let (blob, keys) = attachment::seal(&plain, &mut OsRng).unwrap();
        prop_assert_eq!(Some(blob.len() as u64), blob_size(size as u64));
        prop_assert_eq!(attachment::open(&blob, &keys.key, &keys.digest, keys.size).unwrap(), plain.clone());
        // Streamed in arbitrary pieces both ways.
        let mut sealer = Sealer::new(&mut OsRng);
        let mut sblob = Vec::new();
        for part in plain.chunks(piece) {
            sealer.push(part, &mut sblob).unwrap();
        }
        let skeys = sealer.finish(&mut sblob).unwrap();
        let mut opener = Opener::new(&skeys.key, &skeys.digest, skeys.size).unwrap();
        let mut out = Vec::new();
        for part in sblob.chunks(piece) {
            opener.push(part, &mut out).unwrap();
        }
        opener.finish(&mut out).unwrap();
        prop_assert_eq!(out, plain);
    }

    #[test]
    fn any_bit_flip_is_refused(size in boundary_size(), seed in any::<u64>(), at in any::<prop::sample::Index>(), bit in 0u8..8) {
        let (mut blob, keys) = attachment::seal(&data(size, seed), &mut OsRng).unwrap();
        let i = at.index(blob.len());
        blob[i] ^= 1 << bit;
        // Against the original digest (the first check) and the tampered blob's own (the AEAD).
        refused(&blob, &keys, &keys.digest);
        refused(&blob, &keys, &digest_of(&blob));
    }

    #[test]
    fn any_truncation_or_extension_is_refused(size in boundary_size(), seed in any::<u64>(), cut in any::<prop::sample::Index>(), extra in 1usize..100) {
        let (blob, keys) = attachment::seal(&data(size, seed), &mut OsRng).unwrap();
        let short = &blob[..cut.index(blob.len())];
        refused(short, &keys, &digest_of(short));
        let mut long = blob.clone();
        long.extend(std::iter::repeat_n(0u8, extra));
        refused(&long, &keys, &digest_of(&long));
    }
}

#[test]
fn swapped_or_dropped_chunks_are_refused() {
    let size = 3 * CHUNK_SIZE + 100;
    let (blob, keys) = attachment::seal(&data(size, 1), &mut OsRng).unwrap();
    let s = CHUNK_SIZE + 16;
    let chunks: Vec<&[u8]> = blob.chunks(s).collect();
    let swapped = [chunks[1], chunks[0], chunks[2], chunks[3]].concat();
    refused(&swapped, &keys, &digest_of(&swapped));
    // Whole chunks dropped from the end, with the size made to match: the final flag fails.
    for n in 1..4 {
        let short = chunks[..n].concat();
        let k = attachment::AttachmentKeys { size: n as u64 * C, ..keys.clone() };
        refused(&short, &k, &digest_of(&short));
    }
}

#[test]
fn the_streaming_opener_refuses_everything_after_a_failure() {
    let (mut blob, keys) = attachment::seal(&data(2 * CHUNK_SIZE + 5, 2), &mut OsRng).unwrap();
    blob[10] ^= 1;
    let mut opener = Opener::new(&keys.key, &keys.digest, keys.size).unwrap();
    let mut out = Vec::new();
    assert_eq!(opener.push(&blob, &mut out).unwrap_err(), Error::AttachmentCorrupt);
    assert!(out.is_empty(), "plaintext released from a chunk that failed");
    assert_eq!(opener.push(&[], &mut out).unwrap_err(), Error::AttachmentCorrupt);
    assert_eq!(opener.finish(&mut out).unwrap_err(), Error::AttachmentCorrupt);
}

#[test]
fn sizes_beyond_the_format_are_refused() {
    assert_eq!(blob_size(attachment::MAX_SIZE + 1), None);
    assert_eq!(blob_size(u64::MAX), None);
    assert_eq!(Opener::new(&[1; 32], &[2; 32], u64::MAX).unwrap_err(), Error::AttachmentCorrupt);
    // A huge claimed size never allocates: the blob's length refuses it first.
    assert_eq!(
        attachment::open(&[0; 16], &[1; 32], &[2; 32], 1 << 40).unwrap_err(),
        Error::AttachmentCorrupt
    );
}

#[test]
fn keys_are_redacted_in_debug() {
    let (_, keys) = attachment::seal(b"x", &mut DetRng::new(9)).unwrap();
    let text = format!("{keys:?}");
    assert!(text.contains("<redacted>"));
    assert!(!text.contains(&format!("{:?}", *keys.key)));
    assert!(!format!("{:?}", Sealer::new(&mut OsRng)).contains('['));
}

fn files_in(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn file_to_file_round_trip_and_refusals_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (src, blob_path, out) = (dir.path().join("in"), dir.path().join("blob"), dir.path().join("out"));
    for size in [0, 1, CHUNK_SIZE, 16 * CHUNK_SIZE, 16 * CHUNK_SIZE + 1, 40 * CHUNK_SIZE + 3] {
        let plain = data(size, size as u64);
        std::fs::write(&src, &plain).unwrap();
        let keys = seal_file(&src, &blob_path, &mut OsRng).unwrap();
        let blob = std::fs::read(&blob_path).unwrap();
        assert_eq!(Some(blob.len() as u64), blob_size(size as u64));
        assert_eq!(attachment::open(&blob, &keys.key, &keys.digest, keys.size).unwrap(), plain);
        open_file(&blob_path, &out, &keys.key, &keys.digest, keys.size).unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), plain);
        std::fs::remove_file(&out).unwrap();

        // Tampered with its own digest (so the AEAD is what refuses), in the last chunk.
        let mut bad = blob.clone();
        let last = bad.len() - 1;
        bad[last] ^= 0x80;
        std::fs::write(&blob_path, &bad).unwrap();
        let err = open_file(&blob_path, &out, &keys.key, &digest_of(&bad), keys.size).unwrap_err();
        assert!(matches!(err, FileError::Attachment(Error::AttachmentCorrupt)), "{err:?}");
        // Wrong digest, wrong size: refused before decrypting.
        std::fs::write(&blob_path, &blob).unwrap();
        let err = open_file(&blob_path, &out, &keys.key, &[0; 32], keys.size).unwrap_err();
        assert!(matches!(err, FileError::Attachment(Error::AttachmentCorrupt)), "{err:?}");
        let err = open_file(&blob_path, &out, &keys.key, &keys.digest, keys.size + 1).unwrap_err();
        assert!(matches!(err, FileError::Attachment(Error::AttachmentCorrupt)), "{err:?}");
        assert_eq!(files_in(dir.path()), ["blob", "in"], "a refused open left a file behind");
    }
    // A missing source is an I/O error, not a corrupt attachment, and writes nothing.
    let err = open_file(&dir.path().join("missing"), &out, &[0; 32], &[0; 32], 0).unwrap_err();
    assert!(matches!(err, FileError::Io(ref e) if e.kind() == std::io::ErrorKind::NotFound), "{err:?}");
    assert_eq!(files_in(dir.path()), ["blob", "in"]);
}

#[test]
fn an_existing_destination_is_left_alone_when_opening_fails() {
    let dir = tempfile::tempdir().unwrap();
    let (src, blob_path, out) = (dir.path().join("in"), dir.path().join("blob"), dir.path().join("out"));
    std::fs::write(&src, data(70_000, 5)).unwrap();
    let keys = seal_file(&src, &blob_path, &mut OsRng).unwrap();
    std::fs::write(&out, b"previous").unwrap();
    let mut blob = std::fs::read(&blob_path).unwrap();
    blob[5] ^= 1;
    std::fs::write(&blob_path, &blob).unwrap();
    assert!(open_file(&blob_path, &out, &keys.key, &digest_of(&blob), keys.size).is_err());
    assert_eq!(std::fs::read(&out).unwrap(), b"previous");
}

#[test]
fn the_streaming_opener_holds_the_last_chunk_until_the_digest_checks() {
    let plain = data(2 * CHUNK_SIZE + 300, 3);
    let (blob, keys) = attachment::seal(&plain, &mut OsRng).unwrap();
    let mut opener = Opener::new(&keys.key, &keys.digest, keys.size).unwrap();
    let mut out = Vec::new();
    opener.push(&blob, &mut out).unwrap();
    assert_eq!(out, plain[..2 * CHUNK_SIZE]);
    opener.finish(&mut out).unwrap();
    assert_eq!(out, plain);
    // A wrong digest: the earlier chunks were released unverified, the last never is.
    let mut opener = Opener::new(&keys.key, &[7; 32], keys.size).unwrap();
    let mut out = Vec::new();
    opener.push(&blob, &mut out).unwrap();
    assert_eq!(opener.finish(&mut out).unwrap_err(), Error::AttachmentCorrupt);
    assert_eq!(out.len(), 2 * CHUNK_SIZE);
    // And a finished opener refuses more.
    assert_eq!(opener.finish(&mut out).unwrap_err(), Error::AttachmentCorrupt);
}

//! A blob written through a `BlobWriter` (hashed as it arrives) and opened without a hashing
//! pass: the round trip, a resumed download, and the refusals that must hold although the
//! opening pass does not hash (a wrong digest or size, a blob changed on disk after it was
//! written, a truncated file), each leaving nothing at the destination.

use std::fs;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use rand_core::OsRng;
use wac1::attachment::{self, AttachmentKeys, BlobHasher, BlobWriter, FileError, Opener, CHUNK_SIZE};
use wac1::Error;

use super::harness::DetRng;

fn data(size: usize, seed: u64) -> Vec<u8> {
    let mut rng = DetRng::new(seed);
    let mut v = vec![0u8; size];
    rand_core::RngCore::fill_bytes(&mut rng, &mut v);
    v
}

fn sealed(size: usize) -> (Vec<u8>, Vec<u8>, AttachmentKeys) {
    let plain = data(size, size as u64);
    let (blob, keys) = attachment::seal(&plain, &mut OsRng).unwrap();
    (plain, blob, keys)
}

/// The blob written to `part` in pieces of `piece` bytes.
fn written(part: &Path, blob: &[u8], piece: usize) -> BlobWriter {
    let mut w = BlobWriter::append(part).unwrap();
    for p in blob.chunks(piece.max(1)) {
        w.write(p).unwrap();
    }
    assert_eq!(w.len(), blob.len() as u64);
    w
}

fn is_corrupt(r: Result<(), FileError>) -> bool {
    matches!(r, Err(FileError::Attachment(Error::AttachmentCorrupt)))
}

/// Every file in `dir`: nothing but the expected ones may be left (no temporary file).
fn names(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    v.sort();
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    #[test]
    fn round_trip_in_any_pieces(n in 0usize..4, d in -3i64..=3, piece in 1usize..200_000) {
        let size = (n * CHUNK_SIZE).saturating_add_signed(d as isize);
        let (plain, blob, keys) = sealed(size);
        let dir = tempfile::tempdir().unwrap();
        let (part, dst) = (dir.path().join("x.part"), dir.path().join("out"));
        let mut w = written(&part, &blob, piece);
        w.open_file(&dst, &keys.key, &keys.digest, keys.size).unwrap();
        prop_assert_eq!(fs::read(&dst).unwrap(), plain);
        // Same file system: the part was moved beside the output and became it.
        prop_assert_eq!(names(dir.path()), vec![dst]);
    }
}

#[test]
fn a_resumed_writer_hashes_what_the_file_holds() {
    let (plain, blob, keys) = sealed(3 * CHUNK_SIZE + 5);
    let dir = tempfile::tempdir().unwrap();
    let (part, dst) = (dir.path().join("x.part"), dir.path().join("out"));
    drop(written(&part, &blob[..100_000], 4096)); // interrupted
    let mut w = BlobWriter::append(&part).unwrap();
    assert_eq!(w.len(), 100_000);
    w.write(&blob[100_000..]).unwrap();
    w.open_file(&dst, &keys.key, &keys.digest, keys.size).unwrap();
    assert_eq!(fs::read(&dst).unwrap(), plain);
}

#[test]
fn truncate_starts_over() {
    let (plain, blob, keys) = sealed(CHUNK_SIZE + 1);
    let dir = tempfile::tempdir().unwrap();
    let (part, dst) = (dir.path().join("x.part"), dir.path().join("out"));
    let mut w = written(&part, b"not a prefix of the blob", 7);
    w.truncate().unwrap();
    assert_eq!(w.len(), 0);
    w.write(&blob).unwrap();
    w.open_file(&dst, &keys.key, &keys.digest, keys.size).unwrap();
    assert_eq!(fs::read(&dst).unwrap(), plain);
}

#[test]
fn a_wrong_digest_or_size_is_refused_before_anything_is_decrypted() {
    let (_, blob, keys) = sealed(2 * CHUNK_SIZE + 7);
    let dir = tempfile::tempdir().unwrap();
    let (part, dst) = (dir.path().join("x.part"), dir.path().join("out"));
    let mut digest = keys.digest;
    digest[31] ^= 1;
    assert!(is_corrupt(written(&part, &blob, 65_552).open_file(&dst, &keys.key, &digest, keys.size)));
    fs::remove_file(&part).unwrap();
    assert!(is_corrupt(written(&part, &blob, 65_552).open_file(
        &dst,
        &keys.key,
        &keys.digest,
        keys.size + 1
    )));
    fs::remove_file(&part).unwrap();
    // One byte short or one byte more than the message says.
    assert!(is_corrupt(written(&part, &blob[1..], 9999).open_file(&dst, &keys.key, &keys.digest, keys.size)));
    fs::remove_file(&part).unwrap();
    let longer = [&blob[..], b"x"].concat();
    assert!(is_corrupt(written(&part, &longer, 9999).open_file(&dst, &keys.key, &keys.digest, keys.size)));
    // Refused by the digest check: the part is left as it was (the caller deletes it).
    assert_eq!(names(dir.path()), vec![part.clone()]);
    assert_eq!(fs::read(&part).unwrap(), longer);
}

#[test]
fn a_blob_changed_on_disk_after_it_was_hashed_is_refused_and_nothing_is_written() {
    let (_, blob, keys) = sealed(3 * CHUNK_SIZE + 100);
    for at in [0, 70_000, blob.len() - 1] {
        let dir = tempfile::tempdir().unwrap();
        let (part, dst) = (dir.path().join("x.part"), dir.path().join("out"));
        let mut w = written(&part, &blob, 1 << 20);
        let mut changed = blob.clone();
        changed[at] ^= 0x40;
        fs::write(&part, &changed).unwrap(); // same length, so only the chunk tags can tell
        assert!(is_corrupt(w.open_file(&dst, &keys.key, &keys.digest, keys.size)), "flip at {at}");
        assert!(names(dir.path()).is_empty(), "flip at {at}: {:?}", names(dir.path()));
    }
}

#[test]
fn a_blob_cut_on_disk_after_it_was_hashed_is_refused() {
    let (_, blob, keys) = sealed(2 * CHUNK_SIZE);
    let dir = tempfile::tempdir().unwrap();
    let (part, dst) = (dir.path().join("x.part"), dir.path().join("out"));
    let mut w = written(&part, &blob, 1 << 20);
    fs::write(&part, &blob[..blob.len() - 16]).unwrap();
    assert!(is_corrupt(w.open_file(&dst, &keys.key, &keys.digest, keys.size)));
    assert!(!dst.exists());
}

#[test]
fn when_the_part_cannot_be_moved_a_copy_is_opened() {
    let (plain, blob, keys) = sealed(CHUNK_SIZE + 3);
    let dir = tempfile::tempdir().unwrap();
    let (part, dst) = (dir.path().join("x.part"), dir.path().join("out"));
    let mut w = written(&part, &blob, 1000);
    fs::remove_file(&part).unwrap(); // the rename fails; the open file still holds the blob
    w.open_file(&dst, &keys.key, &keys.digest, keys.size).unwrap();
    assert_eq!(fs::read(&dst).unwrap(), plain);
    assert_eq!(names(dir.path()), vec![dst]);
}

#[test]
fn a_spent_writer_refuses_further_use() {
    let (_, blob, keys) = sealed(10);
    let dir = tempfile::tempdir().unwrap();
    let (part, dst) = (dir.path().join("x.part"), dir.path().join("out"));
    let mut w = written(&part, &blob, 3);
    w.open_file(&dst, &keys.key, &keys.digest, keys.size).unwrap();
    assert!(matches!(w.open_file(&dst, &keys.key, &keys.digest, keys.size), Err(FileError::Io(_))));
    assert!(w.write(b"more").is_err());
}

#[test]
fn the_hasher_checks_length_and_digest_and_its_opener_still_checks_every_chunk() {
    let (plain, blob, keys) = sealed(2 * CHUNK_SIZE + 1);
    let mut h = BlobHasher::new();
    for p in blob.chunks(777) {
        h.update(p);
    }
    let mut wrong = keys.digest;
    wrong[0] ^= 1;
    assert_eq!(h.verify(&wrong, keys.size).unwrap_err(), Error::AttachmentCorrupt);
    assert_eq!(h.verify(&keys.digest, keys.size - 1).unwrap_err(), Error::AttachmentCorrupt);
    let verified = h.verify(&keys.digest, keys.size).unwrap();
    let open = |b: &[u8]| {
        let mut o = Opener::verified(&keys.key, &verified).unwrap();
        let mut out = Vec::new();
        o.push(b, &mut out).and_then(|()| o.finish(&mut out)).map(|()| out)
    };
    assert_eq!(open(&blob).unwrap(), plain);
    let mut changed = blob.clone();
    changed[65_552 + 3] ^= 1;
    assert_eq!(open(&changed).unwrap_err(), Error::AttachmentCorrupt);
    assert_eq!(open(&blob[..blob.len() - 1]).unwrap_err(), Error::AttachmentCorrupt);
}

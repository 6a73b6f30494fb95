//! Replays the fuzz seed corpus (and anything the fuzzer found and was committed) through the
//! very functions the fuzz targets run, so a regression shows up in `cargo test`.
//!
//! `WAC1_WRITE_CORPUS=1 cargo test -p wac1 --test suite fuzz_corpus::` rewrites the seed files from
//! the fixture first (after a change to the fixture or the serialization format).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::harness;

use std::path::{Path, PathBuf};

use harness::Outcome;

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus").join(target)
}

fn files(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = corpus_dir(target);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            (path.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&path).unwrap())
        })
        .collect();
    out.sort();
    out
}

fn write_seeds_if_asked() {
    if std::env::var_os("WAC1_WRITE_CORPUS").is_none() {
        return;
    }
    for (target, name, bytes) in harness::seed_corpus() {
        let dir = corpus_dir(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

#[test]
fn decrypt_corpus_replays() {
    write_seeds_if_asked();
    let corpus = files("decrypt");
    assert!(corpus.len() >= 20, "the decrypt corpus is missing ({} files)", corpus.len());
    let (mut decrypted, mut refused, mut unparsed) = (0, 0, 0);
    for (name, data) in &corpus {
        let outcome = harness::decrypt_input(data);
        // The seeds named for what they are must still do it: the fixture and the files agree.
        if name.starts_with("valid-") {
            assert!(matches!(outcome, Outcome::Decrypted(_)), "{name}: {outcome:?}");
        }
        if name.starts_with("replay-") {
            assert!(matches!(outcome, Outcome::Refused(_)), "{name}: {outcome:?}");
        }
        if name.starts_with("regression-ek-") {
            assert!(matches!(outcome, Outcome::Refused(wac1::Error::InvalidKey(_))), "{name}: {outcome:?}");
        }
        if name.starts_with("edge-unknown-") {
            assert!(
                matches!(outcome, Outcome::Refused(wac1::Error::UnknownPreKey { .. })),
                "{name}: {outcome:?}"
            );
        }
        match outcome {
            Outcome::Decrypted(_) => decrypted += 1,
            Outcome::Refused(_) => refused += 1,
            Outcome::Unparsed => unparsed += 1,
        }
    }
    assert!(decrypted > 0 && refused > 0 && unparsed > 0, "{decrypted} {refused} {unparsed}");
}

#[test]
fn from_bytes_corpus_replays() {
    write_seeds_if_asked();
    let corpus = files("from_bytes");
    assert!(corpus.len() >= 10, "the from_bytes corpus is missing ({} files)", corpus.len());
    for (name, data) in &corpus {
        let accepted = harness::from_bytes_input(data);
        if name.starts_with("truncated-") || name.starts_with("badversion-") {
            assert_eq!(accepted, 0, "{name}");
        }
        if ["account-", "record-", "identity", "signed-prekey", "one-time-prekey"]
            .iter()
            .any(|p| name.starts_with(p))
        {
            assert_eq!(accepted, 1, "{name}");
        }
    }
}

#[test]
fn open_attachment_corpus_replays() {
    use harness::attachment::{open_attachment_input, AttachmentOutcome};
    write_seeds_if_asked();
    let corpus = files("open_attachment");
    assert!(corpus.len() >= 8, "the open_attachment corpus is missing ({} files)", corpus.len());
    for (name, data) in &corpus {
        let outcome = open_attachment_input(data);
        let expected =
            if name.starts_with("valid-") { AttachmentOutcome::Opened } else { AttachmentOutcome::Refused };
        assert_eq!(outcome, expected, "{name}");
    }
}

#[test]
fn open_vault_corpus_replays() {
    use harness::vault::{open_vault_input, VaultOutcome};
    write_seeds_if_asked();
    let corpus = files("open_vault");
    assert!(corpus.len() >= 8, "the open_vault corpus is missing ({} files)", corpus.len());
    for (name, data) in &corpus {
        let expected = if name.starts_with("valid-") { VaultOutcome::Opened } else { VaultOutcome::Refused };
        assert_eq!(open_vault_input(data), expected, "{name}");
    }
}

#[test]
fn seed_corpus_matches_the_fixture() {
    // Every seed the harness would write is in the committed corpus, byte for byte, so the
    // corpus cannot silently drift from the fixture.
    write_seeds_if_asked();
    for (target, name, bytes) in harness::seed_corpus() {
        let path = corpus_dir(target).join(&name);
        let on_disk = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(
            on_disk, bytes,
            "{target}/{name} differs from the fixture (WAC1_WRITE_CORPUS=1 rewrites it)"
        );
    }
}

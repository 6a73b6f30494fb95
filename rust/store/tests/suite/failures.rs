//! The store's failures end to end: a wrong password changes nothing, a second open is
//! locked out, files readable by others are refused, and truncated or damaged files are
//! reported as corrupt, never reset and never a panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::Path;

use super::store::{account_dir, new_store, opts, pair};
use wac1_store::{Store, StoreError, StoreOptions};

#[test]
fn wrong_password_changes_nothing_and_change_password_rewraps() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = account_dir(&tmp, "me");
    drop(new_store(&dir));
    let snapshot = |d: &Path| -> Vec<(String, Vec<u8>)> {
        let mut v: Vec<_> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap())
            })
            .collect();
        v.sort();
        v
    };
    let before = snapshot(&dir);
    assert!(matches!(Store::open(&dir, "wrong", opts()), Err(StoreError::Auth(_))));
    assert!(before == snapshot(&dir), "a wrong password changed the files");

    let mut s = Store::open(&dir, "pw-1", opts()).unwrap();
    assert!(matches!(s.change_password("nope", "pw-2"), Err(StoreError::Auth(_))));
    s.change_password("pw-1", "pw-2").unwrap();
    let ik = s.keys_identity().unwrap();
    drop(s);
    assert!(matches!(Store::open(&dir, "pw-1", opts()), Err(StoreError::Auth(_))));
    assert_eq!(Store::open(&dir, "pw-2", opts()).unwrap().keys_identity().unwrap(), ik);
}

#[test]
fn a_second_open_is_locked_out() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = account_dir(&tmp, "me");
    let s = new_store(&dir);
    assert!(matches!(Store::open(&dir, "pw-1", opts()), Err(StoreError::Locked(_))));
    drop(s);
    Store::open(&dir, "pw-1", opts()).unwrap();
}

#[cfg(unix)]
#[test]
fn stores_readable_by_others_are_refused() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = account_dir(&tmp, "me");
    drop(new_store(&dir));
    assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
    for f in ["keys.db", "messages.db"] {
        assert_eq!(std::fs::metadata(dir.join(f)).unwrap().permissions().mode() & 0o777, 0o600, "{f}");
    }
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    match Store::open(&dir, "pw-1", opts()) {
        Err(StoreError::Permissions(m)) => assert!(m.contains("chmod 700"), "{m}"),
        other => panic!("{other:?}"),
    }
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::set_permissions(dir.join("keys.db"), std::fs::Permissions::from_mode(0o644)).unwrap();
    match Store::open(&dir, "pw-1", opts()) {
        Err(StoreError::Permissions(m)) => assert!(m.contains("chmod 600"), "{m}"),
        other => panic!("{other:?}"),
    }
}

fn corrupt_open(dir: &Path) -> StoreError {
    match Store::open(dir, "pw-1", StoreOptions { create: true, ..opts() }) {
        Err(e) => e,
        Ok(s) => {
            // Opening may succeed when the damage is in a record; reading it must then fail.
            let r = s.account().map(|_| ()).ok_or(StoreError::Corrupt("no account".into()));
            match r {
                Err(e) => e,
                Ok(()) => panic!("damaged store opened cleanly"),
            }
        }
    }
}

#[test]
fn truncated_or_damaged_files_are_reported_not_reset() {
    for damage in 0..5 {
        let tmp = tempfile::tempdir().unwrap();
        let dir = account_dir(&tmp, "me");
        {
            let mut s = new_store(&dir);
            s.generate_one_time_prekeys(50).unwrap();
            for i in 0..200 {
                s.kv_set(&format!("k{i}"), &[7u8; 300]).unwrap();
            }
        }
        let path = dir.join("keys.db");
        let mut bytes = std::fs::read(&path).unwrap();
        let _ = std::fs::remove_file(dir.join("keys.db-wal"));
        let _ = std::fs::remove_file(dir.join("keys.db-shm"));
        match damage {
            0 => bytes.clear(),
            1 => bytes.truncate(bytes.len() / 2),
            2 => bytes.truncate(50),
            3 => {
                for b in bytes.iter_mut().skip(4096).take(4096 * 3) {
                    *b ^= 0x5a;
                }
            }
            _ => {
                for b in bytes.iter_mut().take(100) {
                    *b = 0;
                }
            }
        }
        std::fs::write(&path, &bytes).unwrap();
        let e = corrupt_open(&dir);
        assert!(matches!(e, StoreError::Corrupt(_)), "damage {damage}: {e:?}");
        // Never silently reset: the file is still the damaged one.
        assert!(std::fs::read(&path).unwrap() == bytes, "damage {damage}: the file was changed");
    }
}

#[test]
fn a_damaged_record_is_corrupt_not_a_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut alice, _bob) = pair(&tmp);
    alice.encrypt("bob", b"x", None).unwrap();
    drop(alice);
    let dir = account_dir(&tmp, "alice");
    {
        let c = rusqlite::Connection::open(dir.join("keys.db")).unwrap();
        // Move bob's session under another name: the associated data no longer matches.
        c.execute("UPDATE sessions SET peer = 'mallory' WHERE peer = 'bob'", []).unwrap();
    }
    // Refused when the store opens (the rollback ledger) or, at the latest, on use.
    let r = Store::open(&dir, "pw-1", opts()).and_then(|mut alice| alice.encrypt("mallory", b"x", None));
    assert!(matches!(r, Err(StoreError::Corrupt(_))));
}

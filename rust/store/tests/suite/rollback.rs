//! Issue 10 item 3: rows of the local store cannot be moved, edited or rolled back by
//! someone with write access to the files (tests edit the databases with SQLite directly).

use wac1_store::{Store, StoreError};

use crate::common::*;

fn refused<T: std::fmt::Debug>(r: Result<T, StoreError>) {
    assert!(matches!(r, Err(StoreError::Corrupt(_))), "expected a refusal, got {r:?}");
}

/// Opens the store and runs `f`: the tampering must be refused at open or by `f`.
fn refused_on_use<T: std::fmt::Debug>(
    d: &std::path::Path,
    f: impl FnOnce(&mut Store) -> Result<T, StoreError>,
) {
    refused(Store::open(d, "pw-1", opts()).and_then(|mut s| f(&mut s)));
}

fn history(d: &std::path::Path) {
    let mut s = new_store(d);
    s.save_message(&message("m1", "bob", "bob", 100, "delivered")).unwrap();
    s.save_message(&message("m2", "carol", "carol", 200, "read")).unwrap();
    s.outbox_add("o1", "bob", b"payload", 10).unwrap();
}

#[test]
fn message_columns_cannot_be_moved_or_edited() {
    let tmp = tempfile::tempdir().unwrap();
    for (i, edit) in [
        "UPDATE messages SET peer = 'carol' WHERE id = 'm1'",
        "UPDATE messages SET ts = 5 WHERE id = 'm1'",
        "UPDATE messages SET status = 'read' WHERE id = 'm1'",
        "UPDATE messages SET sender = 'mallory' WHERE id = 'm1'",
        "UPDATE messages SET blob = (SELECT blob FROM messages WHERE id = 'm2') WHERE id = 'm1'",
    ]
    .iter()
    .enumerate()
    {
        let d = dir(&tmp, &format!("me{i}"));
        history(&d);
        sql(&d, "messages.db", edit);
        let s = Store::open(&d, "pw-1", opts()).unwrap();
        let all = [s.messages("bob", 10, None), s.messages("carol", 10, None)];
        assert!(all.iter().any(|r| matches!(r, Err(StoreError::Corrupt(_)))), "{edit}: {all:?}");
    }
    let d = dir(&tmp, "outbox");
    history(&d);
    sql(&d, "messages.db", "UPDATE outbox SET created_at = 1 WHERE id = 'o1'");
    refused(Store::open(&d, "pw-1", opts()).unwrap().outbox());
}

#[test]
fn a_rolled_back_session_row_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let a = dir(&tmp, "alice");
    let mut alice = new_store(&a);
    let mut bob = new_store(&dir(&tmp, "bob"));
    connect(&mut alice, &mut bob, "bob");
    alice.encrypt("bob", b"one", None).unwrap();
    drop(alice);
    let (old_gen, old_blob) = {
        let c = rusqlite::Connection::open(a.join("keys.db")).unwrap();
        c.query_row("SELECT gen, blob FROM sessions WHERE peer = 'bob'", [], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
        })
        .unwrap()
    };
    let mut alice = Store::open(&a, "pw-1", opts()).unwrap();
    alice.encrypt("bob", b"two", None).unwrap();
    drop(alice);
    // Restoring the older row (with its own generation) would reuse message keys.
    let c = rusqlite::Connection::open(a.join("keys.db")).unwrap();
    c.execute(
        "UPDATE sessions SET gen = ?1, blob = ?2 WHERE peer = 'bob'",
        rusqlite::params![old_gen, old_blob],
    )
    .unwrap();
    drop(c);
    refused_on_use(&a, |s| s.encrypt("bob", b"three", None));
}

#[test]
fn a_rolled_back_account_row_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let b = dir(&tmp, "bob");
    let mut alice = new_store(&dir(&tmp, "alice"));
    let mut bob = new_store(&b);
    let opk = bob.generate_one_time_prekeys(1).unwrap()[0].id;
    drop(bob);
    let (old_gen, old_blob): (i64, Vec<u8>) = {
        let c = rusqlite::Connection::open(b.join("keys.db")).unwrap();
        c.query_row("SELECT gen, blob FROM account", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap()
    };
    let mut bob = Store::open(&b, "pw-1", opts()).unwrap();
    let bundle = bob.account().unwrap().bundle(Some(opk)).unwrap();
    alice.start_session("bob", &bundle).unwrap();
    let w = alice.encrypt("bob", b"hi", None).unwrap();
    let count = bob.one_time_prekey_count().unwrap();
    bob.decrypt("alice", &w, Some("m1")).unwrap();
    assert_eq!(bob.one_time_prekey_count().unwrap(), count - 1);
    drop(bob);
    // Restoring the older account row resurrects the used one-time prekey.
    let c = rusqlite::Connection::open(b.join("keys.db")).unwrap();
    c.execute("UPDATE account SET gen = ?1, blob = ?2", rusqlite::params![old_gen, old_blob]).unwrap();
    drop(c);
    refused_on_use(&b, |s| s.one_time_prekey_count());
}

#[test]
fn rows_cannot_be_deleted_added_or_swapped_in_keys_db() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        // Forgetting a peer's identity would hide the next identity change.
        "DELETE FROM peers WHERE peer = 'bob'",
        "DELETE FROM kv WHERE key = 'token'",
        "UPDATE kv SET gen = gen + 1 WHERE key = 'token'",
        "INSERT INTO kv(key, gen, blob) SELECT 'copy', gen, blob FROM kv WHERE key = 'token'",
        "UPDATE sessions SET peer = 'mallory' WHERE peer = 'bob'",
    ];
    for (i, edit) in cases.iter().enumerate() {
        let d = dir(&tmp, &format!("alice{i}"));
        let mut alice = new_store(&d);
        let mut bob = new_store(&dir(&tmp, &format!("bob{i}")));
        connect(&mut alice, &mut bob, "bob");
        alice.kv_set("token", b"secret").unwrap();
        alice.kv_set("other", b"x").unwrap();
        drop(alice);
        sql(&d, "keys.db", edit);
        refused_on_use(&d, |s| s.kv_get("token"));
    }
    // A kv value rolled back to its previous version.
    let d = dir(&tmp, "kv");
    let mut s = new_store(&d);
    s.kv_set("token", b"old").unwrap();
    drop(s);
    let old = blob(&d, "SELECT blob FROM kv WHERE key = 'token'");
    let old_gen = blob_gen(&d);
    let mut s = Store::open(&d, "pw-1", opts()).unwrap();
    s.kv_set("token", b"new").unwrap();
    drop(s);
    let c = rusqlite::Connection::open(d.join("keys.db")).unwrap();
    c.execute("UPDATE kv SET gen = ?1, blob = ?2 WHERE key = 'token'", rusqlite::params![old_gen, old])
        .unwrap();
    drop(c);
    refused_on_use(&d, |s| s.kv_get("token"));
}

fn blob_gen(d: &std::path::Path) -> i64 {
    let c = rusqlite::Connection::open(d.join("keys.db")).unwrap();
    c.query_row("SELECT gen FROM kv WHERE key = 'token'", [], |r| r.get(0)).unwrap()
}

#[test]
fn untouched_stores_still_open_after_many_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let a = dir(&tmp, "alice");
    let mut alice = new_store(&a);
    let mut bob = new_store(&dir(&tmp, "bob"));
    connect(&mut alice, &mut bob, "bob");
    for i in 0..5 {
        let w = alice.encrypt("bob", b"x", Some(&format!("s{i}"))).unwrap();
        bob.decrypt("alice", &w, Some(&format!("s{i}"))).unwrap();
        alice.kv_set(&format!("k{i}"), b"v").unwrap();
    }
    alice.forget_sent(&["s0".into(), "s1".into()]).unwrap();
    alice.kv_delete("k0").unwrap();
    bob.forget_received(&["s3".into()]).unwrap();
    drop(alice);
    drop(bob);
    let mut alice = Store::open(&a, "pw-1", opts()).unwrap();
    assert!(alice.kv_get("k0").unwrap().is_none());
    assert_eq!(alice.kv_get("k4").unwrap().unwrap().as_slice(), b"v");
    alice.encrypt("bob", b"y", None).unwrap();
    let mut bob = Store::open(dir(&tmp, "bob"), "pw-1", opts()).unwrap();
    assert!(!bob.has_received("alice", "s3").unwrap());
    assert!(bob.has_received("alice", "s4").unwrap());
    assert!(bob.has_session("alice").unwrap());
}

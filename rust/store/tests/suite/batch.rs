//! The batch calls: `decrypt_many` (keys.db), `save_messages`, `outbox_add_many` and
//! `outbox_remove_many` (messages.db). Each commits once; a failure commits nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};

use wac1::WireMessage;
use wac1_store::{KdfParams, OutboxItem, Store, StoreError, StoreOptions, StoredMessage};

fn opts() -> StoreOptions {
    StoreOptions {
        kdf: KdfParams { memory_kib: 64, iterations: 1, lanes: 1 },
        insecure_weak_kdf: true,
        ..Default::default()
    }
}

fn new_store(dir: &Path) -> Store {
    let mut s = Store::open(dir, "pw-1", opts()).unwrap();
    s.create_identity().unwrap();
    s.rotate_signed_prekey(1000).unwrap();
    s
}

fn dirs(tmp: &tempfile::TempDir) -> (PathBuf, PathBuf) {
    (tmp.path().join("alice"), tmp.path().join("bob"))
}

fn pair(tmp: &tempfile::TempDir) -> (Store, Store) {
    let (a, b) = dirs(tmp);
    let mut alice = new_store(&a);
    let mut bob = new_store(&b);
    let opk = bob.generate_one_time_prekeys(3).unwrap()[0].id;
    let bundle = bob.account().unwrap().bundle(Some(opk)).unwrap();
    alice.start_session("bob", &bundle).unwrap();
    (alice, bob)
}

fn item(peer: &str, wire: &str, id: &str) -> (String, String, String) {
    (peer.to_owned(), wire.to_owned(), id.to_owned())
}

fn tampered(wire: &str) -> String {
    let mut m = WireMessage::parse(wire).unwrap();
    let last = m.ciphertext.len() - 1;
    m.ciphertext[last] ^= 1;
    m.encode()
}

fn wal(dir: &Path, db: &str) -> Vec<u8> {
    std::fs::read(dir.join(format!("{db}-wal"))).unwrap_or_default()
}

#[test]
fn decrypt_many_gives_each_message_its_result_and_commits_once() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut alice, mut bob) = pair(&tmp);
    let wires = alice
        .encrypt_many(
            "bob",
            &[b"one".as_slice(), b"two", b"three", b"four"],
            Some(&["m1".into(), "m2".into(), "m3".into(), "m4".into()]),
        )
        .unwrap();
    let batch = vec![
        item("alice", &wires[0], "m1"),
        item("alice", &tampered(&wires[1]), "bad"),
        item("alice", "E2EE:{not json", "junk"),
        item("alice", &wires[2], "m3"),
        item("alice", &wires[2], "m3"),
        item("alice", &wires[1], "m2"),
    ];
    let out = bob.decrypt_many(&batch).unwrap();
    assert_eq!(out.len(), 6);
    let ok = |i: usize| out[i].as_ref().unwrap().plaintext.clone();
    assert_eq!(ok(0), b"one");
    assert!(out[0].as_ref().unwrap().new_session);
    assert!(out[1].is_err(), "a tampered wire fails alone");
    assert!(out[2].is_err(), "a malformed wire fails alone");
    assert_eq!(ok(3), b"three");
    assert_eq!(ok(4), b"three", "an id repeated in the batch returns the same result");
    assert_eq!(ok(5), b"two", "a skipped key stored earlier in the batch is used");
    assert_eq!(bob.one_time_prekey_count().unwrap(), 2);
    drop(bob);

    // Everything was committed: after a restart the ids return their stored results, the
    // one-time prekey stays consumed and the ratchet goes on from the committed state.
    let mut bob = Store::open(dirs(&tmp).1, "pw-1", opts()).unwrap();
    assert_eq!(bob.one_time_prekey_count().unwrap(), 2);
    let again = bob.decrypt_many(&[item("alice", &wires[0], "m1"), item("alice", &wires[1], "m2")]).unwrap();
    assert_eq!(again[0].as_ref().unwrap().plaintext, b"one");
    assert_eq!(again[1].as_ref().unwrap().plaintext, b"two");
    let last = bob.decrypt_many(&[item("alice", &wires[3], "m4")]).unwrap();
    assert_eq!(last[0].as_ref().unwrap().plaintext, b"four");
    // Without the stored id, a decrypted message is a replay.
    assert!(bob.decrypt("alice", &wires[0], None).is_err());
    assert!(bob.peer_identity("alice").unwrap().is_some());
}

#[test]
fn decrypt_many_of_several_peers_and_an_identity_seen_once() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut alice, mut bob) = pair(&tmp);
    let mut carol = new_store(&tmp.path().join("carol"));
    let opk = bob.generate_one_time_prekeys(1).unwrap()[0].id;
    carol.start_session("bob", &bob.account().unwrap().bundle(Some(opk)).unwrap()).unwrap();
    let a = alice.encrypt_many("bob", &[b"a1".as_slice(), b"a2"], None).unwrap();
    let c = carol.encrypt_many("bob", &[b"c1".as_slice(), b"c2"], None).unwrap();
    let before = bob.one_time_prekey_count().unwrap();
    let out = bob
        .decrypt_many(&[
            item("alice", &a[0], "a1"),
            item("carol", &c[0], "c1"),
            item("carol", &c[1], "c2"),
            item("alice", &a[1], "a2"),
        ])
        .unwrap();
    let texts: Vec<Vec<u8>> = out.into_iter().map(|r| r.unwrap().plaintext).collect();
    assert_eq!(texts, [b"a1".to_vec(), b"c1".to_vec(), b"c2".to_vec(), b"a2".to_vec()]);
    assert_eq!(bob.one_time_prekey_count().unwrap(), before - 2, "both consumed prekeys are removed");
    assert!(bob.has_session("alice").unwrap() && bob.has_session("carol").unwrap());
    for peer in ["alice", "carol"] {
        assert!(!bob.peer_identity(peer).unwrap().unwrap().verified);
    }
}

#[test]
fn decrypt_many_that_fails_commits_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut alice, mut bob) = pair(&tmp);
    let bob_dir = dirs(&tmp).1;
    let w = alice.encrypt_many("bob", &[b"x".as_slice(), b"y"], None).unwrap();

    // Only failing messages (a bad id, a tampered wire): nothing to write.
    let before = wal(&bob_dir, "keys.db");
    let out = bob.decrypt_many(&[item("alice", &w[1], "")]).unwrap();
    assert!(matches!(out[0], Err(StoreError::InvalidMessageId(_))));
    let out = bob.decrypt_many(&[item("alice", &tampered(&w[0]), "t")]).unwrap();
    assert!(out[0].is_err());
    assert!(before == wal(&bob_dir, "keys.db"), "a failed batch wrote to keys.db");
    assert!(!bob.has_session("alice").unwrap());
    assert_eq!(bob.one_time_prekey_count().unwrap(), 3);

    // A database failure at commit: another connection holds the write lock.
    let blocker = rusqlite::Connection::open(bob_dir.join("keys.db")).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    assert!(bob.decrypt_many(&[item("alice", &w[0], "m1")]).is_err());
    blocker.execute_batch("ROLLBACK").unwrap();
    drop(blocker);
    assert!(!bob.has_session("alice").unwrap(), "the failed batch left no session, in memory or on disk");
    assert_eq!(bob.one_time_prekey_count().unwrap(), 3);
    // The same wires still decrypt: no state advanced by the failed calls.
    let out = bob.decrypt_many(&[item("alice", &w[0], "m1"), item("alice", &w[1], "m2")]).unwrap();
    assert_eq!(out[0].as_ref().unwrap().plaintext, b"x");
    assert_eq!(out[1].as_ref().unwrap().plaintext, b"y");
}

fn msg(i: usize, direction: &str) -> StoredMessage {
    StoredMessage {
        id: format!("m{i}"),
        peer_id: "bob".into(),
        from_user: "me".into(),
        to: "bob".into(),
        direction: direction.into(),
        kind: "text".into(),
        timestamp: 1000 + i64::try_from(i).unwrap(),
        status: "sent".into(),
        content: format!("body {i}").into_bytes(),
        group_id: None,
    }
}

fn outbox_item(id: &str, payload: &[u8], created_at: i64) -> OutboxItem {
    OutboxItem { message_id: id.into(), peer_id: "bob".into(), payload: payload.to_vec(), created_at }
}

#[test]
fn save_messages_and_outbox_batches() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("me");
    let mut s = new_store(&dir);
    s.outbox_add_many(&[
        outbox_item("m2", b"two", 20),
        outbox_item("m1", b"one", 10),
        outbox_item("m3", b"3", 30),
    ])
    .unwrap();
    // Idempotent by id: the first payload stays.
    s.outbox_add_many(&[outbox_item("m1", b"other", 5)]).unwrap();
    let ob = s.outbox().unwrap();
    assert_eq!(ob.iter().map(|o| o.message_id.as_str()).collect::<Vec<_>>(), ["m1", "m2", "m3"]);
    assert_eq!(ob[0].payload, b"one");

    s.save_message(&msg(0, "out")).unwrap();
    let saved =
        s.save_messages(&[msg(0, "out"), msg(1, "out"), msg(2, "in")], &["m1".into(), "m2".into()]).unwrap();
    assert_eq!(saved, [Ok(false), Ok(true), Ok(true)]);
    assert_eq!(s.outbox().unwrap().len(), 1);
    assert_eq!(s.get_message("m2", None, None).unwrap().unwrap().content, b"body 2");
    assert_eq!(s.messages("bob", 10, None).unwrap().len(), 3);
    s.outbox_remove_many(&["m3".into(), "absent".into()]).unwrap();
    assert!(s.outbox().unwrap().is_empty());
    drop(s);
    let s = Store::open(&dir, "pw-1", opts()).unwrap();
    assert_eq!(s.messages("bob", 10, None).unwrap().len(), 3);
    assert!(s.outbox().unwrap().is_empty());
}

#[test]
fn history_and_outbox_batches_that_fail_commit_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("me");
    let mut s = new_store(&dir);
    s.outbox_add_many(&[outbox_item("o1", b"one", 10)]).unwrap();
    let before = wal(&dir, "messages.db");

    // One bad outbox item in a batch: nothing is written (a bad history message is a
    // per-message error: see poison.rs).
    let err = s.outbox_add_many(&[outbox_item("o2", b"two", 20), outbox_item("", b"bad", 30)]).unwrap_err();
    assert!(matches!(err, StoreError::InvalidMessageId(_)));
    assert!(before == wal(&dir, "messages.db"), "a refused batch wrote to messages.db");
    assert!(s.get_message("m1", None, None).unwrap().is_none());
    assert_eq!(s.outbox().unwrap().len(), 1);

    // A database failure: another connection holds the write lock.
    let blocker = rusqlite::Connection::open(dir.join("messages.db")).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    assert!(s.save_messages(&[msg(1, "out")], &["o1".into()]).is_err());
    assert!(s.outbox_add_many(&[outbox_item("o2", b"two", 20)]).is_err());
    assert!(s.outbox_remove_many(&["o1".into()]).is_err());
    blocker.execute_batch("ROLLBACK").unwrap();
    drop(blocker);
    assert!(s.get_message("m1", None, None).unwrap().is_none());
    let ob = s.outbox().unwrap();
    assert_eq!(ob.iter().map(|o| o.message_id.as_str()).collect::<Vec<_>>(), ["o1"]);
}

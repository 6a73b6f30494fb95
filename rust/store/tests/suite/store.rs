//! End-to-end tests of the store: persistence, write-ahead encrypt, transactional decrypt,
//! failures (password, corruption, lock, permissions), backups, and no secret on disk.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};

use rand_core::OsRng;
use wac1::{Account, Serialize, SessionRecord, WireMessage};
use wac1_store::{KdfParams, Store, StoreError, StoreOptions, StoredMessage};

pub(super) fn opts() -> StoreOptions {
    StoreOptions {
        kdf: KdfParams { memory_kib: 64, iterations: 1, lanes: 1 },
        insecure_weak_kdf: true,
        ..Default::default()
    }
}

pub(super) fn account_dir(tmp: &tempfile::TempDir, name: &str) -> PathBuf {
    tmp.path().join(name)
}

pub(super) fn new_store(dir: &Path) -> Store {
    let mut s = Store::open(dir, "pw-1", opts()).unwrap();
    s.create_identity().unwrap();
    s.rotate_signed_prekey(1000).unwrap();
    s
}

/// Alice (a store) starts a session with Bob (a store) using one of Bob's one-time prekeys.
pub(super) fn pair(tmp: &tempfile::TempDir) -> (Store, Store) {
    let mut alice = new_store(&account_dir(tmp, "alice"));
    let mut bob = new_store(&account_dir(tmp, "bob"));
    let opk = bob.generate_one_time_prekeys(3).unwrap()[0].id;
    let bundle = bob.account().unwrap().bundle(Some(opk)).unwrap();
    assert!(!alice.start_session("bob", &bundle).unwrap());
    (alice, bob)
}

#[test]
fn identity_and_prekeys_persist() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = account_dir(&tmp, "me");
    let (ik, opks) = {
        let mut s = new_store(&dir);
        assert!(matches!(s.create_identity(), Err(StoreError::Invalid(_))));
        s.generate_one_time_prekeys(5).unwrap();
        s.kv_set("token", b"tok").unwrap();
        (s.keys_identity().unwrap(), s.one_time_prekey_count().unwrap())
    };
    let s = Store::open(&dir, "pw-1", opts()).unwrap();
    assert_eq!(s.keys_identity().unwrap(), ik);
    assert_eq!(s.one_time_prekey_count().unwrap(), opks);
    assert_eq!(s.signed_prekey().unwrap().unwrap().id, 1);
    assert_eq!(s.kv_get("token").unwrap().unwrap().as_slice(), b"tok");
    let p = s.keys_payload().unwrap();
    assert_eq!(p.one_time_prekeys.len(), 5);
}

#[test]
fn conversation_survives_reopen_and_consumes_the_one_time_prekey() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut alice, mut bob) = pair(&tmp);
    let w1 = alice.encrypt("bob", b"hello bob", Some("m1")).unwrap();
    assert_eq!(bob.one_time_prekey_count().unwrap(), 3);
    let d = bob.decrypt("alice", &w1, Some("m1")).unwrap();
    assert_eq!(d.plaintext, b"hello bob");
    assert!(d.new_session);
    assert_eq!(bob.one_time_prekey_count().unwrap(), 2);
    drop(alice);
    drop(bob);

    let mut alice = Store::open(account_dir(&tmp, "alice"), "pw-1", opts()).unwrap();
    let mut bob = Store::open(account_dir(&tmp, "bob"), "pw-1", opts()).unwrap();
    assert_eq!(bob.one_time_prekey_count().unwrap(), 2, "OPK deletion was committed");
    // The same id returns the stored result, even after a restart.
    assert_eq!(bob.decrypt("alice", &w1, Some("m1")).unwrap().plaintext, b"hello bob");
    // Without the id the key is gone: a replay.
    assert!(matches!(bob.decrypt("alice", &w1, None), Err(StoreError::Crypto(_))));
    let back = bob.encrypt("alice", b"hi alice", None).unwrap();
    assert_eq!(alice.decrypt("bob", &back, None).unwrap().plaintext, b"hi alice");
    let batch = alice.encrypt_many("bob", &[b"a".as_slice(), b"b", b"c"], None).unwrap();
    for (w, p) in batch.iter().zip([b"a", b"b", b"c"]) {
        assert_eq!(bob.decrypt("alice", w, None).unwrap().plaintext, p);
    }
    assert_eq!(bob.peer_identity("alice").unwrap().unwrap().identity, alice.keys_identity().unwrap());
}

#[test]
fn encrypt_with_an_id_is_idempotent() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut alice, mut bob) = pair(&tmp);
    let w = alice.encrypt("bob", b"x", Some("id-1")).unwrap();
    assert_eq!(alice.encrypt("bob", b"x", Some("id-1")).unwrap(), w);
    assert!(matches!(alice.encrypt("carol", b"x", Some("id-1")), Err(StoreError::IdConflict(_))));
    let ids: Vec<String> = vec!["id-1".into(), "id-2".into()];
    let ws = alice.encrypt_many("bob", &[b"x".as_slice(), b"y"], Some(&ids)).unwrap();
    assert_eq!(ws[0], w);
    assert_eq!(alice.encrypt_many("bob", &[b"x".as_slice(), b"y"], Some(&ids)).unwrap(), ws);
    let next = alice.encrypt("bob", b"z", None).unwrap();
    let n = |w: &str| WireMessage::parse(w).unwrap().header.n;
    assert_eq!((n(&ws[0]), n(&ws[1]), n(&next)), (0, 1, 2));
    alice.forget_sent(&ids).unwrap();
    assert_ne!(alice.encrypt("bob", b"x", Some("id-1")).unwrap(), w);
    for wire in [&ws[0], &ws[1], &next] {
        bob.decrypt("alice", wire, None).unwrap();
    }
}

#[test]
fn failed_decrypt_commits_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut alice, mut bob) = pair(&tmp);
    let w = alice.encrypt("bob", b"first", None).unwrap();
    let mut m = WireMessage::parse(&w).unwrap();
    let last = m.ciphertext.len() - 1;
    m.ciphertext[last] ^= 1;
    let before = std::fs::read(account_dir(&tmp, "bob").join("keys.db-wal")).unwrap_or_default();
    assert!(bob.decrypt("alice", &m.encode(), Some("bad")).is_err());
    assert!(bob.decrypt("alice", "E2EE:{not json", Some("bad")).is_err());
    let after = std::fs::read(account_dir(&tmp, "bob").join("keys.db-wal")).unwrap_or_default();
    assert!(before == after, "a failed decrypt wrote to the database");
    assert_eq!(bob.one_time_prekey_count().unwrap(), 3);
    assert!(!bob.has_session("alice").unwrap());
    assert_eq!(bob.decrypt("alice", &w, Some("bad")).unwrap().plaintext, b"first");
}

#[test]
fn session_and_account_backups_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut alice, mut bob) = pair(&tmp);
    let w = alice.encrypt("bob", b"one", None).unwrap();
    bob.decrypt("alice", &w, None).unwrap();
    bob.set_verified("alice", true).unwrap();
    bob.kv_set("token", b"t0k3n").unwrap();

    let doc = bob.export_session("alice", "backup pass").unwrap();
    assert!(!doc.contains("t0k3n"));
    let full = bob.export_account("backup pass").unwrap();
    assert!(matches!(bob.import_session("alice", &doc, "wrong"), Err(StoreError::Auth(_))));
    assert!(matches!(bob.import_session("carol", &doc, "backup pass"), Err(StoreError::Invalid(_))));
    let tampered = doc.replace("\"peer_id\":\"alice\"", "\"peer_id\":\"carol\"");
    assert!(bob.import_session("carol", &tampered, "backup pass").is_err());
    let ik = bob.keys_identity().unwrap();
    bob.wipe().unwrap();
    assert!(!account_dir(&tmp, "bob").exists());

    let mut restored =
        Store::import_account(account_dir(&tmp, "bob2"), "pw-9", &full, "backup pass", opts()).unwrap();
    assert_eq!(restored.keys_identity().unwrap(), ik);
    assert_eq!(restored.kv_get("token").unwrap().unwrap().as_slice(), b"t0k3n");
    assert!(restored.peer_identity("alice").unwrap().unwrap().verified);
    let w2 = alice.encrypt("bob", b"two", None).unwrap();
    assert_eq!(restored.decrypt("alice", &w2, None).unwrap().plaintext, b"two");
    assert!(matches!(
        Store::import_account(account_dir(&tmp, "bob2x"), "pw-9", &doc, "backup pass", opts()),
        Err(StoreError::Invalid(_))
    ));
}

#[test]
fn history_and_outbox() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = new_store(&account_dir(&tmp, "me"));
    let msg = |i: i64| StoredMessage {
        id: format!("m{i}"),
        peer_id: "bob".into(),
        from_user: "me".into(),
        to: "bob".into(),
        direction: "out".into(),
        kind: "text".into(),
        timestamp: 1000 + i,
        status: "pending".into(),
        content: format!("body {i}").into_bytes(),
        group_id: None,
    };
    for i in 0..30 {
        assert!(s.save_message(&msg(i)).unwrap());
    }
    assert!(!s.save_message(&msg(3)).unwrap());
    let page = s.messages("bob", 10, None).unwrap();
    assert_eq!(page.len(), 10);
    assert_eq!(page[0].id, "m29");
    let older = s.messages("bob", 10, Some(page[9].timestamp)).unwrap();
    assert_eq!(older[0].id, "m19");
    assert_eq!(s.update_status(&["m1".into(), "m2".into(), "zz".into()], "read").unwrap(), 2);
    assert_eq!(s.get_message("m1", None, None).unwrap().unwrap().status, "read");
    assert_eq!(s.get_message("m1", None, None).unwrap().unwrap().content, b"body 1");
    assert!(s.get_message("nope", None, None).unwrap().is_none());

    s.outbox_add("o2", "bob", b"second", 20).unwrap();
    s.outbox_add("o1", "carol", b"first", 10).unwrap();
    let ob = s.outbox().unwrap();
    assert_eq!(ob.iter().map(|o| o.message_id.as_str()).collect::<Vec<_>>(), ["o1", "o2"]);
    assert_eq!(ob[0].payload, b"first");
    s.outbox_remove("o1").unwrap();
    assert_eq!(s.outbox().unwrap().len(), 1);
}

#[test]
fn identity_change_clears_verified() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut alice, mut bob) = pair(&tmp);
    let w = alice.encrypt("bob", b"hi", None).unwrap();
    bob.decrypt("alice", &w, None).unwrap();
    bob.set_verified("alice", true).unwrap();
    assert!(bob.peer_identity("alice").unwrap().unwrap().verified_at.is_some());
    // "alice" reinstalls: a new identity talks to bob under the same user id.
    let mut alice2 = Store::open(account_dir(&tmp, "alice2"), "pw-1", opts()).unwrap();
    alice2.create_identity().unwrap();
    let bundle = bob.account().unwrap().bundle(None).unwrap();
    alice2.start_session("bob", &bundle).unwrap();
    let w = alice2.encrypt("bob", b"new me", None).unwrap();
    let d = bob.decrypt("alice", &w, None).unwrap();
    assert!(d.identity_changed);
    let p = bob.peer_identity("alice").unwrap().unwrap();
    assert!(!p.verified && p.verified_at.is_none());
    assert_eq!(p.identity, alice2.keys_identity().unwrap());
}

#[test]
fn session_cache_is_bounded() {
    let tmp = tempfile::tempdir().unwrap();
    let mut alice =
        Store::open(account_dir(&tmp, "alice"), "pw-1", StoreOptions { session_cache: 4, ..opts() }).unwrap();
    alice.create_identity().unwrap();
    let mut bob = Account::generate(&mut OsRng);
    bob.rotate_signed_prekey(0, &mut OsRng);
    alice.start_session("bob", &bob.bundle(None).unwrap()).unwrap();
    alice.bench_clone_sessions("bob", "peer-", 50).unwrap();
    for i in 0..50 {
        let w = alice.encrypt(&format!("peer-{i}"), b"x", None).unwrap();
        assert!(WireMessage::parse(&w).is_ok());
        assert!(alice.cached_sessions() <= 4);
    }
}

/// Every file of the store, searched for the bytes of every secret the test knows.
#[test]
fn no_secret_or_plaintext_on_disk() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut alice, mut bob) = pair(&tmp);
    let mut plaintexts = Vec::new();
    for i in 0..20 {
        let p = format!("PLAINTEXT-MARKER-{i:04}-the-quick-brown-fox");
        let w = alice.encrypt("bob", p.as_bytes(), Some(&format!("s{i}"))).unwrap();
        bob.decrypt("alice", &w, Some(&format!("s{i}"))).unwrap();
        plaintexts.push(p.into_bytes());
    }
    bob.kv_set("token", b"TOKEN-MARKER-abcdefghijklmnop").unwrap();
    plaintexts.push(b"TOKEN-MARKER-abcdefghijklmnop".to_vec());
    bob.outbox_add("o1", "alice", b"OUTBOX-MARKER-0123456789", 1).unwrap();
    plaintexts.push(b"OUTBOX-MARKER-0123456789".to_vec());
    bob.save_message(&StoredMessage {
        id: "h1".into(),
        peer_id: "alice".into(),
        from_user: "alice".into(),
        to: "bob".into(),
        direction: "in".into(),
        kind: "text".into(),
        timestamp: 5,
        status: "delivered".into(),
        content: b"HISTORY-MARKER-0123456789".to_vec(),
        group_id: None,
    })
    .unwrap();
    plaintexts.push(b"HISTORY-MARKER-0123456789".to_vec());

    // Known secrets: identity private keys, prekey private keys, session records.
    let mut secrets: Vec<Vec<u8>> = Vec::new();
    for store in [&mut alice, &mut bob] {
        let account = store.account().unwrap().clone();
        let id_bytes = account.identity().to_bytes();
        secrets.push(id_bytes[2..34].to_vec());
        secrets.push(id_bytes[34..66].to_vec());
        for k in account.signed_prekeys() {
            secrets.push(k.to_bytes()[6..38].to_vec());
        }
        for k in account.one_time_prekeys() {
            secrets.push(k.to_bytes()[6..38].to_vec());
        }
    }
    for (store, peer) in [(&mut alice, "bob"), (&mut bob, "alice")] {
        let record: SessionRecord = store.session_copy(peer).unwrap();
        let view = record.active().unwrap().ratchet().view();
        secrets.push(view.root_key.to_vec());
        secrets.extend(view.sending_chain_key.map(|k| k.to_vec()));
        secrets.extend(view.receiving_chain_key.map(|k| k.to_vec()));
    }
    // Leave the WAL in place (no checkpoint on close) by keeping the stores open while reading.
    for name in ["alice", "bob"] {
        let dir = account_dir(&tmp, name);
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            for s in secrets.iter().chain(&plaintexts) {
                assert!(!contains(&data, s), "{} holds a secret or plaintext", path.display());
            }
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.len() <= haystack.len() && haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn kdf_parameters_can_be_raised_by_rewrapping() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = account_dir(&tmp, "me");
    drop(new_store(&dir));
    let stronger = KdfParams { memory_kib: 256, iterations: 2, lanes: 1 };
    let mut s = Store::open(&dir, "pw-1", StoreOptions { kdf: stronger, ..opts() }).unwrap();
    s.change_password("pw-1", "pw-1").unwrap();
    drop(s);
    let c = rusqlite::Connection::open(dir.join("keys.db")).unwrap();
    let kdf: Vec<u8> = c.query_row("SELECT value FROM meta WHERE name = 'kdf'", [], |r| r.get(0)).unwrap();
    assert_eq!(KdfParams::from_json(std::str::from_utf8(&kdf).unwrap()), Some(stronger));
    drop(c);
    // Opening does not depend on the parameters passed: the stored ones are used.
    assert!(Store::open(&dir, "pw-1", opts()).unwrap().has_identity());
}

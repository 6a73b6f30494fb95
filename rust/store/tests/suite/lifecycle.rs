//! Issue 10 items 2 and 13: the verified flag is bound to what was compared, a missing
//! `messages.db` is an error, and records do not print their content.

use wac1_store::{OutboxItem, Store, StoreError};

use crate::common::*;

#[test]
fn a_missing_messages_db_is_an_error_not_a_fresh_history() {
    let tmp = tempfile::tempdir().unwrap();
    let d = dir(&tmp, "me");
    let mut s = new_store(&d);
    s.save_message(&message("m1", "bob", "bob", 1, "sent")).unwrap();
    drop(s);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(d.join(format!("messages.db{suffix}")));
    }
    let err = Store::open(&d, "pw-1", opts()).unwrap_err();
    assert!(matches!(&err, StoreError::Corrupt(m) if m.contains("messages.db")), "{err:?}");
    assert!(!d.join("messages.db").exists(), "the history was recreated");
}

#[test]
fn an_interrupted_creation_is_finished_on_the_next_open() {
    let tmp = tempfile::tempdir().unwrap();
    let d = dir(&tmp, "me");
    drop(Store::open(&d, "pw-1", opts()).unwrap());
    // What a crash between the two files leaves: an empty messages.db without keys.db.
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(d.join(format!("keys.db{suffix}")));
    }
    let mut s = Store::open(&d, "pw-1", opts()).unwrap();
    s.create_identity().unwrap();
}

#[test]
fn records_do_not_print_their_content() {
    let mut m = message("m1", "bob", "bob", 1, "sent");
    m.content = b"TOP SECRET PLAINTEXT".to_vec();
    let o = OutboxItem {
        message_id: "o1".into(),
        peer_id: "bob".into(),
        payload: m.content.clone(),
        created_at: 1,
    };
    for shown in [format!("{m:?}"), format!("{o:?}"), format!("{m:#?}")] {
        assert!(!shown.contains("TOP SECRET"), "{shown}");
        assert!(!shown.contains(&format!("{:?}", m.content)), "{shown}");
        assert!(!shown.contains("84, 79, 80"), "{shown}");
    }
}

#[test]
fn the_verified_flag_binds_to_the_identity_compared() {
    let tmp = tempfile::tempdir().unwrap();
    let mut alice = new_store(&dir(&tmp, "alice"));
    let mut bob = new_store(&dir(&tmp, "bob"));
    connect(&mut alice, &mut bob, "bob");
    // The user compares this fingerprint...
    let compared = wac1::fingerprint(&alice.peer_identity("bob").unwrap().unwrap().identity);
    // ...then bob's identity changes (a new device, or an attacker) before the flag is set.
    let mut new_bob = new_store(&dir(&tmp, "bob2"));
    connect(&mut alice, &mut new_bob, "bob");
    assert!(!alice.mark_verified("bob", &compared).unwrap());
    let now = alice.peer_identity("bob").unwrap().unwrap();
    assert!(!now.verified, "an identity that was never compared got marked verified");
    // The identity actually shown is accepted (case and surrounding spaces ignored).
    let current = wac1::fingerprint(&now.identity);
    assert!(alice.mark_verified("bob", &format!(" {} ", current.to_uppercase())).unwrap());
    assert!(alice.peer_identity("bob").unwrap().unwrap().verified);
    assert!(matches!(alice.mark_verified("nobody", &current), Err(StoreError::NotFound(_))));
}

#[test]
fn an_open_store_does_not_print_its_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let mut alice = new_store(&dir(&tmp, "alice"));
    let mut bob = new_store(&dir(&tmp, "bob"));
    connect(&mut alice, &mut bob, "bob");
    alice.encrypt("bob", b"x", None).unwrap();
    let shown = format!("{alice:?}");
    let record = alice.session_copy("bob").unwrap();
    // The cached session record and the account hold keys: none of their Debug output shows.
    assert!(!shown.contains(&format!("{record:?}")), "{shown}");
    assert!(!shown.contains(&format!("{:?}", alice.account().unwrap())), "{shown}");
    assert!(shown.contains("cached_sessions: 1"), "{shown}");
}

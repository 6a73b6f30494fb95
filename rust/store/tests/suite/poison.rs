//! Issue 10 item 1: a poison message id never fails a batch, and received messages are
//! keyed by (peer, id): the same id from two peers is two messages.

use wac1_store::{Store, StoreError};

use crate::common::*;

#[test]
fn invalid_message_ids_are_per_item_errors_in_decrypt_many() {
    let tmp = tempfile::tempdir().unwrap();
    let mut alice = new_store(&dir(&tmp, "alice"));
    let mut bob = new_store(&dir(&tmp, "bob"));
    connect(&mut alice, &mut bob, "bob");
    let w =
        alice.encrypt_many("bob", &[b"one".as_slice(), b"two", b"three", b"four", b"five"], None).unwrap();
    let long = "x".repeat(129);
    let out = bob
        .decrypt_many(&[
            item("alice", &w[0], "ok-1"),
            item("alice", &w[1], "nul\0id"),
            item("alice", &w[2], &long),
            item("alice", &w[3], "has space"),
            item("alice", &w[4], "ok-2"),
        ])
        .unwrap();
    assert_eq!(out[0].as_ref().unwrap().plaintext, b"one");
    for bad in &out[1..4] {
        assert!(matches!(bad, Err(StoreError::InvalidMessageId(_))), "{bad:?}");
    }
    assert_eq!(out[4].as_ref().unwrap().plaintext, b"five");
    // The poison changed nothing: its wire still decrypts under a valid id.
    assert_eq!(bob.decrypt("alice", &w[1], Some("fixed")).unwrap().plaintext, b"two");
    assert!(matches!(bob.decrypt("alice", &w[2], Some("bad\u{1}")), Err(StoreError::InvalidMessageId(_))));
    assert!(bob.decrypt_many(&[item("", &w[2], "id")]).unwrap()[0].is_err());
    assert_eq!("x".repeat(128).len(), 128);
    assert!(bob.decrypt("alice", &w[2], Some(&"y".repeat(128))).is_ok());
}

#[test]
fn the_same_id_from_two_peers_is_two_messages() {
    let tmp = tempfile::tempdir().unwrap();
    let mut alice = new_store(&dir(&tmp, "alice"));
    let mut carol = new_store(&dir(&tmp, "carol"));
    let mut bob = new_store(&dir(&tmp, "bob"));
    connect(&mut alice, &mut bob, "bob");
    connect(&mut carol, &mut bob, "bob");
    let wa = alice.encrypt("bob", b"from alice", None).unwrap();
    let wc = carol.encrypt("bob", b"from carol", None).unwrap();
    let wa2 = alice.encrypt("bob", b"alice again", None).unwrap();
    let wc2 = carol.encrypt("bob", b"carol again", None).unwrap();
    let out = bob.decrypt_many(&[item("alice", &wa, "same"), item("carol", &wc, "same")]).unwrap();
    assert_eq!(out[0].as_ref().unwrap().plaintext, b"from alice");
    assert_eq!(out[1].as_ref().unwrap().plaintext, b"from carol");
    // Single calls too, and a repeat returns each peer's own stored result.
    assert_eq!(bob.decrypt("alice", &wa2, Some("again")).unwrap().plaintext, b"alice again");
    assert_eq!(bob.decrypt("carol", &wc2, Some("again")).unwrap().plaintext, b"carol again");
    assert_eq!(bob.decrypt("carol", &wc2, Some("again")).unwrap().plaintext, b"carol again");
    let again = bob.decrypt_many(&[item("carol", &wc, "same"), item("alice", &wa, "same")]).unwrap();
    assert_eq!(again[0].as_ref().unwrap().plaintext, b"from carol");
    assert_eq!(again[1].as_ref().unwrap().plaintext, b"from alice");
    // Forgetting one peer's result keeps the other's.
    bob.forget_received_from(&[("alice".into(), "same".into())]).unwrap();
    assert!(!bob.has_received("alice", "same").unwrap());
    assert!(bob.has_received("carol", "same").unwrap());
}

#[test]
fn history_keeps_the_same_id_from_two_senders() {
    let tmp = tempfile::tempdir().unwrap();
    let d = dir(&tmp, "me");
    let mut s = new_store(&d);
    let saved = s
        .save_messages(
            &[
                message("same", "alice", "alice", 1, "delivered"),
                message("same", "carol", "carol", 2, "delivered"),
                message("same", "group-1", "alice", 3, "delivered"),
                message("same", "group-1", "carol", 4, "delivered"),
                message("same", "alice", "alice", 5, "delivered"),
            ],
            &[],
        )
        .unwrap();
    assert_eq!(saved, [Ok(true), Ok(true), Ok(true), Ok(true), Ok(false)]);
    assert_eq!(s.messages("alice", 10, None).unwrap().len(), 1);
    assert_eq!(s.messages("group-1", 10, None).unwrap().len(), 2);
    let m = s.get_message("same", Some("group-1"), Some("carol")).unwrap().unwrap();
    assert_eq!(m.content, b"from carol at 4");
    assert_eq!(s.get_message("same", None, None).unwrap().unwrap().peer_id, "alice");
}

#[test]
fn one_bad_message_does_not_sink_a_history_batch() {
    let tmp = tempfile::tempdir().unwrap();
    let d = dir(&tmp, "me");
    let mut s = new_store(&d);
    s.outbox_add("o1", "bob", b"x", 1).unwrap();
    let mut sideways = message("m2", "bob", "bob", 2, "sent");
    sideways.direction = "sideways".into();
    let saved = s
        .save_messages(
            &[message("m1", "bob", "bob", 1, "sent"), message("bad\0id", "bob", "bob", 3, "sent"), sideways],
            &["o1".into()],
        )
        .unwrap();
    assert_eq!(saved[0], Ok(true));
    assert!(matches!(saved[1], Err(StoreError::InvalidMessageId(_))));
    assert!(matches!(saved[2], Err(StoreError::Invalid(_))));
    assert_eq!(s.messages("bob", 10, None).unwrap().len(), 1);
    assert!(s.outbox().unwrap().is_empty());
    assert!(matches!(
        s.save_message(&message(&"z".repeat(129), "bob", "bob", 4, "sent")),
        Err(StoreError::InvalidMessageId(_))
    ));
    drop(s);
    assert_eq!(Store::open(&d, "pw-1", opts()).unwrap().messages("bob", 10, None).unwrap().len(), 1);
}

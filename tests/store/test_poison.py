"""Issue 10 items 1 and 2 at the Python boundary: per-message errors come back as exception
instances in batch results, received messages are keyed by (peer, id), and the verified
flag is bound to the fingerprint compared."""

from __future__ import annotations

import pytest

from whatsapp_client._core import Decrypted, KeyStore, StoredMessage
from whatsapp_client.errors import (
    InvalidMessageIdError,
    StorageError,
    ValidationError,
    error_for_code,
)

from .conftest import OpenStore, new_identity


def _connect(sender: KeyStore, receiver: KeyStore, receiver_name: str) -> None:
    opk = receiver.generate_one_time_prekeys(1)[0].key_id
    sender.start_session(receiver_name, receiver.bundle(opk))


def _msg(id_: str, peer: str, sender: str, ts: int) -> StoredMessage:
    return StoredMessage(
        id=id_,
        peer_id=peer,
        from_user=sender,
        to="me",
        direction="in",
        type="text",
        timestamp=ts,
        content=f"{sender} {ts}".encode(),
        status="delivered",
    )


def test_a_poison_id_is_one_failed_item_not_a_failed_batch(open_store: OpenStore) -> None:
    alice = new_identity(open_store, "alice")
    bob = new_identity(open_store, "bob")
    _connect(alice, bob, "bob")
    w = alice.encrypt_many("bob", [b"one", b"two", b"three", b"four"])
    out = bob.decrypt_many(
        [
            ("alice", w[0], "ok-1"),
            ("alice", w[1], "nul\x00id"),
            ("alice", w[2], "x" * 513),
            ("alice", w[3], "ok-2"),
        ]
    )
    assert isinstance(out[0], Decrypted) and out[0].plaintext == b"one"
    for bad in out[1:3]:
        assert isinstance(bad, InvalidMessageIdError)
        assert isinstance(bad, ValidationError)
        assert bad.code == "invalid_message_id"
    assert isinstance(out[3], Decrypted) and out[3].plaintext == b"four"
    assert error_for_code("invalid_message_id") is InvalidMessageIdError
    # The poison changed nothing: the same wire decrypts under a valid id.
    assert bob.decrypt("alice", w[1], message_id="fixed").plaintext == b"two"


def test_the_same_id_from_two_peers_is_two_messages(open_store: OpenStore) -> None:
    alice = new_identity(open_store, "alice")
    carol = new_identity(open_store, "carol")
    bob = new_identity(open_store, "bob")
    _connect(alice, bob, "bob")
    _connect(carol, bob, "bob")
    wa = alice.encrypt("bob", b"from alice")
    wc = carol.encrypt("bob", b"from carol")
    out = bob.decrypt_many([("alice", wa, "same"), ("carol", wc, "same")])
    assert [getattr(r, "plaintext", r) for r in out] == [b"from alice", b"from carol"]
    bob.forget_received([("alice", "same")])
    again = bob.decrypt_many([("carol", wc, "same")])
    assert isinstance(again[0], Decrypted) and again[0].plaintext == b"from carol"
    bob.forget_received(["same"])


def test_history_batches_keep_good_rows_and_key_by_sender(open_store: OpenStore) -> None:
    store = new_identity(open_store, "me")
    saved = store.save_messages(
        [
            _msg("same", "alice", "alice", 1),
            _msg("same", "carol", "carol", 2),
            _msg("bad id", "carol", "carol", 3),
            _msg("same", "alice", "alice", 4),
        ]
    )
    assert saved[:2] == [True, True] and saved[3] is False
    assert isinstance(saved[2], InvalidMessageIdError)
    got = store.get_message("same", peer_id="carol", from_user="carol")
    assert got is not None and got.content == b"carol 2"
    assert [m.timestamp for m in store.messages("alice")] == [1]


def test_verified_only_if_the_identity_is_still_the_one_compared(open_store: OpenStore) -> None:
    alice = new_identity(open_store, "alice")
    bob = new_identity(open_store, "bob")
    _connect(alice, bob, "bob")
    ident = alice.peer_identity("bob")
    assert ident is not None
    compared = ident.fingerprint
    new_bob = new_identity(open_store, "bob2")
    _connect(alice, new_bob, "bob")  # the identity changes after the comparison
    assert alice.mark_verified("bob", compared) is False
    now = alice.peer_identity("bob")
    assert now is not None and not now.verified
    assert alice.mark_verified("bob", now.fingerprint) is True
    marked = alice.peer_identity("bob")
    assert marked is not None and marked.verified


def test_records_do_not_show_their_content(open_store: OpenStore) -> None:
    store = new_identity(open_store, "me")
    m = _msg("m1", "bob", "bob", 1).replace(status="sent")
    assert "bob 1" not in repr(m)
    store.outbox_add("o1", "bob", b"TOP SECRET", 1)
    assert "TOP SECRET" not in repr(store.outbox()[0])


def test_store_errors_keep_their_classes(open_store: OpenStore) -> None:
    store = new_identity(open_store, "me")
    with pytest.raises(InvalidMessageIdError) as caught:
        store.encrypt("x", b"", message_id="")
    assert isinstance(caught.value, ValidationError)
    assert not isinstance(caught.value, StorageError)

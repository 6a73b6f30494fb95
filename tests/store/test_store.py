"""The KeyStore API: identity, sessions, write-ahead encrypt, transactional decrypt,
verification, key-value area, history, outbox and backups (its failures are in
test_store_failures.py)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from whatsapp_client._core import KeyStore, StoredMessage, parse_message
from whatsapp_client.errors import (
    DuplicateMessageError,
    InvalidMessageError,
    NotFoundError,
    StorageAuthError,
    StorageError,
    ValidationError,
)

from .conftest import FAST_KDF, PASSWORD, OpenStore, new_identity


def _pair(open_store: OpenStore) -> tuple[KeyStore, KeyStore]:
    alice = new_identity(open_store, "alice")
    bob = new_identity(open_store, "bob")
    opk = bob.generate_one_time_prekeys(1)[0].key_id
    assert alice.start_session("bob", bob.bundle(opk)) is False
    return alice, bob


def test_identity_and_prekeys_persist(open_store: OpenStore, tmp_path: Path) -> None:
    store = open_store("me")
    assert not store.has_identity()
    with pytest.raises(StorageError):
        _ = store.identity_key
    store.create_identity()
    with pytest.raises(ValidationError):
        store.create_identity()
    spk = store.rotate_signed_prekey(1000)
    opks = store.generate_one_time_prekeys(10)
    assert [k.key_id for k in opks] == list(range(1, 11))
    payload = store.keys_payload()
    assert payload["signed_prekey"] == spk.to_dict()
    assert len(payload["one_time_prekeys"]) == 10
    fingerprint = store.fingerprint
    store.close()
    assert store.closed
    with pytest.raises(StorageError):
        store.has_identity()

    again = open_store("me")
    assert again.fingerprint == fingerprint
    assert again.one_time_prekey_count() == 10
    signed = again.signed_prekey
    assert signed is not None
    assert signed.key_id == spk.key_id
    again.rotate_signed_prekey(2000)
    assert again.expire_signed_prekeys(1500) == 1
    assert os.path.basename(again.directory) == "me"


def test_conversation_through_two_stores(open_store: OpenStore) -> None:
    alice, bob = _pair(open_store)
    wire = alice.encrypt("bob", b"hello", message_id="m1")
    assert wire.startswith("E2EE:")
    before = bob.one_time_prekey_count()
    got = bob.decrypt("alice", wire, message_id="m1")
    assert got.plaintext == b"hello"
    assert got.new_session
    assert got.used_one_time_prekey is not None
    assert bob.one_time_prekey_count() == before - 1
    reply = bob.encrypt("alice", b"hi back")
    assert alice.decrypt("bob", reply).plaintext == b"hi back"
    wires = alice.encrypt_many("bob", [b"a", b"b", b"c"])
    assert [bob.decrypt("alice", w).plaintext for w in reversed(wires)] == [b"c", b"b", b"a"]
    assert alice.has_session("bob")
    assert not alice.has_session("carol")
    peer = bob.peer_identity("alice")
    assert peer is not None
    assert peer.identity_key == alice.identity_key
    assert peer.fingerprint == alice.fingerprint
    assert not peer.verified
    assert peer.verified_at is None


def test_write_ahead_encrypt_is_idempotent_by_message_id(open_store: OpenStore) -> None:
    alice, bob = _pair(open_store)
    first = alice.encrypt("bob", b"x", message_id="id-1")
    assert alice.encrypt("bob", b"x", message_id="id-1") == first
    batch = alice.encrypt_many("bob", [b"x", b"y"], message_ids=["id-1", "id-2"])
    assert batch[0] == first
    assert alice.encrypt_many("bob", [b"x", b"y"], message_ids=["id-1", "id-2"]) == batch
    with pytest.raises(ValidationError):
        alice.encrypt("carol", b"x", message_id="id-1")
    with pytest.raises(ValidationError):
        alice.encrypt_many("bob", [b"x"], message_ids=["a", "b"])
    numbers = [parse_message(w).message_number for w in batch]
    assert numbers == [0, 1]
    alice.forget_sent(["id-1", "id-2"])
    assert parse_message(alice.encrypt("bob", b"z", message_id="id-1")).message_number == 2
    for w in batch:
        bob.decrypt("alice", w)


def test_decrypt_is_transactional_and_idempotent_by_message_id(open_store: OpenStore) -> None:
    alice, bob = _pair(open_store)
    wire = alice.encrypt("bob", b"first")
    count = bob.one_time_prekey_count()
    with pytest.raises(InvalidMessageError):
        bob.decrypt("alice", "E2EE:{broken", message_id="m")
    tampered = wire.replace('"ciphertext":"', '"ciphertext":"AAAA', 1)
    with pytest.raises(Exception):  # noqa: B017, PT011 (tampering fails as invalid or undecryptable)
        bob.decrypt("alice", tampered, message_id="m")
    assert bob.one_time_prekey_count() == count
    assert not bob.has_session("alice")
    got = bob.decrypt("alice", wire, message_id="m")
    assert got.plaintext == b"first"
    again = bob.decrypt("alice", wire, message_id="m")
    assert again.plaintext == b"first"
    assert again.new_session
    with pytest.raises(DuplicateMessageError):
        bob.decrypt("alice", wire)
    bob.forget_received(["m"])
    with pytest.raises(DuplicateMessageError):
        bob.decrypt("alice", wire, message_id="m")


def test_redelivery_after_restart_returns_the_stored_plaintext(
    open_store: OpenStore, tmp_path: Path
) -> None:
    alice, bob = _pair(open_store)
    wire = alice.encrypt("bob", b"kept")
    bob.decrypt("alice", wire, message_id="srv-1")
    bob.close()
    bob = open_store("bob")
    assert bob.decrypt("alice", wire, message_id="srv-1").plaintext == b"kept"


def test_verification_and_identity_change(open_store: OpenStore) -> None:
    alice, bob = _pair(open_store)
    bob.decrypt("alice", alice.encrypt("bob", b"hi"))
    with pytest.raises(NotFoundError):
        bob.set_verified("nobody", True)
    bob.set_verified("alice", True)
    peer = bob.peer_identity("alice")
    assert peer is not None
    assert peer.verified
    assert peer.verified_at is not None
    impostor = new_identity(open_store, "alice-reinstalled")
    impostor.start_session("bob", bob.bundle())
    got = bob.decrypt("alice", impostor.encrypt("bob", b"it is me"))
    assert got.identity_changed
    peer = bob.peer_identity("alice")
    assert peer is not None
    assert not peer.verified
    assert peer.identity_key == impostor.identity_key
    # The initiator side notices too.
    assert alice.start_session("bob", impostor.bundle()) is True


def test_key_value_area(open_store: OpenStore) -> None:
    store = open_store()
    assert store.kv_get("token") is None
    store.kv_set("token", b"secret-token")
    store.kv_set("settings", b"{}")
    assert store.kv_get("token") == b"secret-token"
    store.kv_delete("token")
    store.kv_delete("token")
    assert store.kv_get("token") is None
    with pytest.raises(ValidationError):
        store.kv_set("", b"x")


def _message(i: int, peer: str = "bob", group: str | None = None) -> StoredMessage:
    return StoredMessage(
        id=f"m{i}",
        peer_id=peer,
        from_user="me",
        to=peer,
        direction="out",
        type="text",
        timestamp=1_700_000_000_000 + i,
        content=f"content {i}".encode(),
        group_id=group,
    )


def test_history_pages_and_status(open_store: OpenStore) -> None:
    store = open_store()
    for i in range(120):
        assert store.save_message(_message(i))
    assert not store.save_message(_message(5))
    store.save_message(_message(1000, peer="group-1", group="group-1"))
    page = store.messages("bob")
    assert len(page) == 50
    assert page[0].id == "m119"
    assert page[-1].id == "m70"
    older = store.messages("bob", limit=100, before=page[-1].timestamp)
    assert len(older) == 70
    assert older[0].id == "m69"
    assert store.update_status(["m1", "m2", "missing"], "delivered") == 2
    got = store.get_message("m1")
    assert got is not None
    assert got.status == "delivered"
    assert got.content == b"content 1"
    assert got == _message(1).replace(status="delivered")
    assert store.get_message("missing") is None
    group = store.messages("group-1")
    assert len(group) == 1
    assert group[0].group_id == "group-1"
    assert group[0].type == "text"
    bad = StoredMessage(
        id="x", peer_id="p", from_user="a", to="b", direction="sideways", type="t",
        timestamp=0, content=b"",
    )  # fmt: skip
    with pytest.raises(ValidationError):
        store.save_message(bad)


def test_outbox(open_store: OpenStore) -> None:
    store = open_store()
    store.outbox_add("o2", "bob", b"two", 20)
    store.outbox_add("o1", "carol", b"one", 10)
    store.outbox_add("o1", "carol", b"one", 10)
    items = store.outbox()
    assert [(i.message_id, i.peer_id, i.payload, i.created_at) for i in items] == [
        ("o1", "carol", b"one", 10),
        ("o2", "bob", b"two", 20),
    ]
    store.outbox_remove("o1")
    assert [i.message_id for i in store.outbox()] == ["o2"]


def test_session_and_account_backup(open_store: OpenStore, tmp_path: Path) -> None:
    alice, bob = _pair(open_store)
    bob.decrypt("alice", alice.encrypt("bob", b"one"))
    bob.kv_set("token", b"tok")
    bob.set_verified("alice", True)
    session_doc = bob.export_session("alice", "backup words")
    account_doc = bob.export_account("backup words")
    with pytest.raises(StorageAuthError):
        bob.import_session("alice", session_doc, "wrong words")
    with pytest.raises(ValidationError):
        bob.import_session("carol", session_doc, "backup words")
    fingerprint = bob.fingerprint
    bob.wipe()
    assert bob.closed
    assert not (tmp_path / "bob").exists()

    restored = KeyStore.import_account(
        str(tmp_path / "bob-new"), "pw2", account_doc, "backup words", **FAST_KDF
    )
    try:
        assert restored.fingerprint == fingerprint
        assert restored.kv_get("token") == b"tok"
        peer = restored.peer_identity("alice")
        assert peer is not None
        assert peer.verified
        assert restored.decrypt("alice", alice.encrypt("bob", b"two")).plaintext == b"two"
        restored.import_session("alice", session_doc, "backup words")
    finally:
        restored.close()


def test_session_cache_is_bounded(open_store: OpenStore) -> None:
    alice = new_identity(open_store, "alice", session_cache=8)
    bob = new_identity(open_store, "bob")
    alice.start_session("bob", bob.bundle())
    alice._bench_clone_sessions("bob", "peer-", 100)
    for i in range(100):
        alice.encrypt(f"peer-{i}", b"x")
        assert alice.cached_sessions <= 8


def test_context_manager_closes(tmp_path: Path) -> None:
    with KeyStore.open(str(tmp_path / "me"), PASSWORD, **FAST_KDF) as store:
        store.create_identity()
    assert store.closed
    with KeyStore.open(str(tmp_path / "me"), PASSWORD, durability="fast", **FAST_KDF) as again:
        assert again.has_identity()
        assert again.durability == "fast"


def test_threads_share_one_store(open_store: OpenStore) -> None:
    alice = new_identity(open_store, "alice")
    bob = new_identity(open_store, "bob")
    alice.start_session("bob", bob.bundle())
    alice._bench_clone_sessions("bob", "peer-", 8)
    results: dict[int, list[str]] = {}

    def work(t: int) -> None:
        peer = f"peer-{t}"
        results[t] = [alice.encrypt(peer, b"%d" % i, message_id=f"{t}-{i}") for i in range(50)]

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for t, wires in results.items():
        assert [parse_message(w).message_number for w in wires] == list(range(50)), t

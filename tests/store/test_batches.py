"""The batch calls of the store: ``decrypt_many`` (keys.db), ``save_messages``,
``outbox_add_many`` and ``outbox_remove_many`` (messages.db). One commit each; a batch that
fails commits nothing."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from whatsapp_client._core import Decrypted, KeyStore, StoredMessage
from whatsapp_client.errors import (
    CryptoError,
    DuplicateMessageError,
    StorageError,
    ValidationError,
)

from .conftest import OpenStore, new_identity

_BLOCKER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("ROLLBACK")
"""


@contextlib.contextmanager
def _write_locked(db: Path) -> Iterator[None]:
    """Another process holds the database's write lock (SQLite's locks are per process, so
    the holder must be one): every commit of the store fails meanwhile."""
    child = subprocess.Popen(
        [sys.executable, "-c", _BLOCKER, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "locked"
        yield
    finally:
        assert child.stdin is not None
        child.communicate("\n", timeout=30)


def _pair(open_store: OpenStore) -> tuple[KeyStore, KeyStore]:
    alice = new_identity(open_store, "alice")
    bob = new_identity(open_store, "bob")
    opk = bob.generate_one_time_prekeys(1)[0].key_id
    alice.start_session("bob", bob.bundle(opk))
    return alice, bob


def _msg(i: int, direction: str = "out") -> StoredMessage:
    return StoredMessage(
        id=f"m{i}",
        peer_id="bob",
        from_user="me",
        to="bob",
        direction=direction,
        type="text",
        timestamp=1000 + i,
        content=f"body {i}".encode(),
        status="sent",
    )


def test_decrypt_many_results_per_message(open_store: OpenStore, tmp_path: Path) -> None:
    alice, bob = _pair(open_store)
    wires = alice.encrypt_many("bob", [b"one", b"two", b"three"], ["m1", "m2", "m3"])
    opks = bob.one_time_prekey_count()
    out = bob.decrypt_many(
        [
            ("alice", wires[0], "m1"),
            ("alice", "E2EE:{not json", "junk"),
            ("alice", wires[2], "m3"),
            ("alice", wires[2], "m3"),
            ("alice", wires[1], "m2"),
            ("alice", wires[0], "again"),
        ]
    )
    assert isinstance(out[0], Decrypted) and out[0].plaintext == b"one"
    assert isinstance(out[1], CryptoError)
    assert [getattr(r, "plaintext", None) for r in out[2:5]] == [b"three", b"three", b"two"]
    # The same wire under a new id is a replay: refused, and it changes nothing.
    assert isinstance(out[5], DuplicateMessageError)
    assert bob.one_time_prekey_count() == opks - 1
    bob.close()
    bob = open_store("bob")
    # Committed: the ids return their stored results after a restart.
    again = bob.decrypt_many([("alice", wires[1], "m2"), ("alice", wires[0], "m1")])
    assert [getattr(r, "plaintext", None) for r in again] == [b"two", b"one"]
    bob.forget_received(["m1", "m2", "m3"])
    with pytest.raises(DuplicateMessageError):
        bob.decrypt("alice", wires[0], message_id="m1")


def test_decrypt_many_that_fails_commits_nothing(open_store: OpenStore, tmp_path: Path) -> None:
    alice, bob = _pair(open_store)
    wires = alice.encrypt_many("bob", [b"x", b"y"])
    opks = bob.one_time_prekey_count()
    # (A bad id is a per-message error, not a failed batch: see test_poison.py.)
    # A database failure at commit: another connection holds the write lock of keys.db.
    with _write_locked(tmp_path / "bob" / "keys.db"), pytest.raises(StorageError):
        bob.decrypt_many([("alice", wires[0], "m1")])
    assert not bob.has_session("alice")
    assert bob.one_time_prekey_count() == opks
    out = bob.decrypt_many([("alice", wires[1], "m2"), ("alice", wires[0], "m1")])
    assert [getattr(r, "plaintext", None) for r in out] == [b"y", b"x"]


def test_history_and_outbox_batches(open_store: OpenStore) -> None:
    store = new_identity(open_store, "me")
    store.outbox_add_many([("m2", "bob", b"two", 20), ("m1", "bob", b"one", 10)])
    store.outbox_add_many([("m1", "bob", b"other", 5), ("m3", "carol", b"three", 30)])
    items = store.outbox()
    assert [(i.message_id, i.peer_id, i.payload) for i in items] == [
        ("m1", "bob", b"one"),
        ("m2", "bob", b"two"),
        ("m3", "carol", b"three"),
    ]
    assert store.save_message(_msg(0))
    assert store.save_messages([_msg(0), _msg(1), _msg(2, "in")]) == [False, True, True]
    assert store.save_messages([_msg(3)], remove_from_outbox=["m1", "m2"]) == [True]
    assert [i.message_id for i in store.outbox()] == ["m3"]
    assert [m.id for m in store.messages("bob")] == ["m3", "m2", "m1", "m0"]
    assert store.save_messages([]) == []
    store.outbox_remove_many(["m3", "absent"])
    assert store.outbox() == []


def test_history_and_outbox_batches_that_fail_commit_nothing(
    open_store: OpenStore, tmp_path: Path
) -> None:
    store = new_identity(open_store, "me")
    store.outbox_add_many([("o1", "bob", b"one", 10)])
    # (A bad history message is a per-message error: see test_poison.py.)
    with pytest.raises(ValidationError):
        store.outbox_add_many([("o2", "bob", b"two", 20), ("", "bob", b"bad", 30)])
    assert store.get_message("m1") is None
    assert [i.message_id for i in store.outbox()] == ["o1"]
    with _write_locked(tmp_path / "me" / "messages.db"):
        with pytest.raises(StorageError):
            store.save_messages([_msg(1)], remove_from_outbox=["o1"])
        with pytest.raises(StorageError):
            store.outbox_add_many([("o2", "bob", b"two", 20)])
        with pytest.raises(StorageError):
            store.outbox_remove_many(["o1"])
    assert store.get_message("m1") is None
    assert [i.message_id for i in store.outbox()] == ["o1"]

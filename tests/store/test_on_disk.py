"""What is on disk: the default Argon2id parameters are stored, and no plaintext, token or
key byte the Python layer knows appears in any file of the store (database, WAL, shm)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from whatsapp_client._core import KeyStore, StoredMessage

from .conftest import PASSWORD, OpenStore, new_identity


def test_default_kdf_parameters_are_stored(tmp_path: Path) -> None:
    # The one test that pays for Argon2id at 64 MiB, 3 passes, 1 lane.
    with KeyStore.open(str(tmp_path / "me"), PASSWORD) as store:
        store.create_identity()
    connection = sqlite3.connect(str(tmp_path / "me" / "keys.db"))
    try:
        row = connection.execute("SELECT value FROM meta WHERE name = 'kdf'").fetchone()
        salt = connection.execute("SELECT value FROM meta WHERE name = 'salt'").fetchone()
    finally:
        connection.close()
    params = json.loads(bytes(row[0]))
    assert params == {
        "algorithm": "argon2id",
        "version": 19,
        "memory_kib": 65536,
        "iterations": 3,
        "lanes": 1,
    }
    assert len(bytes(salt[0])) == 16


def _all_bytes(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in directory.iterdir() if p.is_file()}


def test_no_plaintext_token_or_key_in_any_file(open_store: OpenStore, tmp_path: Path) -> None:
    alice = new_identity(open_store, "alice")
    bob = new_identity(open_store, "bob")
    alice.start_session("bob", bob.bundle(bob.generate_one_time_prekeys(1)[0].key_id))
    markers = [f"PLAINTEXT-MARKER-{i:05d}-sphinx-of-black-quartz".encode() for i in range(200)]
    wires = alice.encrypt_many("bob", markers[:100], [f"b{i}" for i in range(100)])
    wires += [alice.encrypt("bob", m, message_id=f"s{i}") for i, m in enumerate(markers[100:])]
    for i, wire in enumerate(wires):
        assert bob.decrypt("alice", wire, message_id=f"r{i}").plaintext == markers[i]
    secrets = [b"TOKEN-MARKER-5f1d2c9a8b7e6d4c", b"SETTINGS-MARKER-0a1b2c3d4e5f"]
    bob.kv_set("token", secrets[0])
    bob.kv_set("settings", secrets[1])
    bob.outbox_add("o1", "alice", b"OUTBOX-MARKER-77aa88bb99cc", 1)
    bob.save_message(
        StoredMessage(
            id="h1",
            peer_id="alice",
            from_user="alice",
            to="bob",
            direction="in",
            type="text",
            timestamp=1,
            content=b"HISTORY-MARKER-1234567890ab",
        )
    )
    needles = [*markers, *secrets, b"OUTBOX-MARKER-77aa88bb99cc", b"HISTORY-MARKER-1234567890ab"]
    # The stores are still open, so the WAL files hold the latest commits.
    for name in ("alice", "bob"):
        files = _all_bytes(tmp_path / name)
        assert {"keys.db", "keys.db-wal", "messages.db"} <= set(files)
        for file_name, data in files.items():
            for needle in needles:
                assert needle not in data, f"{file_name} of {name} holds {needle!r}"
            # Wire strings are sealed too (they are kept for idempotent resends).
            for wire in wires[:5]:
                assert wire.encode()[5:60] not in data

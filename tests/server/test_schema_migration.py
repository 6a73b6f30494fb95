"""A database written by schema version 1 is upgraded in place at start."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import aiohttp
import pytest

from tests.server.helpers import call
from whatsapp_client.server.storage.schema import SCHEMA_VERSION, SchemaError
from whatsapp_client.server.testing import running_server

_V1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta VALUES ('schema_version', '1');
CREATE TABLE users (
    id TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE, password_hash BLOB NOT NULL,
    created_at INTEGER NOT NULL, last_seen INTEGER, pending_count INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE messages (
    seq INTEGER PRIMARY KEY, sender TEXT NOT NULL, id TEXT NOT NULL, recipient TEXT NOT NULL,
    content TEXT, timestamp INTEGER NOT NULL, status TEXT NOT NULL, UNIQUE (sender, id)
);
INSERT INTO users VALUES ('u1', 'alice', x'00', 0, NULL, 2), ('u2', 'bob', x'00', 0, NULL, 0);
INSERT INTO messages VALUES
    (1, 'u2', 'm1', 'u1', 'h\u00e9llo', 1, 'sent'),
    (2, 'u2', 'm2', 'u1', 'abc', 2, 'sent'),
    (3, 'u2', 'm3', 'u1', NULL, 3, 'delivered');
"""


def _make_v1(data: Path) -> Path:
    data.mkdir(mode=0o700)
    db = data / "server.sqlite3"
    conn = sqlite3.connect(db)
    conn.executescript(_V1)
    conn.close()
    db.chmod(0o600)
    return db


async def test_version_1_is_upgraded_with_pending_bytes(tmp_path: Path) -> None:
    db = _make_v1(tmp_path / "data")
    async with running_server(str(tmp_path / "data")) as server, aiohttp.ClientSession() as http:
        status, _ = await call(http, "GET", f"{server.url}/ready")
        assert status == 200
    conn = sqlite3.connect(db)
    try:
        version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        assert int(version[0]) == SCHEMA_VERSION == 3
        rows = dict(conn.execute("SELECT id, pending_bytes FROM users").fetchall())
        assert rows == {"u1": len("h\u00e9llo".encode()) + 3, "u2": 0}
        assert conn.execute("SELECT count(*) FROM attachments").fetchone()[0] == 0
    finally:
        conn.close()


async def test_a_newer_database_is_refused(tmp_path: Path) -> None:
    db = _make_v1(tmp_path / "data")
    conn = sqlite3.connect(db)
    conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(SchemaError, match="upgrade the server"):
        async with running_server(str(tmp_path / "data")):
            pass

"""A version 1 database (before operator accounts) is migrated in place: users, tokens and
browser sessions are added, sessions and keys gain an owner (the first admin), and
everything that was there is kept and still works."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from tests.gateway._accounts_support import ADMIN_EMAIL, ADMIN_PASSWORD, close_browsers, login
from tests.gateway._accounts_v1_schema import V1_SCHEMA
from tests.gateway._api_support import running_gateway
from whatsapp_client.gateway._auth import generate_key, hash_key
from whatsapp_client.gateway._sqlite import DB_FILE
from whatsapp_client.gateway._sqlite_schema import SCHEMA_VERSION


def _version_1_database(data: Path, key: str) -> None:
    data.mkdir(mode=0o700, parents=True)
    conn = sqlite3.connect(data / DB_FILE)
    try:
        conn.executescript(V1_SCHEMA)
        conn.execute(
            "INSERT INTO sessions (id, name, engine, config, status, running, "
            "rate_limit_per_minute, created_at, credentials) "
            "VALUES ('ses_old', 'old one', 'wac1', '{}', 'stopped', 0, 50, 1, x'00')"
        )
        conn.execute(
            "INSERT INTO messages (id, session_id, direction, peer, type, status, timestamp, body)"
            " VALUES ('msg_old', 'ses_old', 'outbound', 'bob', 'text', 'sent', 2, x'00')"
        )
        conn.execute(
            "INSERT INTO api_keys (id, name, scope, key_hash, prefix, created_at) "
            "VALUES ('key_old', 'old key', 'read', ?, 'wag_ol', 1)",
            (hash_key(key),),
        )
        conn.execute("PRAGMA user_version = 1")
        conn.commit()
    finally:
        conn.close()


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


async def test_a_version_1_database_is_migrated_in_place(tmp_path: Path) -> None:
    data = tmp_path / "gw"
    old_key = generate_key()
    _version_1_database(data, old_key)
    async with running_gateway(
        data, api_keys=None, admin_email=ADMIN_EMAIL, admin_password=ADMIN_PASSWORD
    ) as gw:
        assert gw.announced == []  # a key existed: no first-start key
        _, admin = await login(gw, ADMIN_EMAIL, ADMIN_PASSWORD)
        assert admin is not None
        # The old session and key now belong to the first admin, and the key still works.
        sessions = await admin.bearer("GET", "/api/v1/sessions")
        assert [(s["id"], s["owner_id"]) for s in sessions.body["sessions"]] == [
            ("ses_old", admin.id)
        ]
        keys = await admin.bearer("GET", "/api/v1/keys")
        assert [(k["id"], k["user_id"]) for k in keys.body["keys"]] == [("key_old", admin.id)]
        seen = await gw.call("GET", "/api/v1/sessions/ses_old", key=old_key)
        assert seen.status == 200 and seen.body["name"] == "old one"
        await close_browsers(gw)
    conn = sqlite3.connect(data / DB_FILE)
    try:
        (version,) = conn.execute("PRAGMA user_version").fetchone()
        assert version == SCHEMA_VERSION == 3
        assert {"owner_id", "lease_owner", "lease_until"} <= _columns(conn, "sessions")
        assert {"claim_owner", "claim_until"} <= _columns(conn, "webhooks")
        assert "user_id" in _columns(conn, "api_keys")
        for table in ("users", "refresh_tokens", "browser_sessions"):
            assert _columns(conn, table), table
        assert conn.execute("SELECT COUNT(*) FROM messages").fetchone() == (1,)
    finally:
        conn.close()


async def test_a_migrated_database_opens_again_unchanged(tmp_path: Path) -> None:
    data = tmp_path / "gw"
    _version_1_database(data, generate_key())
    settings: dict[str, Any] = {
        "api_keys": None,
        "admin_email": ADMIN_EMAIL,
        "admin_password": ADMIN_PASSWORD,
    }
    async with running_gateway(data, **settings) as gw:
        users = (await gw.call("GET", "/api/v1/users", key=None)).status
        assert users == 401
    async with running_gateway(data, **settings) as gw:
        _, admin = await login(gw, ADMIN_EMAIL, ADMIN_PASSWORD)
        assert admin is not None
        listed = await admin.bearer("GET", "/api/v1/users")
        assert [u["email"] for u in listed.body["users"]] == [ADMIN_EMAIL]  # not made twice
        await close_browsers(gw)

"""SQLite schema. Content of a direct message is kept only until its recipient acknowledges it.

``seq`` columns are plain rowids (AUTOINCREMENT costs a write per insert). A new rowid is
always above every existing one, so ``seq`` orders the rows present by insertion, which
is all the queues need.
"""

from __future__ import annotations

import sqlite3

# 1: initial; 2: users.pending_bytes (the per-recipient content quota); 3: attachments.
SCHEMA_VERSION = 3

DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen INTEGER,
    pending_count INTEGER NOT NULL DEFAULT 0,
    pending_bytes INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS tokens (
    token_hash BLOB PRIMARY KEY,
    user_id TEXT NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tokens_user ON tokens(user_id);
CREATE TABLE IF NOT EXISTS identities (
    user_id TEXT PRIMARY KEY,
    identity_key BLOB NOT NULL,
    signing_key BLOB NOT NULL,
    spk_id INTEGER NOT NULL,
    spk_public BLOB NOT NULL,
    spk_signature BLOB NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS one_time_prekeys (
    user_id TEXT NOT NULL,
    key_id INTEGER NOT NULL,
    public_key BLOB NOT NULL,
    PRIMARY KEY (user_id, key_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS verifications (
    user_id TEXT NOT NULL,
    peer_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    verified INTEGER NOT NULL,
    verified_at INTEGER,
    PRIMARY KEY (user_id, peer_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY,
    sender TEXT NOT NULL,
    id TEXT NOT NULL,
    recipient TEXT NOT NULL,
    content TEXT,
    timestamp INTEGER NOT NULL,
    status TEXT NOT NULL,
    UNIQUE (sender, id)
);
CREATE INDEX IF NOT EXISTS messages_pending ON messages(recipient, seq) WHERE content IS NOT NULL;
CREATE INDEX IF NOT EXISTS messages_recipient_id ON messages(recipient, id);
CREATE TABLE IF NOT EXISTS status_queue (
    seq INTEGER PRIMARY KEY,
    user_id TEXT NOT NULL,
    payload BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS status_queue_user ON status_queue(user_id, seq);
CREATE TABLE IF NOT EXISTS groups (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS group_members (
    group_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    role TEXT NOT NULL,
    joined_at INTEGER NOT NULL,
    PRIMARY KEY (group_id, user_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS group_members_user ON group_members(user_id);
CREATE TABLE IF NOT EXISTS group_messages (
    seq INTEGER PRIMARY KEY,
    group_id TEXT NOT NULL,
    sender TEXT NOT NULL,
    id TEXT NOT NULL,
    content TEXT NOT NULL,
    timestamp INTEGER NOT NULL,
    UNIQUE (sender, id)
);
CREATE INDEX IF NOT EXISTS group_messages_by_time ON group_messages(group_id, timestamp, seq);
CREATE TABLE IF NOT EXISTS attachments (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL,
    size INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS attachments_owner ON attachments(owner_id);
CREATE INDEX IF NOT EXISTS attachments_expiry ON attachments(expires_at);
"""

# Statements that bring a database of version N-1 to version N. Tables and indexes that
# are new in a version need none: the DDL above creates whatever is missing.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    2: (
        "ALTER TABLE users ADD COLUMN pending_bytes INTEGER NOT NULL DEFAULT 0",
        "UPDATE users SET pending_bytes = (SELECT coalesce(sum(length(CAST(content AS BLOB))), 0)"
        " FROM messages WHERE recipient = users.id AND content IS NOT NULL)",
    ),
    3: (),
}


class SchemaError(RuntimeError):
    """The database was written by a newer version of the server."""


def migrate(conn: sqlite3.Connection) -> int:
    """Create or upgrade the schema in one transaction; returns the version found before."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        found = int(row[0]) if row is not None else 0
        if found > SCHEMA_VERSION:
            raise SchemaError(
                f"the database has schema version {found}; this server knows up to"
                f" {SCHEMA_VERSION}: upgrade the server"
            )
        if found:
            for version in range(found + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[version]:
                    conn.execute(statement)
        for statement in DDL.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
            (str(SCHEMA_VERSION),),
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return found

"""The gateway's SQLite schema and connections.

Secret columns are BLOBs sealed with the vault (see :mod:`._codec`); everything a
query filters on (ids, status, type, peer, times) is in clear. Foreign keys with ``ON DELETE
CASCADE`` make ``delete_session`` one statement. ``queue_depth`` on the session row keeps
the queue bound and the position O(1) per enqueue.
"""

from __future__ import annotations

import sqlite3

from whatsapp_client.gateway._codec import Codec, key_check

SCHEMA_VERSION = 3

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    engine TEXT NOT NULL,
    config TEXT NOT NULL,
    status TEXT NOT NULL,
    status_reason TEXT,
    running INTEGER NOT NULL,
    rate_limit_per_minute INTEGER NOT NULL,
    user_id TEXT,
    created_at INTEGER NOT NULL,
    last_activity_at INTEGER,
    sent INTEGER NOT NULL DEFAULT 0,
    received INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    queue_depth INTEGER NOT NULL DEFAULT 0,
    credentials BLOB NOT NULL,
    owner_id TEXT,
    lease_owner TEXT,
    lease_until INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS webhooks (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    secrets BLOB NOT NULL,
    enabled INTEGER NOT NULL,
    disabled_reason TEXT,
    created_at INTEGER NOT NULL,
    claim_owner TEXT,
    claim_until INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS webhooks_session ON webhooks(session_id, position);

CREATE TABLE IF NOT EXISTS messages (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    direction TEXT NOT NULL,
    peer TEXT NOT NULL,
    sender TEXT,
    group_id TEXT,
    type TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    timestamp INTEGER NOT NULL,
    engine_message_id TEXT,
    body BLOB NOT NULL,
    UNIQUE (session_id, id)
);
CREATE INDEX IF NOT EXISTS messages_newest ON messages(session_id, timestamp, rowid);
CREATE INDEX IF NOT EXISTS messages_engine
    ON messages(session_id, engine_message_id) WHERE engine_message_id IS NOT NULL;
-- Received messages are duplicates by (sender, message id), never by id alone.
CREATE UNIQUE INDEX IF NOT EXISTS messages_inbound_once
    ON messages(session_id, sender, engine_message_id)
    WHERE direction = 'inbound' AND engine_message_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS queue (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    message_id TEXT NOT NULL,
    request BLOB NOT NULL,
    attempts INTEGER NOT NULL,
    enqueued_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS queue_session ON queue(session_id, seq);

CREATE TABLE IF NOT EXISTS idempotency (
    scope TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    status INTEGER NOT NULL,
    body BLOB NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS idempotency_expiry ON idempotency(expires_at);

CREATE TABLE IF NOT EXISTS media (
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    media_id TEXT NOT NULL,
    info BLOB NOT NULL,
    sealed_keys BLOB NOT NULL,
    PRIMARY KEY (session_id, media_id)
);

CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    timestamp INTEGER NOT NULL,
    data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS events_session ON events(session_id);

CREATE TABLE IF NOT EXISTS deliveries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint_id TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    event_id TEXT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    last_status INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    finished_at INTEGER
);
CREATE INDEX IF NOT EXISTS deliveries_head ON deliveries(endpoint_id, state, seq);
CREATE INDEX IF NOT EXISTS deliveries_session ON deliveries(session_id, seq);
CREATE INDEX IF NOT EXISTS deliveries_event ON deliveries(event_id);

CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    scope TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    session_ids TEXT,
    expires_at INTEGER,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER,
    user_id TEXT
);
"""

# Version 2 (operator accounts): users, refresh tokens, browser sessions; the owner of a
# session and of an API key. A version 1 database gains the two columns in place.
_UPGRADE_1_TO_2 = """
ALTER TABLE sessions ADD COLUMN owner_id TEXT;
ALTER TABLE api_keys ADD COLUMN user_id TEXT;
"""
# Version 3 (several processes, see _lease_store): the lease of a session and the claim of
# a webhook endpoint (owner process, and until when, in ms).
_UPGRADE_2_TO_3 = """
ALTER TABLE sessions ADD COLUMN lease_owner TEXT;
ALTER TABLE sessions ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;
ALTER TABLE webhooks ADD COLUMN claim_owner TEXT;
ALTER TABLE webhooks ADD COLUMN claim_until INTEGER NOT NULL DEFAULT 0;
"""
_SCHEMA_LEASES = """
CREATE INDEX IF NOT EXISTS sessions_lease ON sessions(lease_owner);
CREATE INDEX IF NOT EXISTS webhooks_claim ON webhooks(claim_owner);
"""
_SCHEMA_ACCOUNTS = """
CREATE INDEX IF NOT EXISTS sessions_owner ON sessions(owner_id);
CREATE INDEX IF NOT EXISTS api_keys_user ON api_keys(user_id);

CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    must_change_password INTEGER NOT NULL,
    disabled INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    last_login_at INTEGER,
    password_changed_at INTEGER NOT NULL DEFAULT 0
);

-- Only hashes of refresh tokens and browser session ids are kept.
CREATE TABLE IF NOT EXISTS refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    family_id TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS refresh_tokens_family ON refresh_tokens(family_id);
CREATE INDEX IF NOT EXISTS refresh_tokens_user ON refresh_tokens(user_id);

CREATE TABLE IF NOT EXISTS browser_sessions (
    id_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS browser_sessions_user ON browser_sessions(user_id);
"""


def connect(path: str, synchronous: str) -> sqlite3.Connection:
    """A connection in autocommit mode (the writer issues BEGIN/COMMIT itself)."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
    # Deleted rows are zeroed on disk: an erased session leaves no sealed remains.
    conn.execute("PRAGMA secure_delete=ON")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def migrate(conn: sqlite3.Connection) -> None:
    """Creates the schema, or refuses a database written by a newer gateway."""
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    if version > SCHEMA_VERSION:
        raise RuntimeError(
            f"the gateway database has schema version {version}; this gateway knows up to "
            f"{SCHEMA_VERSION}: upgrade the gateway"
        )
    # An older database gains the new columns before the schema (and its indexes on
    # them) is applied; all in one transaction, so a crash leaves the old version intact.
    upgrade = (_UPGRADE_1_TO_2 if version == 1 else "") + (
        _UPGRADE_2_TO_3 if version in (1, 2) else ""
    )
    conn.executescript(
        "BEGIN IMMEDIATE;"
        + upgrade
        + _SCHEMA
        + _SCHEMA_ACCOUNTS
        + _SCHEMA_LEASES
        + f"PRAGMA user_version={SCHEMA_VERSION};COMMIT;"
    )


def check_key(conn: sqlite3.Connection, codec: Codec, path: str) -> None:
    """Refuses at once a master key other than the one the database was written with
    (rather than at the first sealed field, after the sessions started)."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'vault_check'").fetchone()
    new = key_check(codec, None if row is None else row[0], path)
    if new is not None:
        conn.execute("INSERT INTO meta (key, value) VALUES ('vault_check', ?)", (new,))

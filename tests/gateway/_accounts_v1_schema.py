"""The gateway database schema at version 1 (before operator accounts), verbatim, so the
migration test starts from what an upgraded installation has on disk."""

V1_SCHEMA = """
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
    credentials BLOB NOT NULL
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
    created_at INTEGER NOT NULL
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
    last_used_at INTEGER
);
"""

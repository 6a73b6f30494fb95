"""The gateway's PostgreSQL schema, as numbered migrations applied at start under an
advisory lock.

The same tables as the SQLite schema (``_sqlite_schema``): sealed columns are ``BYTEA``
(see :mod:`._codec`), what a query filters on is in clear, foreign keys cascade so that
``delete_session`` is one statement. Several gateways may start at once on an empty
database: each takes the same session-level advisory lock, so one applies what is missing
while the others wait, then find nothing left to do. ``gateway_schema_migrations`` records
each version applied; a database with a version this gateway does not know is refused.

Give the gateway a database of its own: its table names (``users``, ``messages``) are the
reference server's too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from whatsapp_client.gateway._codec import Codec, key_check
from whatsapp_client.gateway._database import DatabaseUnavailable

if TYPE_CHECKING:
    import asyncpg

# Any constant unique to the gateway (the reference server uses another one).
ADVISORY_LOCK_KEY = 0x57AC1_6A7E

MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """CREATE TABLE sessions (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            engine TEXT NOT NULL,
            config TEXT NOT NULL,
            status TEXT NOT NULL,
            status_reason TEXT,
            running BOOLEAN NOT NULL,
            rate_limit_per_minute INTEGER NOT NULL,
            user_id TEXT,
            created_at BIGINT NOT NULL,
            last_activity_at BIGINT,
            sent BIGINT NOT NULL DEFAULT 0,
            received BIGINT NOT NULL DEFAULT 0,
            failed BIGINT NOT NULL DEFAULT 0,
            queue_depth INTEGER NOT NULL DEFAULT 0,
            credentials BYTEA NOT NULL,
            owner_id TEXT
        )""",
        "CREATE INDEX sessions_owner ON sessions(owner_id)",
        """CREATE TABLE webhooks (
            id TEXT PRIMARY KEY,
            session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            url TEXT NOT NULL,
            events TEXT NOT NULL,
            secrets BYTEA NOT NULL,
            enabled BOOLEAN NOT NULL,
            disabled_reason TEXT,
            created_at BIGINT NOT NULL
        )""",
        "CREATE INDEX webhooks_session ON webhooks(session_id, position)",
        """CREATE TABLE messages (
            row_seq BIGSERIAL PRIMARY KEY,
            id TEXT NOT NULL,
            session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            direction TEXT NOT NULL,
            peer TEXT NOT NULL,
            sender TEXT,
            group_id TEXT,
            type TEXT NOT NULL,
            status TEXT NOT NULL,
            reason TEXT,
            timestamp BIGINT NOT NULL,
            engine_message_id TEXT,
            body BYTEA NOT NULL,
            UNIQUE (session_id, id)
        )""",
        "CREATE INDEX messages_newest ON messages(session_id, timestamp, row_seq)",
        "CREATE INDEX messages_engine ON messages(session_id, engine_message_id)"
        " WHERE engine_message_id IS NOT NULL",
        # Received messages are duplicates by (sender, message id), never by id alone.
        "CREATE UNIQUE INDEX messages_inbound_once ON messages(session_id, sender,"
        " engine_message_id) WHERE direction = 'inbound' AND engine_message_id IS NOT NULL",
        """CREATE TABLE queue (
            seq BIGSERIAL PRIMARY KEY,
            session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            message_id TEXT NOT NULL,
            request BYTEA NOT NULL,
            attempts INTEGER NOT NULL,
            enqueued_at BIGINT NOT NULL
        )""",
        "CREATE INDEX queue_session ON queue(session_id, seq)",
        """CREATE TABLE idempotency (
            scope TEXT PRIMARY KEY,
            session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            status INTEGER NOT NULL,
            body BYTEA NOT NULL,
            expires_at BIGINT NOT NULL
        )""",
        "CREATE INDEX idempotency_expiry ON idempotency(expires_at)",
        "CREATE INDEX idempotency_session ON idempotency(session_id)",
        """CREATE TABLE media (
            session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            media_id TEXT NOT NULL,
            info BYTEA NOT NULL,
            sealed_keys BYTEA NOT NULL,
            PRIMARY KEY (session_id, media_id)
        )""",
        """CREATE TABLE events (
            id TEXT PRIMARY KEY,
            session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            type TEXT NOT NULL,
            timestamp BIGINT NOT NULL,
            data BYTEA NOT NULL
        )""",
        "CREATE INDEX events_session ON events(session_id)",
        "CREATE INDEX events_timestamp ON events(timestamp)",
        """CREATE TABLE deliveries (
            seq BIGSERIAL PRIMARY KEY,
            endpoint_id TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
            session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            event_id TEXT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
            state TEXT NOT NULL,
            attempts INTEGER NOT NULL,
            next_attempt_at BIGINT NOT NULL,
            last_status INTEGER,
            last_error TEXT,
            created_at BIGINT NOT NULL,
            finished_at BIGINT
        )""",
        "CREATE INDEX deliveries_head ON deliveries(endpoint_id, state, seq)",
        "CREATE INDEX deliveries_session ON deliveries(session_id, seq)",
        "CREATE INDEX deliveries_event ON deliveries(event_id)",
        "CREATE INDEX deliveries_finished ON deliveries(finished_at)"
        " WHERE state IN ('delivered', 'dead')",
        """CREATE TABLE api_keys (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            scope TEXT NOT NULL,
            key_hash TEXT NOT NULL UNIQUE,
            prefix TEXT NOT NULL,
            session_ids TEXT,
            expires_at BIGINT,
            created_at BIGINT NOT NULL,
            last_used_at BIGINT,
            user_id TEXT
        )""",
        "CREATE INDEX api_keys_user ON api_keys(user_id)",
        """CREATE TABLE users (
            id TEXT PRIMARY KEY,
            email TEXT NOT NULL,
            role TEXT NOT NULL,
            password_hash TEXT NOT NULL,
            must_change_password BOOLEAN NOT NULL,
            disabled BOOLEAN NOT NULL,
            created_at BIGINT NOT NULL,
            last_login_at BIGINT,
            password_changed_at BIGINT NOT NULL DEFAULT 0
        )""",
        # Emails are unique case-insensitively (SQLite: COLLATE NOCASE).
        "CREATE UNIQUE INDEX users_email ON users(lower(email))",
        # Only hashes of refresh tokens and browser session ids are kept.
        """CREATE TABLE refresh_tokens (
            token_hash TEXT PRIMARY KEY,
            family_id TEXT NOT NULL,
            user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            used_at BIGINT,
            revoked BOOLEAN NOT NULL DEFAULT FALSE
        )""",
        "CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id)",
        "CREATE INDEX refresh_tokens_user ON refresh_tokens(user_id)",
        "CREATE INDEX refresh_tokens_expiry ON refresh_tokens(expires_at)",
        """CREATE TABLE browser_sessions (
            id_hash TEXT PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            csrf_hash TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL
        )""",
        "CREATE INDEX browser_sessions_user ON browser_sessions(user_id)",
        "CREATE INDEX browser_sessions_expiry ON browser_sessions(expires_at)",
    ),
    # Several processes (see _lease_store): the lease of a session and the claim of a
    # webhook endpoint (owner process, and until when, in ms).
    2: (
        "ALTER TABLE sessions ADD COLUMN lease_owner TEXT",
        "ALTER TABLE sessions ADD COLUMN lease_until BIGINT NOT NULL DEFAULT 0",
        "ALTER TABLE webhooks ADD COLUMN claim_owner TEXT",
        "ALTER TABLE webhooks ADD COLUMN claim_until BIGINT NOT NULL DEFAULT 0",
        "CREATE INDEX sessions_lease ON sessions(lease_owner)",
        "CREATE INDEX webhooks_claim ON webhooks(claim_owner)",
    ),
}

SCHEMA_VERSION = max(MIGRATIONS)


class PgSchemaError(DatabaseUnavailable):
    """The database was migrated by a newer gateway."""


async def migrate(conn: asyncpg.Connection) -> int:
    """Applies the missing migrations (each in its own transaction); returns the version
    found before. ``PgSchemaError`` for a database of a newer gateway (nothing changed)."""
    await conn.execute("SELECT pg_advisory_lock($1)", ADVISORY_LOCK_KEY)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS gateway_schema_migrations"
            " (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        found = int(
            await conn.fetchval("SELECT coalesce(max(version), 0) FROM gateway_schema_migrations")
            or 0
        )
        if found > SCHEMA_VERSION:
            raise PgSchemaError(
                f"the gateway database has schema version {found}; this gateway knows up to"
                f" {SCHEMA_VERSION}: upgrade the gateway"
            )
        for version in range(found + 1, SCHEMA_VERSION + 1):
            async with conn.transaction():
                for statement in MIGRATIONS[version]:
                    await conn.execute(statement)
                await conn.execute(
                    "INSERT INTO gateway_schema_migrations (version) VALUES ($1)", version
                )
        return found
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", ADVISORY_LOCK_KEY)


async def check_key(conn: asyncpg.Connection, codec: Codec, where: str) -> None:
    """Refuses at once a master key other than the one the database was written with."""
    stored = await conn.fetchval("SELECT value FROM meta WHERE key = 'vault_check'")
    new = key_check(codec, stored, where)
    if new is not None:
        # Two gateways opening a new database at once: the first check stored wins.
        await conn.execute(
            "INSERT INTO meta (key, value) VALUES ('vault_check', $1) ON CONFLICT DO NOTHING",
            new,
        )
        stored = await conn.fetchval("SELECT value FROM meta WHERE key = 'vault_check'")
        key_check(codec, stored, where)

"""PostgreSQL schema, as numbered migrations applied at start under an advisory lock.

Several server processes may start at once on an empty database: each takes the same
session-level advisory lock, so one applies what is missing while the others wait, then
find nothing left to do. ``schema_migrations`` records each version applied.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from whatsapp_client.server.storage import pg_functions, pg_functions_v2

if TYPE_CHECKING:
    import asyncpg

# Any constant unique to this application; two apps sharing a database must differ.
ADVISORY_LOCK_KEY = 0x57AC1_5E4

MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """CREATE TABLE users (
            id TEXT PRIMARY KEY,
            username TEXT NOT NULL UNIQUE,
            password_hash BYTEA NOT NULL,
            created_at BIGINT NOT NULL,
            last_seen BIGINT,
            pending_count BIGINT NOT NULL DEFAULT 0,
            pending_bytes BIGINT NOT NULL DEFAULT 0
        )""",
        """CREATE TABLE tokens (
            token_hash BYTEA PRIMARY KEY,
            user_id TEXT NOT NULL,
            created_at BIGINT NOT NULL
        )""",
        "CREATE INDEX tokens_user ON tokens(user_id)",
        """CREATE TABLE identities (
            user_id TEXT PRIMARY KEY,
            identity_key BYTEA NOT NULL,
            signing_key BYTEA NOT NULL,
            spk_id BIGINT NOT NULL,
            spk_public BYTEA NOT NULL,
            spk_signature BYTEA NOT NULL,
            updated_at BIGINT NOT NULL
        )""",
        """CREATE TABLE one_time_prekeys (
            user_id TEXT NOT NULL,
            key_id BIGINT NOT NULL,
            public_key BYTEA NOT NULL,
            PRIMARY KEY (user_id, key_id)
        )""",
        """CREATE TABLE verifications (
            user_id TEXT NOT NULL,
            peer_id TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            verified BOOLEAN NOT NULL,
            verified_at BIGINT,
            PRIMARY KEY (user_id, peer_id)
        )""",
        """CREATE TABLE messages (
            seq BIGSERIAL PRIMARY KEY,
            sender TEXT NOT NULL,
            id TEXT NOT NULL,
            recipient TEXT NOT NULL,
            content TEXT,
            timestamp BIGINT NOT NULL,
            status TEXT NOT NULL,
            UNIQUE (sender, id)
        )""",
        "CREATE INDEX messages_pending ON messages(recipient, seq) WHERE content IS NOT NULL",
        "CREATE INDEX messages_recipient_id ON messages(recipient, id)",
        """CREATE TABLE status_queue (
            seq BIGSERIAL PRIMARY KEY,
            user_id TEXT NOT NULL,
            payload BYTEA NOT NULL
        )""",
        "CREATE INDEX status_queue_user ON status_queue(user_id, seq)",
        """CREATE TABLE groups (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            description TEXT NOT NULL,
            owner_id TEXT NOT NULL,
            created_at BIGINT NOT NULL
        )""",
        """CREATE TABLE group_members (
            group_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            role TEXT NOT NULL,
            joined_at BIGINT NOT NULL,
            PRIMARY KEY (group_id, user_id)
        )""",
        "CREATE INDEX group_members_user ON group_members(user_id)",
        """CREATE TABLE group_messages (
            seq BIGSERIAL PRIMARY KEY,
            group_id TEXT NOT NULL,
            sender TEXT NOT NULL,
            id TEXT NOT NULL,
            content TEXT NOT NULL,
            timestamp BIGINT NOT NULL,
            UNIQUE (sender, id)
        )""",
        "CREATE INDEX group_messages_by_time ON group_messages(group_id, timestamp, seq)",
        """CREATE TABLE attachments (
            id TEXT PRIMARY KEY,
            owner_id TEXT NOT NULL,
            size BIGINT NOT NULL,
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL
        )""",
        "CREATE INDEX attachments_owner ON attachments(owner_id)",
        "CREATE INDEX attachments_expiry ON attachments(expires_at)",
    ),
    # Storing and acknowledging direct messages in one round trip each.
    2: (pg_functions_v2.STORE_MESSAGES, pg_functions_v2.ACKNOWLEDGE),
    # The same, set-based: a few statements per batch instead of a few per message.
    3: (pg_functions.RENAME_STORE_LOOP, pg_functions.STORE_MESSAGES, pg_functions.ACKNOWLEDGE),
}

SCHEMA_VERSION = max(MIGRATIONS)


class PgSchemaError(RuntimeError):
    """The database was migrated by a newer version of the server."""


async def migrate(conn: asyncpg.Connection) -> int:
    """Apply the missing migrations (each in its own transaction); the version found before."""
    await conn.execute("SELECT pg_advisory_lock($1)", ADVISORY_LOCK_KEY)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations"
            " (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        found = int(
            await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_migrations") or 0
        )
        if found > SCHEMA_VERSION:
            raise PgSchemaError(
                f"the database has schema version {found}; this server knows up to"
                f" {SCHEMA_VERSION}: upgrade the server"
            )
        for version in range(found + 1, SCHEMA_VERSION + 1):
            async with conn.transaction():
                for statement in MIGRATIONS[version]:
                    await conn.execute(statement)
                await conn.execute("INSERT INTO schema_migrations (version) VALUES ($1)", version)
        return found
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", ADVISORY_LOCK_KEY)

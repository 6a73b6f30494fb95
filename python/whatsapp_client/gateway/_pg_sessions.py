"""Sessions, webhook endpoints, API keys, media records, idempotent answers and the ping on
PostgreSQL (asyncpg connections, in the caller's transaction).

Checks that precede a write lock the session's row (``FOR UPDATE`` / ``FOR SHARE``), so a
session deleted by another gateway process meanwhile is seen, never half-written to.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Optional

from whatsapp_client.gateway._codec import (
    KEY_COLUMNS,
    SESSION_COLUMNS,
    WEBHOOK_COLUMNS,
    Codec,
    api_key,
    encode_json,
)
from whatsapp_client.gateway._errors import Conflict, NotFound
from whatsapp_client.gateway._ids import now_ms
from whatsapp_client.gateway._models import (
    ApiKeyRecord,
    Event,
    IdempotentAnswer,
    MediaInfo,
    SessionRecord,
    SessionStatus,
    WebhookEndpoint,
)
from whatsapp_client.gateway._pg_events import fan_out, row_count

if TYPE_CHECKING:
    from asyncpg import Connection

# The fields update_session may change (column names are never taken from input).
SESSION_FIELDS = frozenset({"name", "rate_limit_per_minute", "running", "user_id"})


async def ping(conn: Connection) -> None:
    """A write that touches no record (``/ready``: the database can be written)."""
    await conn.execute(
        "INSERT INTO meta (key, value) VALUES ('ping', $1)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        str(now_ms()),
    )


async def create_session(
    conn: Connection,
    codec: Codec,
    s: SessionRecord,
    credentials: bytes,
    webhooks: Sequence[WebhookEndpoint],
) -> None:
    for w in webhooks:  # refused before anything is written
        if w.session_id != s.id:
            raise ValueError(f"endpoint {w.id} belongs to session {w.session_id}")
    if await conn.fetchval("SELECT 1 FROM sessions WHERE name = $1", s.name):
        raise Conflict(f"a session named {s.name!r} already exists")
    if await conn.fetchval("SELECT 1 FROM sessions WHERE id = $1", s.id):
        raise Conflict(f"a session with id {s.id!r} already exists")
    inserted = await conn.fetchval(
        f"INSERT INTO sessions ({SESSION_COLUMNS}, credentials) "  # noqa: S608
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
        " ON CONFLICT DO NOTHING RETURNING id",
        s.id,
        s.name,
        s.engine,
        encode_json(s.config),
        s.status,
        s.status_reason,
        s.running,
        s.rate_limit_per_minute,
        s.user_id,
        s.created_at,
        s.last_activity_at,
        s.counters.sent,
        s.counters.received,
        s.counters.failed,
        s.owner_id,
        codec.seal(credentials, "sessions", s.id, "credentials"),
    )
    if inserted is None:  # created by another gateway process since the checks
        raise Conflict(f"a session named {s.name!r} already exists")
    await _insert_webhooks(conn, codec, s.id, webhooks, start=0)


async def get_session(conn: Connection, codec: Codec, session_id: str) -> Optional[SessionRecord]:
    row = await conn.fetchrow(
        f"SELECT {SESSION_COLUMNS} FROM sessions WHERE id = $1",  # noqa: S608
        session_id,
    )
    return None if row is None else codec.session(row)


async def list_sessions(conn: Connection, codec: Codec) -> list[SessionRecord]:
    sql = f"SELECT {SESSION_COLUMNS} FROM sessions ORDER BY created_at, id"  # noqa: S608
    return [codec.session(r) for r in await conn.fetch(sql)]


async def get_credentials(conn: Connection, codec: Codec, session_id: str) -> bytes:
    blob = await conn.fetchval("SELECT credentials FROM sessions WHERE id = $1", session_id)
    if blob is None:
        raise NotFound(f"no session {session_id}")
    return codec.open(bytes(blob), "sessions", session_id, "credentials")


async def update_session(
    conn: Connection, codec: Codec, session_id: str, changes: dict[str, object]
) -> SessionRecord:
    unknown = set(changes) - SESSION_FIELDS
    if unknown:
        raise ValueError(f"unknown session fields {sorted(unknown)}")
    found = await conn.fetchval("SELECT name FROM sessions WHERE id = $1 FOR UPDATE", session_id)
    if found is None:
        raise NotFound(f"no session {session_id}")
    name = changes.get("name")
    taken = "SELECT 1 FROM sessions WHERE name = $1"
    if name is not None and name != found and await conn.fetchval(taken, name):
        raise Conflict(f"a session named {name!r} already exists")
    if changes:
        sets = ", ".join(f"{column} = ${i}" for i, column in enumerate(changes, 2))
        await conn.execute(
            f"UPDATE sessions SET {sets} WHERE id = $1",  # noqa: S608  (fixed names)
            session_id,
            *changes.values(),
        )
    updated = await get_session(conn, codec, session_id)
    assert updated is not None
    return updated


async def set_session_status(
    conn: Connection,
    codec: Codec,
    session_id: str,
    status: SessionStatus,
    reason: Optional[str],
    event: Optional[Event],
) -> None:
    status_line = await conn.execute(
        "UPDATE sessions SET status = $1, status_reason = $2 WHERE id = $3",
        status,
        reason,
        session_id,
    )
    # A session deleted meanwhile: nothing to record (its runner is stopping).
    if row_count(status_line) and event is not None:
        await fan_out(conn, codec, event)


async def touch_sessions(conn: Connection, touches: dict[str, int]) -> None:
    await conn.executemany(
        "UPDATE sessions SET last_activity_at = greatest(coalesce(last_activity_at, 0), $1)"
        " WHERE id = $2",
        [(at, sid) for sid, at in touches.items()],
    )


async def delete_session(conn: Connection, session_id: str) -> None:
    # Foreign keys cascade to every other table; events go with their deliveries.
    if row_count(await conn.execute("DELETE FROM sessions WHERE id = $1", session_id)) == 0:
        raise NotFound(f"no session {session_id}")


async def lock_session(conn: Connection, session_id: str, *, share: bool = False) -> bool:
    """Locks the session's row until the transaction ends; False if there is none."""
    mode = "SHARE" if share else "UPDATE"
    sql = f"SELECT 1 FROM sessions WHERE id = $1 FOR {mode}"  # noqa: S608  (fixed)
    return bool(await conn.fetchval(sql, session_id))


# --- webhooks --------------------------------------------------------------------------------


async def _insert_webhooks(
    conn: Connection,
    codec: Codec,
    session_id: str,
    webhooks: Sequence[WebhookEndpoint],
    *,
    start: int,
) -> None:
    rows = []
    for position, w in enumerate(webhooks, start):
        if w.session_id != session_id:
            raise ValueError(f"endpoint {w.id} belongs to session {w.session_id}")
        rows.append(
            (
                w.id,
                session_id,
                position,
                w.url,
                encode_json(w.events),
                codec.seal_secrets(w),
                w.enabled,
                w.disabled_reason,
                w.created_at,
            )
        )
    await conn.executemany(
        "INSERT INTO webhooks (id, session_id, position, url, events, secrets, enabled,"
        " disabled_reason, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        rows,
    )


async def replace_webhooks(
    conn: Connection, codec: Codec, session_id: str, webhooks: Sequence[WebhookEndpoint]
) -> None:
    if not await lock_session(conn, session_id):
        raise NotFound(f"no session {session_id}")
    keep = {w.id for w in webhooks}
    existing = {
        r[0]
        for r in await conn.fetch(
            "SELECT id FROM webhooks WHERE session_id = $1 FOR UPDATE", session_id
        )
    }
    # Removed endpoints take their pending deliveries with them (cascade).
    gone = sorted(existing - keep)
    if gone:
        await conn.execute("DELETE FROM webhooks WHERE id = ANY($1::text[])", gone)
    for position, w in enumerate(webhooks):
        if w.id in existing:
            await conn.execute(
                "UPDATE webhooks SET position = $1, url = $2, events = $3, secrets = $4,"
                " enabled = $5, disabled_reason = $6 WHERE id = $7",
                position,
                w.url,
                encode_json(w.events),
                codec.seal_secrets(w),
                w.enabled,
                w.disabled_reason,
                w.id,
            )
        else:
            await _insert_webhooks(conn, codec, session_id, [w], start=position)


async def list_webhooks(conn: Connection, codec: Codec, session_id: str) -> list[WebhookEndpoint]:
    sql = f"SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE session_id = $1 ORDER BY position"  # noqa: S608
    return [codec.webhook(r) for r in await conn.fetch(sql, session_id)]


async def disable_webhook(conn: Connection, endpoint_id: str, reason: str) -> None:
    await conn.execute(
        "UPDATE webhooks SET enabled = FALSE, disabled_reason = $1 WHERE id = $2",
        reason,
        endpoint_id,
    )


# --- API keys --------------------------------------------------------------------------------


async def create_api_key(conn: Connection, k: ApiKeyRecord) -> None:
    inserted = await conn.fetchval(
        f"INSERT INTO api_keys ({KEY_COLUMNS}) "  # noqa: S608
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING RETURNING id",
        k.id,
        k.name,
        k.scope,
        k.key_hash,
        k.prefix,
        None if k.session_ids is None else encode_json(k.session_ids),
        k.expires_at,
        k.created_at,
        k.last_used_at,
        k.user_id,
    )
    if inserted is None:
        raise Conflict("an API key with this id or hash already exists")


async def list_api_keys(conn: Connection) -> list[ApiKeyRecord]:
    sql = f"SELECT {KEY_COLUMNS} FROM api_keys ORDER BY created_at, id"  # noqa: S608
    return [api_key(r) for r in await conn.fetch(sql)]


async def find_api_key(conn: Connection, key_hash: str) -> Optional[ApiKeyRecord]:
    sql = f"SELECT {KEY_COLUMNS} FROM api_keys WHERE key_hash = $1"  # noqa: S608
    row = await conn.fetchrow(sql, key_hash)
    return None if row is None else api_key(row)


async def delete_api_key(conn: Connection, key_id: str) -> bool:
    return row_count(await conn.execute("DELETE FROM api_keys WHERE id = $1", key_id)) > 0


# --- media and idempotency -------------------------------------------------------------------


async def save_media(
    conn: Connection, codec: Codec, session_id: str, media: MediaInfo, sealed_keys: bytes
) -> None:
    if not await lock_session(conn, session_id, share=True):
        raise NotFound(f"no session {session_id}")
    await conn.execute(
        "INSERT INTO media (session_id, media_id, info, sealed_keys) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (session_id, media_id)"
        " DO UPDATE SET info = excluded.info, sealed_keys = excluded.sealed_keys",
        session_id,
        media.media_id,
        codec.seal_media(session_id, media),
        sealed_keys,
    )


async def get_media(
    conn: Connection, codec: Codec, session_id: str, media_id: str
) -> Optional[tuple[MediaInfo, bytes]]:
    row = await conn.fetchrow(
        "SELECT info, sealed_keys FROM media WHERE session_id = $1 AND media_id = $2",
        session_id,
        media_id,
    )
    if row is None:
        return None
    return codec.media(bytes(row[0]), session_id, media_id), bytes(row[1])


async def get_idempotent(
    conn: Connection, codec: Codec, scope: str, now: int
) -> Optional[IdempotentAnswer]:
    row = await conn.fetchrow(
        "SELECT status, body, expires_at FROM idempotency WHERE scope = $1 AND expires_at > $2",
        scope,
        now,
    )
    if row is None:
        return None
    body = codec.open(bytes(row[1]), "idempotency", scope)
    return IdempotentAnswer(status=row[0], body=body, expires_at=row[2])

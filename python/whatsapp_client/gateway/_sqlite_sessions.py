"""Sessions, webhook endpoints, API keys, media records, idempotent answers and the ping
(SQL)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Optional

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
from whatsapp_client.gateway._sqlite_events import fan_out


def ping(conn: sqlite3.Connection) -> None:
    """A write that touches no record (``/ready``: the database can be written)."""
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('ping', ?)", (str(now_ms()),))


def create_session(
    conn: sqlite3.Connection,
    codec: Codec,
    s: SessionRecord,
    credentials: bytes,
    webhooks: Sequence[WebhookEndpoint],
) -> None:
    if conn.execute("SELECT 1 FROM sessions WHERE name = ?", (s.name,)).fetchone():
        raise Conflict(f"a session named {s.name!r} already exists")
    if conn.execute("SELECT 1 FROM sessions WHERE id = ?", (s.id,)).fetchone():
        raise Conflict(f"a session with id {s.id!r} already exists")
    conn.execute(
        f"INSERT INTO sessions ({SESSION_COLUMNS}, credentials) "  # noqa: S608
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            s.id,
            s.name,
            s.engine,
            encode_json(s.config),
            s.status,
            s.status_reason,
            int(s.running),
            s.rate_limit_per_minute,
            s.user_id,
            s.created_at,
            s.last_activity_at,
            s.counters.sent,
            s.counters.received,
            s.counters.failed,
            s.owner_id,
            codec.seal(credentials, "sessions", s.id, "credentials"),
        ),
    )
    _insert_webhooks(conn, codec, s.id, webhooks, start=0)


def get_session(conn: sqlite3.Connection, codec: Codec, session_id: str) -> Optional[SessionRecord]:
    row = conn.execute(
        f"SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ?",  # noqa: S608
        (session_id,),
    ).fetchone()
    return None if row is None else codec.session(row)


def list_sessions(conn: sqlite3.Connection, codec: Codec) -> list[SessionRecord]:
    sql = f"SELECT {SESSION_COLUMNS} FROM sessions ORDER BY created_at, id"  # noqa: S608
    return [codec.session(r) for r in conn.execute(sql)]


def get_credentials(conn: sqlite3.Connection, codec: Codec, session_id: str) -> bytes:
    row = conn.execute("SELECT credentials FROM sessions WHERE id = ?", (session_id,)).fetchone()
    if row is None:
        raise NotFound(f"no session {session_id}")
    return codec.open(row[0], "sessions", session_id, "credentials")


def update_session(
    conn: sqlite3.Connection,
    codec: Codec,
    session_id: str,
    changes: dict[str, object],
) -> SessionRecord:
    current = get_session(conn, codec, session_id)
    if current is None:
        raise NotFound(f"no session {session_id}")
    name = changes.get("name")
    taken = "SELECT 1 FROM sessions WHERE name = ?"
    if name is not None and name != current.name and conn.execute(taken, (name,)).fetchone():
        raise Conflict(f"a session named {name!r} already exists")
    if changes:
        # Column names come from the fixed keyword arguments of update_session, never input.
        sets = ", ".join(f"{column} = ?" for column in changes)
        values = [int(v) if isinstance(v, bool) else v for v in changes.values()]
        conn.execute(
            f"UPDATE sessions SET {sets} WHERE id = ?",  # noqa: S608
            (*values, session_id),
        )
    updated = get_session(conn, codec, session_id)
    assert updated is not None
    return updated


def set_session_status(
    conn: sqlite3.Connection,
    codec: Codec,
    session_id: str,
    status: SessionStatus,
    reason: Optional[str],
    event: Optional[Event],
) -> None:
    cur = conn.execute(
        "UPDATE sessions SET status = ?, status_reason = ? WHERE id = ?",
        (status, reason, session_id),
    )
    # A session deleted meanwhile: nothing to record (its runner is stopping).
    if cur.rowcount and event is not None:
        fan_out(conn, codec, event)


def touch_sessions(conn: sqlite3.Connection, touches: dict[str, int]) -> None:
    conn.executemany(
        "UPDATE sessions SET last_activity_at = max(coalesce(last_activity_at, 0), ?) WHERE id = ?",
        [(at, sid) for sid, at in touches.items()],
    )


def delete_session(conn: sqlite3.Connection, session_id: str) -> None:
    # Foreign keys cascade to every other table; events go with their deliveries.
    if conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,)).rowcount == 0:
        raise NotFound(f"no session {session_id}")


# --- webhooks --------------------------------------------------------------------------------


def _insert_webhooks(
    conn: sqlite3.Connection,
    codec: Codec,
    session_id: str,
    webhooks: Sequence[WebhookEndpoint],
    *,
    start: int,
) -> None:
    for position, w in enumerate(webhooks, start):
        if w.session_id != session_id:
            raise ValueError(f"endpoint {w.id} belongs to session {w.session_id}")
        conn.execute(
            "INSERT INTO webhooks (id, session_id, position, url, events, secrets, enabled, "
            "disabled_reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                w.id,
                session_id,
                position,
                w.url,
                encode_json(w.events),
                codec.seal_secrets(w),
                int(w.enabled),
                w.disabled_reason,
                w.created_at,
            ),
        )


def replace_webhooks(
    conn: sqlite3.Connection, codec: Codec, session_id: str, webhooks: Sequence[WebhookEndpoint]
) -> None:
    if not conn.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone():
        raise NotFound(f"no session {session_id}")
    keep = {w.id for w in webhooks}
    existing = {
        r[0] for r in conn.execute("SELECT id FROM webhooks WHERE session_id = ?", (session_id,))
    }
    # Removed endpoints take their pending deliveries with them (cascade).
    conn.executemany("DELETE FROM webhooks WHERE id = ?", [(i,) for i in existing - keep])
    for position, w in enumerate(webhooks):
        if w.id in existing:
            conn.execute(
                "UPDATE webhooks SET position = ?, url = ?, events = ?, secrets = ?, enabled = ?,"
                " disabled_reason = ? WHERE id = ?",
                (
                    position,
                    w.url,
                    encode_json(w.events),
                    codec.seal_secrets(w),
                    int(w.enabled),
                    w.disabled_reason,
                    w.id,
                ),
            )
        else:
            _insert_webhooks(conn, codec, session_id, [w], start=position)


def list_webhooks(conn: sqlite3.Connection, codec: Codec, session_id: str) -> list[WebhookEndpoint]:
    sql = f"SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE session_id = ? ORDER BY position"  # noqa: S608
    return [codec.webhook(r) for r in conn.execute(sql, (session_id,))]


def disable_webhook(conn: sqlite3.Connection, endpoint_id: str, reason: str) -> None:
    conn.execute(
        "UPDATE webhooks SET enabled = 0, disabled_reason = ? WHERE id = ?", (reason, endpoint_id)
    )


# --- API keys --------------------------------------------------------------------------------


def create_api_key(conn: sqlite3.Connection, k: ApiKeyRecord) -> None:
    try:
        conn.execute(
            f"INSERT INTO api_keys ({KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
            (
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
            ),
        )
    except sqlite3.IntegrityError as exc:
        raise Conflict("an API key with this id or hash already exists") from exc


def list_api_keys(conn: sqlite3.Connection) -> list[ApiKeyRecord]:
    sql = f"SELECT {KEY_COLUMNS} FROM api_keys ORDER BY created_at, id"  # noqa: S608
    return [api_key(r) for r in conn.execute(sql)]


def find_api_key(conn: sqlite3.Connection, key_hash: str) -> Optional[ApiKeyRecord]:
    sql = f"SELECT {KEY_COLUMNS} FROM api_keys WHERE key_hash = ?"  # noqa: S608
    row = conn.execute(sql, (key_hash,)).fetchone()
    return None if row is None else api_key(row)


def delete_api_key(conn: sqlite3.Connection, key_id: str) -> bool:
    return conn.execute("DELETE FROM api_keys WHERE id = ?", (key_id,)).rowcount > 0


# --- media and idempotency -------------------------------------------------------------------


def save_media(
    conn: sqlite3.Connection, codec: Codec, session_id: str, media: MediaInfo, sealed_keys: bytes
) -> None:
    try:
        conn.execute(
            "INSERT OR REPLACE INTO media (session_id, media_id, info, sealed_keys) "
            "VALUES (?, ?, ?, ?)",
            (session_id, media.media_id, codec.seal_media(session_id, media), sealed_keys),
        )
    except sqlite3.IntegrityError as exc:
        raise NotFound(f"no session {session_id}") from exc


def get_media(
    conn: sqlite3.Connection, codec: Codec, session_id: str, media_id: str
) -> Optional[tuple[MediaInfo, bytes]]:
    row = conn.execute(
        "SELECT info, sealed_keys FROM media WHERE session_id = ? AND media_id = ?",
        (session_id, media_id),
    ).fetchone()
    if row is None:
        return None
    return codec.media(row[0], session_id, media_id), bytes(row[1])


def get_idempotent(
    conn: sqlite3.Connection, codec: Codec, scope: str, now: int
) -> Optional[IdempotentAnswer]:
    row = conn.execute(
        "SELECT status, body, expires_at FROM idempotency WHERE scope = ? AND expires_at > ?",
        (scope, now),
    ).fetchone()
    if row is None:
        return None
    body = codec.open(row[1], "idempotency", scope)
    return IdempotentAnswer(status=row[0], body=body, expires_at=row[2])

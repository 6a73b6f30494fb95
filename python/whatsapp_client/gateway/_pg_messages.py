"""History, the durable send queue and per-minute counts on PostgreSQL (asyncpg
connections, in the caller's transaction).

As on SQLite: the queue row and the history row of an outbound message are written in one
transaction; the queue row leaves only in ``finish_send``, with the outcome and its event.
Writes that read then change a session's counters lock its row first (``FOR UPDATE``), so
two gateway processes cannot both pass the queue bound.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from whatsapp_client.gateway._codec import (
    MESSAGE_COLUMNS,
    STATUS_RANK,
    Codec,
    make_cursor,
    read_cursor,
)
from whatsapp_client.gateway._errors import Conflict, InvalidRequest, NotFound, QueueFull
from whatsapp_client.gateway._models import (
    Event,
    IdempotentAnswer,
    MessageFilter,
    MessageRecord,
    MessageState,
    QueueItem,
)
from whatsapp_client.gateway._pg_events import fan_out, row_count
from whatsapp_client.gateway._pg_notify import QUEUE_CHANNEL

if TYPE_CHECKING:
    from asyncpg import Connection

MINUTE_MS = 60_000
_INT64 = 2**63
_INSERT = (
    f"INSERT INTO messages ({MESSAGE_COLUMNS}) "  # noqa: S608
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
)


def _message_args(codec: Codec, m: MessageRecord) -> tuple[object, ...]:
    sender = (m.sender or m.peer) if m.direction == "inbound" else None
    return (
        m.id,
        m.session_id,
        m.direction,
        m.peer,
        sender,
        m.group_id,
        m.type,
        m.status,
        m.reason,
        m.timestamp,
        m.engine_message_id,
        codec.seal_content(m),
    )


async def enqueue_send(
    conn: Connection,
    codec: Codec,
    message: MessageRecord,
    item: QueueItem,
    max_depth: int,
    idempotency: Optional[tuple[str, IdempotentAnswer]],
    now: int,
) -> int:
    sid = message.session_id
    if item.session_id != sid or item.message_id != message.id:
        raise ValueError("the queue item must name the message it sends")
    # The bound is checked and the depth taken in one statement (the row stays locked until
    # the commit); a refusal below rolls the increment back with the rest. The holder of
    # the session's lease, maybe another process, is told at the commit (``_pg_notify``).
    depth = await conn.fetchval(
        "UPDATE sessions SET queue_depth = queue_depth + 1 WHERE id = $1 AND queue_depth < $2"
        " RETURNING queue_depth, pg_notify($3, id)",
        sid,
        max_depth,
        QUEUE_CHANNEL,
    )
    if depth is None:
        if not await conn.fetchval("SELECT 1 FROM sessions WHERE id = $1", sid):
            raise NotFound(f"no session {sid}")
        raise QueueFull(f"the send queue of session {sid} is full ({max_depth} messages)")
    if idempotency is not None:
        scope, answer = idempotency
        await conn.execute("DELETE FROM idempotency WHERE expires_at <= $1", now)
        stored = await conn.fetchval(
            "INSERT INTO idempotency (scope, session_id, status, body, expires_at)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (scope) DO NOTHING RETURNING scope",
            scope,
            sid,
            answer.status,
            codec.seal(answer.body, "idempotency", scope),
            answer.expires_at,
        )
        if stored is None:
            # Two requests with one key at once: the first one's answer stands.
            raise Conflict("a request with this Idempotency-Key is already being processed")
    # The history row and the queue row in one round trip.
    await conn.execute(
        f"WITH m AS ({_INSERT}) INSERT INTO queue (session_id, message_id, request, attempts,"  # noqa: S608
        " enqueued_at) VALUES ($2, $1, $13, $14, $15)",
        *_message_args(codec, message),
        codec.seal_request(sid, message.id, item.request),
        item.attempts,
        item.enqueued_at,
    )
    return int(depth)


async def next_queued(conn: Connection, codec: Codec, session_id: str) -> Optional[QueueItem]:
    row = await conn.fetchrow(
        "SELECT seq, message_id, request, attempts, enqueued_at FROM queue"
        " WHERE session_id = $1 ORDER BY seq LIMIT 1",
        session_id,
    )
    if row is None:
        return None
    return QueueItem(
        seq=row[0],
        session_id=session_id,
        message_id=row[1],
        request=codec.request(row[2], session_id, row[1]),
        attempts=row[3],
        enqueued_at=row[4],
    )


async def queue_depth(conn: Connection, session_id: str) -> int:
    depth = await conn.fetchval("SELECT queue_depth FROM sessions WHERE id = $1", session_id)
    return 0 if depth is None else int(depth)


async def finish_send(
    conn: Connection,
    codec: Codec,
    item: QueueItem,
    status: MessageState,
    engine_message_id: Optional[str],
    reason: Optional[str],
    event: Optional[Event],
) -> None:
    if status not in ("sent", "failed"):
        raise ValueError(f"a send finishes as sent or failed, not {status}")
    sid = item.session_id
    removed = await conn.execute(
        "DELETE FROM queue WHERE seq = $1 AND session_id = $2", item.seq, sid
    )
    if not row_count(removed):
        return  # already finished (or the session was deleted): record nothing twice
    await conn.execute(
        "UPDATE messages SET status = $1, reason = $2,"
        " engine_message_id = coalesce($3, engine_message_id) WHERE session_id = $4 AND id = $5",
        status,
        reason,
        engine_message_id,
        sid,
        item.message_id,
    )
    counter = "sent" if status == "sent" else "failed"
    await conn.execute(
        f"UPDATE sessions SET queue_depth = queue_depth - 1, {counter} = {counter} + 1"  # noqa: S608
        " WHERE id = $1",
        sid,
    )
    if event is not None:
        await fan_out(conn, codec, event)


async def record_inbound(
    conn: Connection, codec: Codec, message: MessageRecord, event: Event
) -> bool:
    if message.direction != "inbound":
        raise ValueError("record_inbound takes inbound messages")
    sid = message.session_id
    if not await conn.fetchval("SELECT 1 FROM sessions WHERE id = $1 FOR UPDATE", sid):
        return False  # the session is gone: nothing to record
    # The same (sender, message id) again: nothing written.
    inserted = await conn.fetchval(
        _INSERT + " ON CONFLICT DO NOTHING RETURNING row_seq", *_message_args(codec, message)
    )
    if inserted is None:
        return False
    await conn.execute("UPDATE sessions SET received = received + 1 WHERE id = $1", sid)
    await fan_out(conn, codec, event)
    return True


async def set_message_status(
    conn: Connection,
    codec: Codec,
    session_id: str,
    engine_message_id: str,
    status: MessageState,
    event_id: str,
    at: int,
) -> Optional[MessageRecord]:
    new_rank = STATUS_RANK.get(status)
    if new_rank is None:
        return None
    row = await conn.fetchrow(
        f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE session_id = $1"  # noqa: S608
        " AND engine_message_id = $2 AND direction = 'outbound' ORDER BY row_seq LIMIT 1"
        " FOR UPDATE",
        session_id,
        engine_message_id,
    )
    if row is None:
        return None
    message = codec.message(row)
    if new_rank <= STATUS_RANK.get(message.status, len(STATUS_RANK)):
        return None
    await conn.execute(
        "UPDATE messages SET status = $1 WHERE session_id = $2 AND id = $3",
        status,
        session_id,
        message.id,
    )
    message.status = status
    event = Event(
        id=event_id,
        type="message.status",
        session_id=session_id,
        timestamp=at,
        data={"id": message.id, "status": status, "timestamp": at},
    )
    await fan_out(conn, codec, event)
    return message


async def get_message(
    conn: Connection, codec: Codec, session_id: str, message_id: str
) -> Optional[MessageRecord]:
    row = await conn.fetchrow(
        f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE session_id = $1 AND id = $2",  # noqa: S608
        session_id,
        message_id,
    )
    return None if row is None else codec.message(row)


async def list_messages(
    conn: Connection,
    codec: Codec,
    session_id: str,
    f: MessageFilter,
    limit: int,
    cursor: Optional[str],
) -> tuple[list[MessageRecord], Optional[str]]:
    if limit < 1:
        raise InvalidRequest("limit must be at least 1")
    where: list[str] = ["session_id = $1"]
    args: list[object] = [session_id]

    def arg(value: object) -> str:
        args.append(value)
        return f"${len(args)}"

    # Column names are fixed here; only the values come from the caller.
    for column, value in (
        ("direction", f.direction),
        ("peer", f.peer),
        ("status", f.status),
        ("type", f.type),
    ):
        if value is not None:
            where.append(f"{column} = {arg(value)}")
    if f.since is not None:
        where.append(f"timestamp >= {arg(f.since)}")
    if f.until is not None:
        where.append(f"timestamp < {arg(f.until)}")
    if cursor is not None:
        ts, row_seq = read_cursor(cursor)
        if not (-_INT64 <= ts < _INT64 and 0 <= row_seq < _INT64):
            raise InvalidRequest("cursor is not one this API returned")
        where.append(f"(timestamp, row_seq) < ({arg(ts)}, {arg(row_seq)})")
    sql = (
        f"SELECT {MESSAGE_COLUMNS}, row_seq FROM messages WHERE {' AND '.join(where)} "  # noqa: S608
        f"ORDER BY timestamp DESC, row_seq DESC LIMIT {arg(limit + 1)}"
    )
    rows = await conn.fetch(sql, *args)
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        last = page[-1]
        next_cursor = make_cursor(last[9], last[12])
    return [codec.message(r) for r in page], next_cursor


async def per_minute(
    conn: Connection, session_id: str, since: int, until: int
) -> dict[int, tuple[int, int, int]]:
    """``{minute start (ms): (sent, received, failed)}`` over timestamps in
    ``[since, until)`` (see ``_sqlite_stats``)."""
    rows = await conn.fetch(
        "SELECT (timestamp / $1) * $1 AS minute,"
        " count(*) FILTER (WHERE direction = 'outbound' AND status IN ('sent', 'delivered',"
        " 'read')),"
        " count(*) FILTER (WHERE direction = 'inbound'),"
        " count(*) FILTER (WHERE direction = 'outbound' AND status = 'failed')"
        " FROM messages WHERE session_id = $2 AND timestamp >= $3 AND timestamp < $4"
        " GROUP BY minute",
        MINUTE_MS,
        session_id,
        since,
        until,
    )
    return {int(m): (int(s), int(r), int(f)) for m, s, r, f in rows}

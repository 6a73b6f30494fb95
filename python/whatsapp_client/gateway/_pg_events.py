"""Events and webhook deliveries on PostgreSQL (asyncpg connections, in the caller's
transaction).

An event is fanned out to one delivery per enabled endpoint of its session that subscribes
to its type, inside the transaction of its cause. The session's endpoint rows are locked
while it is (``FOR UPDATE``), so two gateway processes writing events of one session take
turns: ``seq`` (one ``BIGSERIAL``) is then increasing per endpoint in commit order too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Optional

from whatsapp_client.gateway._codec import DELIVERY_COLUMNS, Codec, event_types
from whatsapp_client.gateway._errors import InvalidRequest, NotFound
from whatsapp_client.gateway._models import Delivery, DeliveryState, Event
from whatsapp_client.gateway._pg_notify import EVENTS_CHANNEL

if TYPE_CHECKING:
    from asyncpg import Connection

_SELECT = f"SELECT {DELIVERY_COLUMNS} FROM deliveries d JOIN events e ON e.id = d.event_id"  # noqa: S608


def row_count(status: str) -> int:
    """The number of rows of an asyncpg command status (``"DELETE 3"``)."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


async def fan_out(conn: Connection, codec: Codec, event: Event) -> int:
    """Writes the event and its deliveries; returns how many endpoints get it."""
    rows = await conn.fetch(
        "SELECT id, events FROM webhooks WHERE session_id = $1 AND enabled"
        " ORDER BY position FOR UPDATE",
        event.session_id,
    )
    targets = [r[0] for r in rows if event.type in event_types(r[1])]
    if not targets:
        return 0
    # Every process's dispatcher is told at the commit (``_pg_notify``).
    await conn.execute(
        "INSERT INTO events (id, session_id, type, timestamp, data) VALUES ($1, $2, $3, $4, $5)"
        " RETURNING pg_notify($6, '')",
        event.id,
        event.session_id,
        event.type,
        event.timestamp,
        codec.seal_event(event),
        EVENTS_CHANNEL,
    )
    await conn.executemany(
        "INSERT INTO deliveries (endpoint_id, session_id, event_id, state, attempts,"
        " next_attempt_at, created_at) VALUES ($1, $2, $3, 'pending', 0, $4, $5)",
        [(t, event.session_id, event.id, event.timestamp, event.timestamp) for t in targets],
    )
    return len(targets)


async def add_events(conn: Connection, codec: Codec, events: Sequence[Event]) -> None:
    for event in events:
        await fan_out(conn, codec, event)


async def endpoints_with_work(conn: Connection, now: int) -> list[str]:
    rows = await conn.fetch(
        "SELECT w.id FROM webhooks w WHERE w.enabled AND ("
        " SELECT d.next_attempt_at FROM deliveries d"
        " WHERE d.endpoint_id = w.id AND d.state = 'pending' ORDER BY d.seq LIMIT 1) <= $1",
        now,
    )
    return [r[0] for r in rows]


async def pending_deliveries(
    conn: Connection, codec: Codec, endpoint_id: str, limit: int
) -> list[Delivery]:
    if limit < 1:
        raise InvalidRequest("limit must be at least 1")
    rows = await conn.fetch(
        f"{_SELECT} WHERE d.endpoint_id = $1 AND d.state = 'pending' ORDER BY d.seq LIMIT $2",
        endpoint_id,
        limit,
    )
    return [codec.delivery(row) for row in rows]


async def head_delivery(conn: Connection, codec: Codec, endpoint_id: str) -> Optional[Delivery]:
    head = await pending_deliveries(conn, codec, endpoint_id, 1)
    return head[0] if head else None


async def finish_delivery(
    conn: Connection,
    seq: int,
    state: DeliveryState,
    attempts: int,
    next_attempt_at: int,
    status_code: Optional[int],
    error: Optional[str],
    at: int,
) -> None:
    await conn.execute(
        "UPDATE deliveries SET state = $1, attempts = $2, next_attempt_at = $3,"
        " last_status = $4, last_error = $5, finished_at = $6 WHERE seq = $7",
        state,
        attempts,
        next_attempt_at,
        status_code,
        error,
        None if state == "pending" else at,
        seq,
    )


async def list_deliveries(
    conn: Connection,
    codec: Codec,
    session_id: str,
    endpoint_id: Optional[str],
    state: Optional[DeliveryState],
    limit: int,
) -> list[Delivery]:
    if limit < 1:
        raise InvalidRequest("limit must be at least 1")
    # NULL filters match everything: one statement, no SQL built from input.
    rows = await conn.fetch(
        f"{_SELECT} WHERE d.session_id = $1 AND ($2::text IS NULL OR d.endpoint_id = $2)"
        " AND ($3::text IS NULL OR d.state = $3) ORDER BY d.seq DESC LIMIT $4",
        session_id,
        endpoint_id,
        state,
        limit,
    )
    return [codec.delivery(r) for r in rows]


async def redeliver(
    conn: Connection, codec: Codec, session_id: str, seq: int, now: int
) -> Delivery:
    row = await conn.fetchrow(
        "SELECT endpoint_id, event_id FROM deliveries WHERE seq = $1 AND session_id = $2",
        seq,
        session_id,
    )
    if row is None:
        raise NotFound(f"no delivery {seq} in session {session_id}")
    # The endpoint's row is locked like in fan_out: the new seq is the endpoint's newest.
    await conn.execute("SELECT 1 FROM webhooks WHERE id = $1 FOR UPDATE", row[0])
    new_seq = await conn.fetchval(
        "INSERT INTO deliveries (endpoint_id, session_id, event_id, state, attempts,"
        " next_attempt_at, created_at) VALUES ($1, $2, $3, 'pending', 0, $4, $4)"
        " RETURNING seq",
        row[0],
        session_id,
        row[1],
        now,
    )
    new = await conn.fetchrow(f"{_SELECT} WHERE d.seq = $1", new_seq)
    return codec.delivery(new)


async def prune(conn: Connection, before: int, now: int) -> int:
    """Deletes deliveries that ended (delivered or dead) before ``before``, the events no
    delivery refers to any more that are older than that, and expired idempotent answers;
    returns how many rows went. Pending deliveries and their events are never touched."""
    gone = row_count(
        await conn.execute(
            "DELETE FROM deliveries WHERE state IN ('delivered', 'dead') AND finished_at < $1",
            before,
        )
    )
    gone += row_count(
        await conn.execute(
            "DELETE FROM events WHERE timestamp < $1"
            " AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = events.id)",
            before,
        )
    )
    gone += row_count(await conn.execute("DELETE FROM idempotency WHERE expires_at <= $1", now))
    return gone

"""Events and webhook deliveries (SQL run on the writer thread or a reader connection).

An event is fanned out to one delivery per enabled endpoint of its session that subscribes
to its type, inside the caller's transaction, so an event exists exactly when its cause was
committed. ``seq`` is one AUTOINCREMENT sequence: increasing per endpoint, never reused.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Optional

from whatsapp_client.gateway._codec import DELIVERY_COLUMNS, Codec, event_types
from whatsapp_client.gateway._errors import InvalidRequest, NotFound
from whatsapp_client.gateway._models import Delivery, DeliveryState, Event

_SELECT = f"SELECT {DELIVERY_COLUMNS} FROM deliveries d JOIN events e ON e.id = d.event_id"  # noqa: S608


def fan_out(conn: sqlite3.Connection, codec: Codec, event: Event) -> int:
    """Writes the event and its deliveries; returns how many endpoints get it."""
    targets = [
        endpoint_id
        for endpoint_id, events in conn.execute(
            "SELECT id, events FROM webhooks WHERE session_id = ? AND enabled = 1 "
            "ORDER BY position",
            (event.session_id,),
        )
        if event.type in event_types(events)
    ]
    if not targets:
        return 0
    conn.execute(
        "INSERT INTO events (id, session_id, type, timestamp, data) VALUES (?, ?, ?, ?, ?)",
        (event.id, event.session_id, event.type, event.timestamp, codec.seal_event(event)),
    )
    conn.executemany(
        "INSERT INTO deliveries (endpoint_id, session_id, event_id, state, attempts, "
        "next_attempt_at, created_at) VALUES (?, ?, ?, 'pending', 0, ?, ?)",
        [(t, event.session_id, event.id, event.timestamp, event.timestamp) for t in targets],
    )
    return len(targets)


def add_events(conn: sqlite3.Connection, codec: Codec, events: Sequence[Event]) -> None:
    for event in events:
        fan_out(conn, codec, event)


def endpoints_with_work(conn: sqlite3.Connection, now: int) -> list[str]:
    rows = conn.execute(
        "SELECT w.id FROM webhooks w WHERE w.enabled = 1 AND ("
        " SELECT d.next_attempt_at FROM deliveries d"
        " WHERE d.endpoint_id = w.id AND d.state = 'pending' ORDER BY d.seq LIMIT 1) <= ?",
        (now,),
    )
    return [r[0] for r in rows]


def head_delivery(conn: sqlite3.Connection, codec: Codec, endpoint_id: str) -> Optional[Delivery]:
    row = conn.execute(
        f"{_SELECT} WHERE d.endpoint_id = ? AND d.state = 'pending' ORDER BY d.seq LIMIT 1",
        (endpoint_id,),
    ).fetchone()
    return None if row is None else codec.delivery(row)


def pending_deliveries(
    conn: sqlite3.Connection, codec: Codec, endpoint_id: str, limit: int
) -> list[Delivery]:
    if limit < 1:
        raise InvalidRequest("limit must be at least 1")
    rows = conn.execute(
        f"{_SELECT} WHERE d.endpoint_id = ? AND d.state = 'pending' ORDER BY d.seq LIMIT ?",
        (endpoint_id, limit),
    )
    return [codec.delivery(row) for row in rows]


def finish_delivery(
    conn: sqlite3.Connection,
    seq: int,
    state: DeliveryState,
    attempts: int,
    next_attempt_at: int,
    status_code: Optional[int],
    error: Optional[str],
    at: int,
) -> None:
    conn.execute(
        "UPDATE deliveries SET state = ?, attempts = ?, next_attempt_at = ?, last_status = ?,"
        " last_error = ?, finished_at = ? WHERE seq = ?",
        (
            state,
            attempts,
            next_attempt_at,
            status_code,
            error,
            None if state == "pending" else at,
            seq,
        ),
    )


def list_deliveries(
    conn: sqlite3.Connection,
    codec: Codec,
    session_id: str,
    endpoint_id: Optional[str],
    state: Optional[DeliveryState],
    limit: int,
) -> list[Delivery]:
    if limit < 1:
        raise InvalidRequest("limit must be at least 1")
    where: list[str] = ["d.session_id = ?"]
    args: list[object] = [session_id]
    if endpoint_id is not None:
        where.append("d.endpoint_id = ?")
        args.append(endpoint_id)
    if state is not None:
        where.append("d.state = ?")
        args.append(state)
    sql = f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY d.seq DESC LIMIT ?"
    return [codec.delivery(r) for r in conn.execute(sql, (*args, limit))]


def redeliver(
    conn: sqlite3.Connection, codec: Codec, session_id: str, seq: int, now: int
) -> Delivery:
    row = conn.execute(
        "SELECT endpoint_id, event_id FROM deliveries WHERE seq = ? AND session_id = ?",
        (seq, session_id),
    ).fetchone()
    if row is None:
        raise NotFound(f"no delivery {seq} in session {session_id}")
    cur = conn.execute(
        "INSERT INTO deliveries (endpoint_id, session_id, event_id, state, attempts, "
        "next_attempt_at, created_at) VALUES (?, ?, ?, 'pending', 0, ?, ?)",
        (row[0], session_id, row[1], now, now),
    )
    new = conn.execute(f"{_SELECT} WHERE d.seq = ?", (cur.lastrowid,)).fetchone()
    return codec.delivery(new)


def prune(conn: sqlite3.Connection, before: int, now: int) -> int:
    """Deletes deliveries that ended (delivered or dead) before ``before``, the events no
    delivery refers to any more that are older than that, and expired idempotent answers;
    returns how many rows went. Pending deliveries and their events are never touched."""
    gone = conn.execute(
        "DELETE FROM deliveries WHERE state IN ('delivered', 'dead') AND finished_at < ?",
        (before,),
    ).rowcount
    gone += conn.execute(
        "DELETE FROM events WHERE timestamp < ?"
        " AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = events.id)",
        (before,),
    ).rowcount
    gone += conn.execute("DELETE FROM idempotency WHERE expires_at <= ?", (now,)).rowcount
    return gone

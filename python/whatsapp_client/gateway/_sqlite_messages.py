"""History and the durable send queue (SQL run on the writer thread or a reader).

The queue row and the history row of an outbound message are written in one transaction;
the queue row leaves only in ``finish_send``, in the same transaction as the outcome and its
event, so a crash anywhere leaves either the item queued or its outcome recorded.
"""

from __future__ import annotations

import sqlite3
from typing import Optional

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
from whatsapp_client.gateway._sqlite_events import fan_out


def _insert_message(conn: sqlite3.Connection, codec: Codec, m: MessageRecord) -> None:
    sender = (m.sender or m.peer) if m.direction == "inbound" else None
    conn.execute(
        f"INSERT INTO messages ({MESSAGE_COLUMNS}) "  # noqa: S608
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
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
        ),
    )


def enqueue_send(
    conn: sqlite3.Connection,
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
    row = conn.execute("SELECT queue_depth FROM sessions WHERE id = ?", (sid,)).fetchone()
    if row is None:
        raise NotFound(f"no session {sid}")
    depth: int = row[0]
    if depth >= max_depth:
        raise QueueFull(f"the send queue of session {sid} is full ({max_depth} messages)")
    if idempotency is not None:
        scope, answer = idempotency
        conn.execute("DELETE FROM idempotency WHERE expires_at <= ?", (now,))
        try:
            conn.execute(
                "INSERT INTO idempotency (scope, session_id, status, body, expires_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    scope,
                    sid,
                    answer.status,
                    codec.seal(answer.body, "idempotency", scope),
                    answer.expires_at,
                ),
            )
        except sqlite3.IntegrityError as exc:
            # Two requests with one key at once: the first one's answer stands.
            raise Conflict(
                "a request with this Idempotency-Key is already being processed"
            ) from exc
    _insert_message(conn, codec, message)
    conn.execute(
        "INSERT INTO queue (session_id, message_id, request, attempts, enqueued_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (
            sid,
            message.id,
            codec.seal_request(sid, message.id, item.request),
            item.attempts,
            item.enqueued_at,
        ),
    )
    conn.execute("UPDATE sessions SET queue_depth = queue_depth + 1 WHERE id = ?", (sid,))
    return depth + 1


def next_queued(conn: sqlite3.Connection, codec: Codec, session_id: str) -> Optional[QueueItem]:
    row = conn.execute(
        "SELECT seq, message_id, request, attempts, enqueued_at FROM queue "
        "WHERE session_id = ? ORDER BY seq LIMIT 1",
        (session_id,),
    ).fetchone()
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


def queue_depth(conn: sqlite3.Connection, session_id: str) -> int:
    row = conn.execute("SELECT queue_depth FROM sessions WHERE id = ?", (session_id,)).fetchone()
    return 0 if row is None else int(row[0])


def finish_send(
    conn: sqlite3.Connection,
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
    removed = conn.execute(
        "DELETE FROM queue WHERE seq = ? AND session_id = ?", (item.seq, sid)
    ).rowcount
    if not removed:
        return  # already finished (or the session was deleted): record nothing twice
    conn.execute(
        "UPDATE messages SET status = ?, reason = ?, "
        "engine_message_id = coalesce(?, engine_message_id) WHERE session_id = ? AND id = ?",
        (status, reason, engine_message_id, sid, item.message_id),
    )
    counter = "sent" if status == "sent" else "failed"
    conn.execute(
        f"UPDATE sessions SET queue_depth = queue_depth - 1, {counter} = {counter} + 1 "  # noqa: S608
        "WHERE id = ?",
        (sid,),
    )
    if event is not None:
        fan_out(conn, codec, event)


def record_inbound(
    conn: sqlite3.Connection, codec: Codec, message: MessageRecord, event: Event
) -> bool:
    if message.direction != "inbound":
        raise ValueError("record_inbound takes inbound messages")
    try:
        _insert_message(conn, codec, message)
    except sqlite3.IntegrityError:
        # The same (sender, message id) again, or the session is gone: nothing to record.
        return False
    conn.execute("UPDATE sessions SET received = received + 1 WHERE id = ?", (message.session_id,))
    fan_out(conn, codec, event)
    return True


def set_message_status(
    conn: sqlite3.Connection,
    codec: Codec,
    session_id: str,
    engine_message_id: str,
    status: MessageState,
    event_id: str,
    at: int,
) -> Optional[MessageRecord]:
    new_rank = STATUS_RANK.get(status)
    row = conn.execute(
        f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE session_id = ? "  # noqa: S608
        "AND engine_message_id = ? AND direction = 'outbound' ORDER BY rowid LIMIT 1",
        (session_id, engine_message_id),
    ).fetchone()
    if new_rank is None or row is None:
        return None
    message = codec.message(row)
    if new_rank <= STATUS_RANK.get(message.status, len(STATUS_RANK)):
        return None
    conn.execute(
        "UPDATE messages SET status = ? WHERE session_id = ? AND id = ?",
        (status, session_id, message.id),
    )
    message.status = status
    event = Event(
        id=event_id,
        type="message.status",
        session_id=session_id,
        timestamp=at,
        data={"id": message.id, "status": status, "timestamp": at},
    )
    fan_out(conn, codec, event)
    return message


def get_message(
    conn: sqlite3.Connection, codec: Codec, session_id: str, message_id: str
) -> Optional[MessageRecord]:
    row = conn.execute(
        f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE session_id = ? AND id = ?",  # noqa: S608
        (session_id, message_id),
    ).fetchone()
    return None if row is None else codec.message(row)


def list_messages(
    conn: sqlite3.Connection,
    codec: Codec,
    session_id: str,
    f: MessageFilter,
    limit: int,
    cursor: Optional[str],
) -> tuple[list[MessageRecord], Optional[str]]:
    if limit < 1:
        raise InvalidRequest("limit must be at least 1")
    where: list[str] = ["session_id = ?"]
    args: list[object] = [session_id]
    # Column names are fixed here; only the values come from the caller.
    for column, value in (
        ("direction", f.direction),
        ("peer", f.peer),
        ("status", f.status),
        ("type", f.type),
    ):
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    if f.since is not None:
        where.append("timestamp >= ?")
        args.append(f.since)
    if f.until is not None:
        where.append("timestamp < ?")
        args.append(f.until)
    if cursor is not None:
        ts, rowid = read_cursor(cursor)
        where.append("(timestamp < ? OR (timestamp = ? AND rowid < ?))")
        args += [ts, ts, rowid]
    sql = (
        f"SELECT {MESSAGE_COLUMNS}, rowid FROM messages WHERE {' AND '.join(where)} "  # noqa: S608
        "ORDER BY timestamp DESC, rowid DESC LIMIT ?"
    )
    rows = conn.execute(sql, (*args, limit + 1)).fetchall()
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        last = page[-1]
        next_cursor = make_cursor(last[9], last[12])
    return [codec.message(r) for r in page], next_cursor

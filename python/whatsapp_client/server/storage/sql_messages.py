"""The durable direct-message queue and the queue of status events for offline senders."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import NamedTuple, TypeVar

from whatsapp_client.server.storage.records import (
    AckedBatch,
    AckOutcome,
    StoredMessage,
    StoreOutcome,
)

_CHUNK = 500

T = TypeVar("T")


class StoreRequest(NamedTuple):
    sender: str
    id: str
    recipient: str
    content: str
    max_pending: int
    # Bytes of undelivered content the recipient may have waiting (None: no bound).
    max_bytes: int | None = None


def content_bytes(content: str) -> int:
    """UTF-8 size of ``content`` (what SQLite's length(CAST(content AS BLOB)) counts)."""
    return len(content) if content.isascii() else len(content.encode("utf-8", "surrogatepass"))


def _chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def store_messages(
    conn: sqlite3.Connection, requests: Sequence[StoreRequest], now: int
) -> list[StoreOutcome]:
    """Queue messages for their recipients, one answer per request, in order.

    A known (sender, id) gets its first answer back. The work is a handful of statements
    for the whole group commit rather than several per message: every SQLite statement is
    a hand-off of the GIL between this thread and the event loop.
    """
    recipients = list(dict.fromkeys(r.recipient for r in requests))
    counts: dict[str, int] = {}
    sizes: dict[str, int] = {}
    for chunk in _chunks(recipients, 500):
        marks = ",".join("?" * len(chunk))
        for user_id, count, size in conn.execute(
            f"SELECT id, pending_count, pending_bytes FROM users WHERE id IN ({marks})",  # noqa: S608
            list(chunk),
        ):
            counts[user_id] = int(count)
            sizes[user_id] = int(size)
    keys = list(dict.fromkeys((r.sender, r.id) for r in requests))
    known: dict[tuple[str, str], int] = {}
    for key_chunk in _chunks(keys, 400):
        values = ",".join("(?, ?)" for _ in key_chunk)
        for sender, message_id, stamp in conn.execute(
            "SELECT m.sender, m.id, m.timestamp FROM"  # noqa: S608 (placeholders only)
            f" (VALUES {values}) AS v JOIN messages AS m"
            " ON m.sender = v.column1 AND m.id = v.column2",
            [part for key in key_chunk for part in key],
        ):
            known[(sender, message_id)] = int(stamp)
    outcomes: list[StoreOutcome] = []
    rows: list[tuple[str, str, str, str, int]] = []
    added: dict[str, tuple[int, int]] = {}
    for r in requests:
        stamp = known.get((r.sender, r.id))
        if stamp is not None:
            outcomes.append(StoreOutcome(stamp, False))
            continue
        count = counts.get(r.recipient)
        if count is None:
            outcomes.append(StoreOutcome(0, False, "user_not_found"))
            continue
        if count >= r.max_pending:
            outcomes.append(StoreOutcome(0, False, "queue_full"))
            continue
        size = content_bytes(r.content)
        if r.max_bytes is not None and sizes[r.recipient] + size > r.max_bytes:
            outcomes.append(StoreOutcome(0, False, "recipient_quota_exceeded"))
            continue
        counts[r.recipient] = count + 1
        sizes[r.recipient] += size
        old_count, old_size = added.get(r.recipient, (0, 0))
        added[r.recipient] = (old_count + 1, old_size + size)
        known[(r.sender, r.id)] = now
        rows.append((r.sender, r.id, r.recipient, r.content, now))
        outcomes.append(StoreOutcome(now, True))
    # Rowids follow the VALUES order, so `seq` keeps the order the messages were accepted.
    for row_chunk in _chunks(rows, 150):
        values = ",".join("(?, ?, ?, ?, ?, 'sent')" for _ in row_chunk)
        conn.execute(
            "INSERT INTO messages (sender, id, recipient, content, timestamp, status)"  # noqa: S608
            f" VALUES {values}",
            [part for row in row_chunk for part in row],
        )
    for add_chunk in _chunks(list(added.items()), 200):
        cases = " ".join("WHEN ? THEN ?" for _ in add_chunk)
        marks = ",".join("?" * len(add_chunk))
        conn.execute(
            f"UPDATE users SET pending_count = pending_count + CASE id {cases} END,"  # noqa: S608
            f" pending_bytes = pending_bytes + CASE id {cases} END"
            f" WHERE id IN ({marks})",
            [part for user_id, (n, _) in add_chunk for part in (user_id, n)]
            + [part for user_id, (_, b) in add_chunk for part in (user_id, b)]
            + [user_id for user_id, _ in add_chunk],
        )
    return outcomes


def pending(
    conn: sqlite3.Connection, recipient: str, limit: int, after_seq: int = 0
) -> list[tuple[int, StoredMessage]]:
    """Unacknowledged messages for ``recipient`` in acceptance order, with their sequence."""
    rows = conn.execute(
        "SELECT seq, id, sender, content, timestamp FROM messages"
        " WHERE recipient = ? AND content IS NOT NULL AND seq > ? ORDER BY seq LIMIT ?",
        (recipient, after_seq, limit),
    ).fetchall()
    return [
        (int(row[0]), StoredMessage(row[1], row[2], recipient, row[3], int(row[4]))) for row in rows
    ]


def _group(rows: Sequence[tuple[str, str]]) -> list[AckedBatch]:
    by_sender: dict[str, list[str]] = {}
    for sender, message_id in rows:
        by_sender.setdefault(sender, []).append(message_id)
    return [AckedBatch(sender, tuple(ids)) for sender, ids in by_sender.items()]


def acknowledge(conn: sqlite3.Connection, recipient: str, ids: Sequence[str]) -> AckOutcome:
    """Drop the content of the recipient's acknowledged messages; who to tell ``delivered``."""
    acked: list[tuple[str, str]] = []
    seqs: list[int] = []
    freed = 0
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), _CHUNK):
        chunk = unique[start : start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        for row in conn.execute(
            "SELECT seq, sender, id, status, length(CAST(content AS BLOB)) FROM messages"  # noqa: S608
            f" WHERE recipient = ? AND id IN ({marks}) AND content IS NOT NULL ORDER BY seq",
            (recipient, *chunk),
        ):
            seqs.append(int(row[0]))
            freed += int(row[4])
            if row[3] == "sent":
                acked.append((row[1], row[2]))
    if not seqs:
        return AckOutcome([], 0)
    for start in range(0, len(seqs), _CHUNK):
        chunk_seqs = seqs[start : start + _CHUNK]
        marks = ",".join("?" * len(chunk_seqs))
        conn.execute(
            "UPDATE messages SET content = NULL,"  # noqa: S608
            " status = CASE status WHEN 'sent' THEN 'delivered' ELSE status END"
            f" WHERE seq IN ({marks})",
            chunk_seqs,
        )
    conn.execute(
        "UPDATE users SET pending_count = max(0, pending_count - ?),"
        " pending_bytes = max(0, pending_bytes - ?) WHERE id = ?",
        (len(seqs), freed, recipient),
    )
    return AckOutcome(_group(acked), len(seqs))


def mark_read(
    conn: sqlite3.Connection, reader: str, peer_id: str, ids: Sequence[str]
) -> tuple[str, ...]:
    """Mark messages ``peer_id`` sent to ``reader`` as read; the ids that changed."""
    unique = list(dict.fromkeys(ids))
    if not unique:
        return ()
    marks = ",".join("?" * len(unique))
    # No RETURNING: it needs SQLite 3.35, older than some supported Pythons ship.
    rows = conn.execute(
        "SELECT seq, id FROM messages"  # noqa: S608
        f" WHERE recipient = ? AND sender = ? AND id IN ({marks}) AND status != 'read'"
        " ORDER BY seq",
        (reader, peer_id, *unique),
    ).fetchall()
    if rows:
        seq_marks = ",".join("?" * len(rows))
        conn.execute(
            f"UPDATE messages SET status = 'read' WHERE seq IN ({seq_marks})",  # noqa: S608
            [row[0] for row in rows],
        )
    return tuple(str(row[1]) for row in rows)


def queue_status(conn: sqlite3.Connection, user_id: str, payload: bytes) -> None:
    conn.execute("INSERT INTO status_queue (user_id, payload) VALUES (?, ?)", (user_id, payload))


def take_statuses(conn: sqlite3.Connection, user_id: str) -> list[bytes]:
    rows = conn.execute(
        "SELECT seq, payload FROM status_queue WHERE user_id = ? ORDER BY seq", (user_id,)
    ).fetchall()
    if rows:
        conn.execute(
            "DELETE FROM status_queue WHERE user_id = ? AND seq <= ?", (user_id, rows[-1][0])
        )
    return [bytes(row[1]) for row in rows]


def pending_total(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT coalesce(sum(pending_count), 0) FROM users").fetchone()
    return int(row[0])

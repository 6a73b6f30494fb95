"""The durable direct-message queue and the queue of status events for offline senders."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from whatsapp_client.server.storage.records import (
    AckedBatch,
    AckOutcome,
    StoredMessage,
    StoreOutcome,
)

_CHUNK = 500


def store_message(
    conn: sqlite3.Connection,
    sender: str,
    message_id: str,
    recipient: str,
    content: str,
    now: int,
    max_pending: int,
) -> StoreOutcome:
    """Queue a message for its recipient; a known (sender, id) returns the first answer."""
    # Common path in three statements: the recipient's count, the insert (a no-op for a
    # known id), the count update. Resends and refusals take the slower paths.
    target = conn.execute("SELECT pending_count FROM users WHERE id = ?", (recipient,)).fetchone()
    if target is None or int(target[0]) >= max_pending:
        known = _known(conn, sender, message_id)
        if known is not None:
            return known
        return StoreOutcome(0, False, "user_not_found" if target is None else "queue_full")
    cursor = conn.execute(
        "INSERT OR IGNORE INTO messages (sender, id, recipient, content, timestamp, status)"
        " VALUES (?, ?, ?, ?, ?, 'sent')",
        (sender, message_id, recipient, content, now),
    )
    if cursor.rowcount != 1:
        known = _known(conn, sender, message_id)
        assert known is not None
        return known
    conn.execute("UPDATE users SET pending_count = pending_count + 1 WHERE id = ?", (recipient,))
    return StoreOutcome(now, True)


def _known(conn: sqlite3.Connection, sender: str, message_id: str) -> StoreOutcome | None:
    row = conn.execute(
        "SELECT timestamp FROM messages WHERE sender = ? AND id = ?", (sender, message_id)
    ).fetchone()
    return StoreOutcome(int(row[0]), False) if row is not None else None


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
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), _CHUNK):
        chunk = unique[start : start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        for row in conn.execute(
            "SELECT seq, sender, id, status FROM messages"  # noqa: S608
            f" WHERE recipient = ? AND id IN ({marks}) AND content IS NOT NULL ORDER BY seq",
            (recipient, *chunk),
        ):
            seqs.append(int(row[0]))
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
        "UPDATE users SET pending_count = max(0, pending_count - ?) WHERE id = ?",
        (len(seqs), recipient),
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

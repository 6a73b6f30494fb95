"""The direct-message queue and the status queue on PostgreSQL.

Storing locks the recipients' ``users`` rows (in id order, so no deadlock) before anything
else: every process then appends to one recipient's queue one transaction at a time, so
``seq`` order is commit order per recipient, the quota counters cannot be overrun and a
resent (sender, id) is found rather than inserted twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from whatsapp_client.server.storage.records import (
    AckedBatch,
    AckOutcome,
    StoredMessage,
    StoreOutcome,
)
from whatsapp_client.server.storage.sql_messages import StoreRequest, content_bytes

if TYPE_CHECKING:
    from asyncpg import Connection


async def store_messages(
    conn: Connection, requests: Sequence[StoreRequest], now: int
) -> list[StoreOutcome]:
    """Queue messages, one answer per request in order (run inside a transaction)."""
    recipients = sorted({r.recipient for r in requests})
    counts: dict[str, int] = {}
    sizes: dict[str, int] = {}
    for row in await conn.fetch(
        "SELECT id, pending_count, pending_bytes FROM users WHERE id = ANY($1::text[])"
        " ORDER BY id FOR UPDATE",
        recipients,
    ):
        counts[row[0]] = int(row[1])
        sizes[row[0]] = int(row[2])
    known: dict[tuple[str, str], int] = {}
    for row in await conn.fetch(
        "SELECT m.sender, m.id, m.timestamp FROM messages m"
        " JOIN unnest($1::text[], $2::text[]) AS k(sender, id)"
        " ON m.sender = k.sender AND m.id = k.id",
        [r.sender for r in requests],
        [r.id for r in requests],
    ):
        known[(row[0], row[1])] = int(row[2])
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
    if rows:
        # ORDER BY ordinality: serial values follow the order the messages were accepted.
        await conn.execute(
            "INSERT INTO messages (sender, id, recipient, content, timestamp, status)"
            " SELECT s, i, r, c, t, 'sent' FROM unnest($1::text[], $2::text[], $3::text[],"
            " $4::text[], $5::bigint[]) WITH ORDINALITY AS v(s, i, r, c, t, n) ORDER BY n",
            *[list(column) for column in zip(*rows)],
        )
    if added:
        await conn.execute(
            "UPDATE users SET pending_count = pending_count + a.n, pending_bytes ="
            " pending_bytes + a.b FROM unnest($1::text[], $2::bigint[], $3::bigint[])"
            " AS a(id, n, b) WHERE users.id = a.id",
            list(added),
            [n for n, _ in added.values()],
            [b for _, b in added.values()],
        )
    return outcomes


async def pending(
    conn: Connection, recipient: str, limit: int, after_seq: int = 0
) -> list[tuple[int, StoredMessage]]:
    rows = await conn.fetch(
        "SELECT seq, id, sender, content, timestamp FROM messages"
        " WHERE recipient = $1 AND content IS NOT NULL AND seq > $2 ORDER BY seq LIMIT $3",
        recipient,
        after_seq,
        limit,
    )
    return [
        (int(row[0]), StoredMessage(row[1], row[2], recipient, row[3], int(row[4]))) for row in rows
    ]


async def acknowledge(conn: Connection, recipient: str, ids: Sequence[str]) -> AckOutcome:
    """Drop the content of acknowledged messages; who to tell ``delivered``."""
    unique = list(dict.fromkeys(ids))
    await conn.execute("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", recipient)
    rows = await conn.fetch(
        "SELECT seq, sender, id, status, octet_length(content) FROM messages"
        " WHERE recipient = $1 AND id = ANY($2::text[]) AND content IS NOT NULL ORDER BY seq",
        recipient,
        unique,
    )
    if not rows:
        return AckOutcome([], 0)
    await conn.execute(
        "UPDATE messages SET content = NULL,"
        " status = CASE status WHEN 'sent' THEN 'delivered' ELSE status END"
        " WHERE seq = ANY($1::bigint[])",
        [row[0] for row in rows],
    )
    freed = sum(int(row[4]) for row in rows)
    await conn.execute(
        "UPDATE users SET pending_count = greatest(0, pending_count - $1),"
        " pending_bytes = greatest(0, pending_bytes - $2) WHERE id = $3",
        len(rows),
        freed,
        recipient,
    )
    by_sender: dict[str, list[str]] = {}
    for row in rows:
        if row[3] == "sent":
            by_sender.setdefault(row[1], []).append(row[2])
    return AckOutcome([AckedBatch(s, tuple(i)) for s, i in by_sender.items()], len(rows))


async def mark_read(
    conn: Connection, reader: str, peer_id: str, ids: Sequence[str]
) -> tuple[str, ...]:
    unique = list(dict.fromkeys(ids))
    if not unique:
        return ()
    rows = await conn.fetch(
        "WITH changed AS (UPDATE messages SET status = 'read' WHERE recipient = $1"
        " AND sender = $2 AND id = ANY($3::text[]) AND status != 'read' RETURNING seq, id)"
        " SELECT id FROM changed ORDER BY seq",
        reader,
        peer_id,
        unique,
    )
    return tuple(str(row[0]) for row in rows)


async def queue_status(conn: Connection, user_id: str, payload: bytes) -> None:
    await conn.execute(
        "INSERT INTO status_queue (user_id, payload) VALUES ($1, $2)", user_id, payload
    )


async def take_statuses(conn: Connection, user_id: str) -> list[bytes]:
    rows = await conn.fetch(
        "WITH taken AS (DELETE FROM status_queue WHERE seq IN (SELECT seq FROM status_queue"
        " WHERE user_id = $1 FOR UPDATE SKIP LOCKED) RETURNING seq, payload)"
        " SELECT payload FROM taken ORDER BY seq",
        user_id,
    )
    return [bytes(row[0]) for row in rows]


async def pending_total(conn: Connection) -> int:
    return int(await conn.fetchval("SELECT coalesce(sum(pending_count), 0) FROM users"))

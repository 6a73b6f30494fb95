"""The direct-message queue and the status queue on PostgreSQL.

Storing and acknowledging are server-side functions (pg_functions.py), one round trip each.
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
    """Queue messages, one answer per request in order: one statement, one round trip
    (``wac_store_messages``, see pg_functions.py), atomic on its own."""
    rows = await conn.fetch(
        "SELECT stamp, is_new, error FROM wac_store_messages($1::text[], $2::text[],"
        " $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint)",
        [r.sender for r in requests],
        [r.id for r in requests],
        [r.recipient for r in requests],
        [r.content for r in requests],
        [content_bytes(r.content) for r in requests],
        [r.max_pending for r in requests],
        [r.max_bytes for r in requests],
        now,
    )
    return [StoreOutcome(int(row[0]), bool(row[1]), row[2]) for row in rows]


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


async def acknowledge_many(
    conn: Connection, requests: Sequence[tuple[str, Sequence[str]]]
) -> list[AckOutcome]:
    """Apply (recipient, ids) acknowledgements in order: drop the content of the messages,
    and say whom to tell ``delivered``. One statement (``wac_acknowledge``, see
    pg_functions.py), atomic on its own."""
    acks: list[int] = []
    recipients: list[str] = []
    ids: list[str] = []
    for number, (recipient, wanted) in enumerate(requests):
        for message_id in dict.fromkeys(wanted):
            acks.append(number)
            recipients.append(recipient)
            ids.append(message_id)
    rows = await conn.fetch(
        "SELECT ack, sender, id, was_sent FROM wac_acknowledge($1::int[], $2::text[], $3::text[])",
        acks,
        recipients,
        ids,
    )
    by_sender: list[dict[str, list[str]]] = [{} for _ in requests]
    cleared = [0] * len(requests)
    for row in rows:
        number = int(row[0])
        cleared[number] += 1
        if row[3]:
            by_sender[number].setdefault(row[1], []).append(row[2])
    return [
        AckOutcome([AckedBatch(s, tuple(i)) for s, i in senders.items()], count)
        for senders, count in zip(by_sender, cleared)
    ]


async def mark_read(
    conn: Connection, reader: str, peer_id: str, ids: Sequence[str]
) -> tuple[str, ...]:
    unique = list(dict.fromkeys(ids))
    if not unique:
        return ()
    # The reader's row, as an acknowledgement takes it: the two never change the same
    # messages at once (wac_acknowledge reads their status before it updates them).
    await conn.execute("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", reader)
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

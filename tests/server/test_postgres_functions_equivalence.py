"""The set-based functions of migration 3 answer exactly as the loops of migration 2 did.

Two databases start equal; random batches of messages (duplicate ids, unknown recipients,
full queues, byte quotas) and random runs of acknowledgements go to the new functions in
one and to the old loops in the other. After every step the answers, the queued messages
in seq order and every counter must match.
"""

from __future__ import annotations

import random
from typing import Any

import asyncpg

from tests.pg_support import PostgresCluster, create_database
from whatsapp_client.server.storage import pg_functions_v2
from whatsapp_client.server.storage.postgres import PostgresStorage

USERS = ["ann", "ben", "cat", "dan"]
STEPS = 90


async def _database(cluster: PostgresCluster) -> asyncpg.Connection:
    dsn = await create_database(cluster)
    storage = PostgresStorage(dsn)
    await storage.open()
    try:
        for name in USERS:
            assert await storage.create_user(name, name, b"hash") is not None
    finally:
        await storage.close()
    return await asyncpg.connect(dsn)


def _batch(
    rng: random.Random, mode: str, queued: dict[str, tuple[int, int]], stored: list[Any]
) -> list[Any]:
    """Arrays for wac_store_messages. ``roomy``: fresh ids, large quotas (the set-based
    path; now and then one message twice, or one stored before); ``tight``: fresh ids to
    one recipient, quotas within a message or a few bytes of what the batch needs (either
    path, right at the boundary); ``messy``: ids from a small pool and unknown recipients
    (the loop). ``queued``: (count, bytes) per user; ``stored``: (sender, id) pairs."""
    size = rng.randint(1, 25)
    senders = [rng.choice(USERS) for _ in range(size)]
    fresh = mode != "messy"
    ids = [f"m{rng.randrange(10**9 if fresh else 12)}" for _ in range(size)]
    if mode == "messy":
        recipients = [rng.choice([*USERS, "nobody"]) for _ in range(size)]
    elif mode == "tight":
        recipients = [rng.choice(USERS)] * size
    else:
        recipients = [rng.choice(USERS) for _ in range(size)]
    if mode == "roomy" and size > 1 and rng.random() < 0.25:  # one message twice
        first, again = rng.sample(range(size), 2)
        senders[again], ids[again] = senders[first], ids[first]
    elif mode == "roomy" and stored and rng.random() < 0.25:  # a resend
        senders[0], ids[0] = rng.choice(stored)
    contents = ["é" * rng.randint(0, 6) + "x" * rng.randint(0, 20) for _ in range(size)]
    sizes = [len(c.encode()) for c in contents]
    max_pending: list[int] = [10**6] * size
    max_bytes: list[int | None] = [None] * size
    if mode == "tight":
        count, held = queued[recipients[0]]
        if rng.random() < 0.5:
            max_pending = [count + size + rng.randint(-2, 1)] * size
        else:
            max_bytes = [held + sum(sizes) + rng.randint(-3, 1)] * size
    elif mode == "messy":
        max_pending = [rng.randint(1, 8)] * size
    return [senders, ids, recipients, contents, sizes, max_pending, max_bytes]


def _acks(rng: random.Random, known: list[tuple[str, str]]) -> list[Any]:
    """Arrays for wac_acknowledge: a few acks, each one recipient's list of ids."""
    numbers: list[int] = []
    recipients: list[str] = []
    ids: list[str] = []
    for number in range(rng.randint(1, 4)):
        recipient = rng.choice(USERS)
        mine = [i for r, i in known if r == recipient] or ["m-none"]
        for message_id in rng.sample(mine, min(len(mine), rng.randint(1, 6))):
            numbers.append(number)
            recipients.append(recipient)
            ids.append(message_id)
    return [numbers, recipients, ids]


async def _state(conn: asyncpg.Connection) -> tuple[list[Any], list[Any]]:
    messages = await conn.fetch(
        "SELECT sender, id, recipient, content, status FROM messages ORDER BY seq"
    )
    counters = await conn.fetch("SELECT id, pending_count, pending_bytes FROM users ORDER BY id")
    return [tuple(r) for r in messages], [tuple(r) for r in counters]


async def test_the_set_based_functions_answer_as_the_loops_did(
    pg_cluster: PostgresCluster,
) -> None:
    new, old = await _database(pg_cluster), await _database(pg_cluster)
    try:
        # The loop of migration 2 is kept as wac_store_messages_loop; its acknowledgement
        # loop is installed here under another name to compare against.
        await old.execute(
            pg_functions_v2.ACKNOWLEDGE.replace("wac_acknowledge(", "wac_acknowledge_loop(")
        )
        rng = random.Random(20261201)
        stored_fast = refused = 0
        for step in range(STEPS):
            if step % 3 == 2:
                known = [(r[2], r[1]) for r in (await _state(new))[0] if r[3] is not None]
                args = _acks(rng, known)
                query = "SELECT * FROM {}($1::int[], $2::text[], $3::text[])"
                got = await new.fetch(query.format("wac_acknowledge"), *args)
                want = await old.fetch(query.format("wac_acknowledge_loop"), *args)
            else:
                mode = rng.choice(["roomy", "tight", "tight", "messy"])
                messages, counters = await _state(new)
                queued = {r[0]: (r[1], r[2]) for r in counters}
                stored = [(r[0], r[1]) for r in messages]
                args = [*_batch(rng, mode, queued, stored), 1_700_000_000_000 + step]
                query = (
                    "SELECT * FROM {}($1::text[], $2::text[], $3::text[], $4::text[],"
                    " $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint)"
                )
                got = await new.fetch(query.format("wac_store_messages"), *args)
                want = await old.fetch(query.format("wac_store_messages_loop"), *args)
                stored_fast += mode != "messy" and all(r[1] for r in got)
                refused += mode == "tight" and not all(r[1] for r in got)
            assert [tuple(r) for r in got] == [tuple(r) for r in want], step
            assert await _state(new) == await _state(old), step
        # The set-based path itself ran, and so did the fallback for fresh ids over quota.
        assert stored_fast >= 15 and refused >= 8, (stored_fast, refused)
    finally:
        await new.close()
        await old.close()


async def test_a_database_at_version_2_gets_the_set_based_functions(
    pg_cluster: PostgresCluster,
) -> None:
    conn = await _database(pg_cluster)
    try:
        names = {
            row[0]
            for row in await conn.fetch("SELECT proname FROM pg_proc WHERE proname LIKE 'wac\\_%'")
        }
        assert names == {"wac_store_messages", "wac_store_messages_loop", "wac_acknowledge"}
        body = await conn.fetchval("SELECT prosrc FROM pg_proc WHERE proname = 'wac_acknowledge'")
        assert "LOOP" not in body  # the replaced loop is gone
    finally:
        await conn.close()

"""The server-side functions that store and acknowledge direct messages in one round trip:
the answers, quotas, counters and ordering the Python code had, and the upgrade of a
database created before them."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

from whatsapp_client.server.storage.pg_schema import MIGRATIONS, SCHEMA_VERSION
from whatsapp_client.server.storage.postgres import PostgresStorage
from whatsapp_client.server.storage.records import AckedBatch, StoreOutcome


async def _user(storage: PostgresStorage, name: str) -> str:
    record = await storage.create_user(name + "-id", name, b"hash")
    assert record is not None
    return record.id


def _submit(
    storage: PostgresStorage,
    sender: str,
    mid: str,
    to: str,
    content: str = "ciphertext",
    max_pending: int = 100,
    max_bytes: int | None = None,
) -> asyncio.Future[Any]:
    done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    storage.submit_message(
        sender, mid, to, content, max_pending, done.set_result, max_pending_bytes=max_bytes
    )
    return done


async def _counters(dsn: str, user_id: str) -> tuple[int, int]:
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            "SELECT pending_count, pending_bytes FROM users WHERE id = $1", user_id
        )
    finally:
        await conn.close()
    assert row is not None
    return int(row[0]), int(row[1])


async def test_one_batch_answers_each_message_in_order(pg_dsn: str) -> None:
    storage = PostgresStorage(pg_dsn)
    await storage.open()
    try:
        alice, bob, carol = [await _user(storage, n) for n in ("alice", "bob", "carol")]
        before = await _submit(storage, alice, "old", bob)
        # Submitted together: one batch, one statement.
        batch = [
            _submit(storage, alice, "m1", bob, "é" * 3),  # 6 bytes of UTF-8
            _submit(storage, alice, "m1", bob),  # the same id again in the batch
            _submit(storage, alice, "old", bob),  # stored before
            _submit(storage, alice, "m2", "nobody"),
            _submit(storage, carol, "m3", bob, max_pending=3),  # bob has 2: fits
            _submit(storage, carol, "m4", bob, max_pending=3),  # now 3: full
            # 26 bytes queued by now: 10 more fit in 36, 10 after that do not.
            _submit(storage, carol, "m5", bob, "x" * 10, max_bytes=36),
            _submit(storage, carol, "m6", bob, "x" * 10, max_bytes=36),
        ]
        first, again, old, unknown, fits, full, in_quota, over_quota = await asyncio.gather(*batch)
        assert first.new and first.timestamp > 0
        assert again == StoreOutcome(first.timestamp, False)
        assert old == StoreOutcome(before.timestamp, False)
        assert unknown == StoreOutcome(0, False, "user_not_found")
        assert fits.new
        assert full == StoreOutcome(0, False, "queue_full")
        assert in_quota.new
        assert over_quota == StoreOutcome(0, False, "recipient_quota_exceeded")
        queued = [m.id for _, m in await storage.pending(bob, 10)]
        assert queued == ["old", "m1", "m3", "m5"]
        # "ciphertext" twice (old, m3), "é"*3 (m1) and "x"*10 (m5): 36 bytes.
        assert await _counters(pg_dsn, bob) == (4, 10 + 6 + 10 + 10)
    finally:
        await storage.close()


async def test_acknowledge_frees_the_queue_and_names_whom_to_tell(pg_dsn: str) -> None:
    storage = PostgresStorage(pg_dsn)
    await storage.open()
    try:
        alice, bob, carol = [await _user(storage, n) for n in ("alice", "bob", "carol")]
        await asyncio.gather(
            _submit(storage, alice, "a1", bob, "12345"),
            _submit(storage, alice, "a2", bob, "123"),
            _submit(storage, carol, "c1", bob, "1"),
            _submit(storage, carol, "c2", bob, "12"),
        )
        # Read before it was acknowledged: it leaves the queue without a `delivered`.
        assert await storage.mark_read(bob, carol, ["c2"]) == ("c2",)
        outcome = await storage.acknowledge(bob, ["a2", "c2", "a1", "a1", "unknown", "c1"])
        assert outcome.cleared == 4
        assert outcome.batches == [AckedBatch(alice, ("a1", "a2")), AckedBatch(carol, ("c1",))]
        assert await storage.pending(bob, 10) == []
        assert await _counters(pg_dsn, bob) == (0, 0)
        # A second ack of the same ids changes nothing.
        again = await storage.acknowledge(bob, ["a1", "c1"])
        assert (again.batches, again.cleared) == ([], 0)
    finally:
        await storage.close()


async def test_the_same_id_from_two_processes_at_once_is_stored_once(pg_dsn: str) -> None:
    first, second = PostgresStorage(pg_dsn), PostgresStorage(pg_dsn)
    await first.open()
    await second.open()
    try:
        alice, bob = await _user(first, "alice"), await _user(first, "bob")
        for n in range(20):
            one, two = await asyncio.gather(
                _submit(first, alice, f"m{n}", bob), _submit(second, alice, f"m{n}", bob)
            )
            assert sorted([one.new, two.new]) == [False, True]
            assert one.timestamp == two.timestamp
        assert [m.id for _, m in await first.pending(bob, 100)] == [f"m{n}" for n in range(20)]
        assert await _counters(pg_dsn, bob) == (20, 20 * len("ciphertext"))
    finally:
        await first.close()
        await second.close()


async def test_a_database_from_before_the_functions_is_upgraded(pg_dsn: str) -> None:
    conn = await asyncpg.connect(pg_dsn)
    try:
        await conn.execute(
            "CREATE TABLE schema_migrations"
            " (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        for statement in MIGRATIONS[1]:
            await conn.execute(statement)
        await conn.execute("INSERT INTO schema_migrations (version) VALUES (1)")
    finally:
        await conn.close()
    storage = PostgresStorage(pg_dsn)
    await storage.open()
    try:
        alice, bob = await _user(storage, "alice"), await _user(storage, "bob")
        assert (await _submit(storage, alice, "m", bob)).new
        assert (await storage.acknowledge(bob, ["m"])).cleared == 1
    finally:
        await storage.close()
    conn = await asyncpg.connect(pg_dsn)
    try:
        versions = [r[0] for r in await conn.fetch("SELECT version FROM schema_migrations")]
    finally:
        await conn.close()
    assert versions == list(range(1, SCHEMA_VERSION + 1)) and SCHEMA_VERSION >= 2


async def test_acknowledgements_queued_together_are_applied_in_order(pg_dsn: str) -> None:
    storage = PostgresStorage(pg_dsn)
    await storage.open()
    try:
        alice, bob, carol = [await _user(storage, n) for n in ("alice", "bob", "carol")]
        await asyncio.gather(
            _submit(storage, alice, "to-bob", bob, "12"),
            _submit(storage, alice, "to-carol", carol, "123"),
            _submit(storage, bob, "from-bob", carol, "1"),
        )
        # Queued together: one statement answers each in turn; the second ack of the same
        # message finds it already cleared.
        first, second, third, empty = await asyncio.gather(
            storage.acknowledge(carol, ["to-carol", "from-bob"]),
            storage.acknowledge(bob, ["to-bob"]),
            storage.acknowledge(carol, ["to-carol"]),
            storage.acknowledge(bob, []),
        )
        assert first.cleared == 2
        assert first.batches == [AckedBatch(alice, ("to-carol",)), AckedBatch(bob, ("from-bob",))]
        assert second.batches == [AckedBatch(alice, ("to-bob",))] and second.cleared == 1
        assert (third.batches, third.cleared) == ([], 0)
        assert (empty.batches, empty.cleared) == ([], 0)
        assert await _counters(pg_dsn, bob) == (0, 0)
        assert await _counters(pg_dsn, carol) == (0, 0)
    finally:
        await storage.close()


async def _queued(storage: PostgresStorage, sender: str, mid: str, to: str) -> Any:
    """A message for a queue of one, submitted when this task runs: tasks started by one
    gather() all queue their writes before the writer takes the next batch."""
    return await _submit(storage, sender, mid, to, max_pending=1)


async def test_acknowledgements_go_ahead_of_messages_but_not_of_other_writes(
    pg_dsn: str,
) -> None:
    storage = PostgresStorage(pg_dsn)
    await storage.open()
    try:
        alice, bob = await _user(storage, "alice"), await _user(storage, "bob")
        assert (await _submit(storage, alice, "old", bob, max_pending=1)).new
        # Queued together: bob's ack commits first, so the message finds room in his queue
        # (the ack cannot concern a message of the same batch: those are not delivered yet).
        fits, acked = await asyncio.gather(
            _queued(storage, alice, "new", bob), storage.acknowledge(bob, ["old"])
        )
        assert fits.new and acked.cleared == 1
        # Another write queued between them (a read receipt) is a fence the ack stays behind.
        full, read, later = await asyncio.gather(
            _queued(storage, alice, "newer", bob),
            storage.mark_read(bob, alice, ["new"]),
            storage.acknowledge(bob, ["new"]),
        )
        assert full == StoreOutcome(0, False, "queue_full")
        assert read == ("new",) and later.cleared == 1
    finally:
        await storage.close()

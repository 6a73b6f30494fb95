"""PostgreSQL push wake-ups between processes (``LISTEN``/``NOTIFY``, ``_pg_notify``): a
send queued through one storage reaches the subscriber of another at the commit, a refused
one never does, and written events wake every subscriber. Then two gateway services whose
queue poll is two minutes: a send through the process that does not run the session goes
out at once, carried by the notification alone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from tests.gateway import _store_support as f
from tests.gateway.test_runtime_leases import Pair, _has_text
from tests.support import eventually_async, reference_server
from whatsapp_client.gateway._errors import QueueFull
from whatsapp_client.gateway._pg import PostgresStorage
from whatsapp_client.gateway._requests import SendSpec
from whatsapp_client.gateway._vault import Vault


class Heard:
    def __init__(self) -> None:
        self.queued: asyncio.Queue[str] = asyncio.Queue()
        self.events = asyncio.Event()

    def on_queued(self, session_id: str) -> None:
        self.queued.put_nowait(session_id)

    def on_events(self) -> None:
        self.events.set()


@pytest.fixture
async def two(pg_database: str) -> AsyncIterator[tuple[PostgresStorage, PostgresStorage]]:
    a, b = [PostgresStorage(pg_database, Vault.from_key(f.KEY)) for _ in range(2)]
    await a.open()
    await b.open()
    yield a, b
    await b.close()
    await a.close()


async def test_a_send_queued_in_one_process_is_pushed_to_the_other(
    two: tuple[PostgresStorage, PostgresStorage],
) -> None:
    listening, writing = two
    heard = Heard()
    await listening.subscribe(heard.on_queued, heard.on_events)
    sid, _ = await f.make_session(writing)
    message = f.outbound(sid)
    await writing.enqueue_send(message, f.queue_item(message), max_depth=1)
    assert await asyncio.wait_for(heard.queued.get(), 10) == sid
    # Refused (the queue is full): rolled back, so nothing is announced.
    refused = f.outbound(sid)
    with pytest.raises(QueueFull):
        await writing.enqueue_send(refused, f.queue_item(refused), max_depth=1)
    other, _ = await f.make_session(writing)
    message = f.outbound(other)
    await writing.enqueue_send(message, f.queue_item(message), max_depth=1)
    assert await asyncio.wait_for(heard.queued.get(), 10) == other  # not sid again


async def test_events_written_in_one_process_wake_the_others(
    two: tuple[PostgresStorage, PostgresStorage],
) -> None:
    listening, writing = two
    heard = Heard()
    await listening.subscribe(heard.on_queued, heard.on_events)
    sid, _ = await f.make_session(writing, None)
    assert not heard.events.is_set()
    await writing.add_events([f.event(sid)])
    await asyncio.wait_for(heard.events.wait(), 10)


async def test_a_lost_listening_connection_is_opened_again(
    two: tuple[PostgresStorage, PostgresStorage], pg_database: str
) -> None:
    listening, writing = two
    heard = Heard()
    await listening.subscribe(heard.on_queued, heard.on_events)
    conn = await asyncpg.connect(pg_database)
    try:  # what a restarted or partitioned server does to the listener
        killed = await conn.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND query LIKE 'LISTEN%'"
        )
    finally:
        await conn.close()
    assert killed == 1
    await asyncio.wait_for(heard.events.wait(), 10)  # a catch-up look at once
    sid, _ = await f.make_session(writing)

    async def announced() -> bool:  # sends are announced again once it listens again
        message = f.outbound(sid)
        await writing.enqueue_send(message, f.queue_item(message), max_depth=100)
        try:
            return await asyncio.wait_for(heard.queued.get(), 1) == sid
        except asyncio.TimeoutError:
            return False

    await eventually_async(announced, timeout=20, what="notifications after the reconnect")


async def test_a_send_through_the_other_process_goes_out_without_waiting_for_a_poll(
    tmp_path: Path, pg_database: str
) -> None:
    async with reference_server(tmp_path) as server:
        # Polls (and lease rounds) far apart: only the notification can carry the send.
        pair = Pair(server, tmp_path, pg_database, lease_ttl=360.0, queue_poll_interval=120.0)
        await pair.a.start()
        await pair.b.start()
        try:
            alice, _ = await pair.create(pair.a, "alice")
            bob, bob_name = await pair.create(pair.a, "bob")
            status, _ = await pair.b.send(alice, SendSpec(to=bob_name, text="pushed"))
            assert status == 202
            await eventually_async(
                lambda: _has_text(pair.a, bob, "pushed"), timeout=20, what="bob receives it"
            )
        finally:
            await pair.b.close()
            await pair.a.close()

"""A frame for a user held only on the publishing process skips Redis; the handshake that
keeps this safe when a second process attaches the same user (redis_sharing.py)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from tests.server.fanout_support import FakeConn, Node, redis_nodes, settle, until
from whatsapp_client.server.redis_fanout import RedisFanout
from whatsapp_client.server.redis_sharing import ACK, JOIN, LEAVE, decode_control, encode_control

JOIN_TIMEOUT = 0.4  # seconds: short, so the test of a silent holder is quick


@pytest.fixture
async def nodes(redis_server: str, key_prefix: str) -> AsyncIterator[list[Node]]:
    async with redis_nodes(redis_server, key_prefix, ttl=0.6, join_timeout=JOIN_TIMEOUT) as made:
        yield made


class Spy:
    """A plain Redis subscriber on a user's channel: sees what really goes through Redis."""

    def __init__(self, url: str, channel: str) -> None:
        self._client = aioredis.Redis.from_url(url)
        self._pubsub: Any = self._client.pubsub()
        self._channel = channel
        self._marks = "spy-marks:" + uuid.uuid4().hex  # a channel the nodes do not read
        self.seen: list[bytes] = []
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Spy:
        await self._pubsub.subscribe(self._channel, self._marks)
        self._task = asyncio.ensure_future(self._read())
        return self

    async def frames(self) -> list[bytes]:
        """What went through the channel so far: a marker published now (on another
        channel, to the same connection) comes after everything the nodes have sent
        (call after settle())."""
        marker = b"marker-" + uuid.uuid4().hex.encode()
        await self._client.publish(self._marks, marker)
        await until(lambda: marker in self.seen, "the marker")
        return [data for data in self.seen if not data.startswith(b"marker-")]

    async def _read(self) -> None:
        while True:
            message = await self._pubsub.get_message(timeout=None)
            if message is not None and message["type"] == "message":
                self.seen.append(message["data"])

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        await self._pubsub.aclose()
        await self._client.aclose()


def user() -> str:
    return uuid.uuid4().hex


def frame(n: int) -> bytes:
    return b'{"type":"message","n":%d}' % n


def numbers(conn: FakeConn) -> list[int]:
    return [f["n"] for f in conn.of_type("message")]


def test_control_messages_round_trip_and_barrier_tokens_are_not_taken_for_them() -> None:
    for kind in (JOIN, LEAVE, ACK):
        assert decode_control(encode_control(kind, "bob", "p1")) == (kind, "bob", "p1")
    assert decode_control(uuid.uuid4().hex.encode()) is None
    assert decode_control(b"join\nbob") is None  # no sending process
    assert decode_control(b"join\n\np1") is None


async def test_a_user_held_only_here_costs_no_redis_traffic_until_another_process_holds_it(
    nodes: list[Node], redis_server: str, key_prefix: str
) -> None:
    a, b, _ = nodes
    bob = user()
    here, there = FakeConn(bob), FakeConn(bob)
    async with Spy(redis_server, key_prefix + "u:" + bob) as spy:
        await a.fanout.attach(here.conn)
        for n in range(20):
            a.fanout.publish(bob, frame(n), ("alice", f"m{n}"))
        assert await a.fanout.deliver(bob, b'{"type":"status"}') == 1
        await settle(nodes)
        assert numbers(here) == list(range(20)) and len(here.of_type("status")) == 1
        assert await spy.frames() == []
        # A second process attaches bob: from the moment its attach returns, a's frames
        # for bob go through Redis to it as well.
        await b.fanout.attach(there.conn)
        for n in range(20, 25):
            a.fanout.publish(bob, frame(n), ("alice", f"m{n}"))
        await settle(nodes)
        assert numbers(there) == list(range(20, 25))
        assert len(await spy.frames()) == 5
        # It leaves again: back to no traffic.
        b.fanout.detach(there.conn)
        await settle(nodes)
        for n in range(25, 30):
            a.fanout.publish(bob, frame(n), ("alice", f"m{n}"))
        await settle(nodes)
        assert numbers(here) == list(range(30))
        assert len(await spy.frames()) == 5


async def test_every_frame_after_an_attach_returns_reaches_the_new_process(
    nodes: list[Node],
) -> None:
    """The race the handshake closes: a keeps publishing for bob while b attaches bob."""
    a, b, c = nodes
    for _ in range(10):
        bob = user()
        await a.fanout.attach(FakeConn(bob).conn)
        published = [0]
        stop = asyncio.Event()

        async def flood(
            bob: str = bob, stop: asyncio.Event = stop, published: list[int] = published
        ) -> None:
            while not stop.is_set():
                a.fanout.publish(bob, frame(published[0]))
                published[0] += 1
                await asyncio.sleep(0)

        task = asyncio.ensure_future(flood())
        await asyncio.sleep(0.01)
        there = FakeConn(bob)
        await b.fanout.attach(there.conn)
        after_attach = published[0]
        await asyncio.sleep(0.01)
        stop.set()
        await task
        await settle(nodes)
        got = numbers(there)
        assert got == sorted(got)
        assert set(range(after_attach, published[0])) <= set(got), (after_attach, published)
        # A third process attaching too is told about by b as well as by a.
        late = FakeConn(bob)
        await c.fanout.attach(late.conn)
        b.fanout.publish(bob, frame(-1))
        await settle(nodes)
        assert numbers(late) == [-1]


async def test_two_processes_attaching_the_same_user_at_once_both_learn_of_each_other(
    nodes: list[Node],
) -> None:
    a, b, _ = nodes
    for _ in range(10):
        bob = user()
        on_a, on_b = FakeConn(bob), FakeConn(bob)
        await asyncio.gather(a.fanout.attach(on_a.conn), b.fanout.attach(on_b.conn))
        a.fanout.publish(bob, frame(1))
        b.fanout.publish(bob, frame(2))
        await settle(nodes)
        assert sorted(numbers(on_a)) == sorted(numbers(on_b)) == [1, 2]


async def test_a_holder_that_never_answers_delays_the_attach_boundedly_and_is_published_to(
    nodes: list[Node], redis_server: str, key_prefix: str
) -> None:
    a, _, _ = nodes
    bob = user()
    admin = aioredis.Redis.from_url(redis_server)
    try:
        # A process that crashed a moment ago (registered, its entry not yet expired), or
        # one that runs a version without the handshake.
        await admin.set(key_prefix + "alive:ghost", "1", px=60_000)
        await admin.sadd(key_prefix + "procs", "ghost")
        await admin.sadd(key_prefix + "online:" + bob, "ghost")
        async with Spy(redis_server, key_prefix + "u:" + bob) as spy:
            started = time.monotonic()
            await a.fanout.attach(FakeConn(bob).conn)
            assert time.monotonic() - started >= JOIN_TIMEOUT * 0.9
            a.fanout.publish(bob, frame(1))
            await settle(nodes)
            assert len(await spy.frames()) == 1  # it may hold bob's sockets: it gets the frame
            # Its entry expires; a liveness round reaps it, the next one forgets it.
            await admin.delete(key_prefix + "alive:ghost")
            assert isinstance(a.fanout, RedisFanout)
            await a.fanout._reap()
            await a.fanout._reap()
            a.fanout.publish(bob, frame(2))
            await settle(nodes)
            assert len(await spy.frames()) == 1
    finally:
        await admin.aclose()


async def test_a_second_socket_on_the_same_process_waits_for_the_first_ones_handshake(
    nodes: list[Node], redis_server: str, key_prefix: str
) -> None:
    a, _, _ = nodes
    bob = user()
    admin = aioredis.Redis.from_url(redis_server)
    try:
        await admin.sadd(key_prefix + "online:" + bob, "ghost")
        first = asyncio.ensure_future(a.fanout.attach(FakeConn(bob).conn))
        await asyncio.sleep(0)
        second = asyncio.ensure_future(a.fanout.attach(FakeConn(bob).conn))
        await asyncio.sleep(JOIN_TIMEOUT / 4)
        assert not second.done()
        await asyncio.gather(first, second)
    finally:
        await admin.aclose()


async def test_a_process_back_from_a_stall_tells_a_process_that_attached_the_user_meanwhile(
    nodes: list[Node],
) -> None:
    a, b, c = nodes
    bob = user()
    on_b, on_c = FakeConn(bob), FakeConn(bob)
    await b.fanout.attach(on_b.conn)
    assert isinstance(b.fanout, RedisFanout)
    keep_alive = b.fanout._tasks[2]
    keep_alive.cancel()
    watcher = FakeConn(user())
    await a.watch(watcher, [bob])
    await until(lambda: watcher.of_type("online") != [], "bob reaped from the stalled b")
    # c attaches bob while b counts as gone: c's handshake does not know b.
    await c.fanout.attach(on_c.conn)
    await b.fanout._heartbeat()  # b wakes up, registers bob again and tells c
    c.fanout.publish(bob, frame(1))
    b.fanout.publish(bob, frame(2))
    await settle(nodes)
    assert numbers(on_b) == [1, 2] or numbers(on_b) == [2, 1]
    assert sorted(numbers(on_c)) == [1, 2]


async def test_a_malformed_message_on_a_user_channel_does_not_stop_the_reader(
    nodes: list[Node], redis_server: str, key_prefix: str
) -> None:
    a, b, _ = nodes
    bob = user()
    on_a = FakeConn(bob)
    await a.fanout.attach(on_a.conn)
    admin = aioredis.Redis.from_url(redis_server)
    try:
        for junk in (b"x\nnot json\n{}", b"x\n42\n{}", b"x\n\xff\n"):
            await admin.publish(key_prefix + "u:" + bob, junk)
    finally:
        await admin.aclose()
    b.fanout.publish(bob, frame(1))
    # Not settle(): with its reader stopped, a would never see its own barrier.
    await until(lambda: numbers(on_a) == [1], "the frame after the junk")


async def test_a_frame_published_while_the_attach_is_under_way_still_reaches_the_other_holder(
    nodes: list[Node],
) -> None:
    a, b, _ = nodes
    bob = user()
    on_b = FakeConn(bob)
    await b.fanout.attach(on_b.conn)
    attaching = asyncio.ensure_future(a.fanout.attach(FakeConn(bob).conn))
    await asyncio.sleep(0)  # a holds bob's socket, does not know about b yet
    assert not attaching.done()
    a.fanout.publish(bob, frame(1))
    await attaching
    await settle(nodes)
    assert numbers(on_b) == [1]


async def test_a_process_that_closes_tells_the_other_holders_to_stop_publishing_to_it(
    nodes: list[Node], redis_server: str, key_prefix: str
) -> None:
    a, b, _ = nodes
    bob = user()
    assert isinstance(a.fanout, RedisFanout)
    a.fanout._tasks[2].cancel()  # no liveness round: only b's `leave` can tell a
    await a.fanout.attach(FakeConn(bob).conn)
    await b.fanout.attach(FakeConn(bob).conn)
    await b.fanout.close()
    await settle([a])
    async with Spy(redis_server, key_prefix + "u:" + bob) as spy:
        a.fanout.publish(bob, frame(1))
        await settle([a])
        assert await spy.frames() == []

"""The Redis fan-out across processes: two (or three) nodes sharing one real redis-server.

Each node is what one server process holds; here they share an event loop, and the
multi-process tests (test_multiprocess_redis.py) do the same with real server processes.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from tests.server.fanout_support import FakeConn, Node, redis_nodes, settle, until
from whatsapp_client.server.redis_envelope import decode_envelope, encode_envelope
from whatsapp_client.server.redis_fanout import RedisFanout

TTL = 0.6  # seconds: short, so a "crashed" node is reaped quickly


@pytest.fixture
async def nodes(redis_server: str, key_prefix: str) -> AsyncIterator[list[Node]]:
    async with redis_nodes(redis_server, key_prefix, ttl=TTL) as made:
        yield made


def user() -> str:
    return uuid.uuid4().hex


def test_the_envelope_keeps_the_dedup_key_and_the_frame() -> None:
    frame = b'{"type":"message","content":"a\\nb"}'
    keyed = encode_envelope(frame, ("alice", "m-1"), "p1")
    assert decode_envelope(keyed) == ("p1", frame, ("alice", "m-1"))
    assert decode_envelope(encode_envelope(frame, None, "p2")) == ("p2", frame, None)


async def test_frames_cross_processes_in_order_to_every_device(nodes: list[Node]) -> None:
    a, b, c = nodes
    bob = user()
    phone, laptop = FakeConn(bob), FakeConn(bob)
    await b.fanout.attach(phone.conn)
    await c.fanout.attach(laptop.conn)
    for i in range(100):
        a.fanout.publish(bob, b'{"type":"message","n":%d}' % i, ("alice", f"m{i}"))
    assert await a.fanout.deliver(bob, b'{"type":"status"}') == 2  # two processes hold bob
    await settle(nodes)
    for conn in (phone, laptop):
        assert [f["n"] for f in conn.of_type("message")] == list(range(100))
        assert len(conn.of_type("status")) == 1


async def test_presence_is_global_and_announced_once(nodes: list[Node]) -> None:
    a, b, c = nodes
    bob = user()
    watcher_a, watcher_c = FakeConn(user()), FakeConn(user())
    await a.watch(watcher_a, [bob])
    await c.watch(watcher_c, [bob])
    on_a, on_b = FakeConn(bob), FakeConn(bob)
    await a.fanout.attach(on_a.conn)
    await b.fanout.attach(on_b.conn)  # a second process: bob is already online
    assert await c.fanout.online([bob]) == {bob}
    a.fanout.detach(on_a.conn)  # still online through b
    await settle(nodes)
    for watcher in (watcher_a, watcher_c):
        assert watcher.of_type("online") == [{"type": "online", "user_id": bob, "online": True}]
    b.fanout.detach(on_b.conn)
    for watcher in (watcher_a, watcher_c):
        await until(lambda w=watcher: len(w.of_type("online")) == 2, "the offline event")  # type: ignore[misc]
    await settle(nodes)
    assert await c.fanout.online([bob]) == set()
    stamps = {w.of_type("online")[1]["last_seen"] for w in (watcher_a, watcher_c)}
    # Exactly one process (the one that saw bob leave) records last_seen.
    assert [node.offline for node in nodes] == [[], [(bob, stamps.pop())], []]


async def test_a_crashed_process_users_go_offline_for_everyone(nodes: list[Node]) -> None:
    a, b, c = nodes
    bob, carol = user(), user()
    watcher = FakeConn(user())
    await a.watch(watcher, [bob, carol])
    for who in (bob, carol):
        await b.fanout.attach(FakeConn(who).conn)
    await until(lambda: len(watcher.of_type("online")) == 2, "both online")
    assert isinstance(b.fanout, RedisFanout)
    await _crash(b.fanout)
    await until(lambda: len(watcher.of_type("online")) == 4, "both offline after the TTL")
    went = {f["user_id"]: f for f in watcher.of_type("online") if not f["online"]}
    assert set(went) == {bob, carol}
    assert all(isinstance(f["last_seen"], int) for f in went.values())
    assert await a.fanout.online([bob, carol]) == set()
    # Whichever surviving process reaped them records last_seen, once for each user (the
    # reaper hears its script's answer about when the watchers hear the event).
    await until(lambda: len(a.offline + c.offline) >= 2, "last_seen recorded")
    assert sorted(u for u, _ in a.offline + c.offline) == sorted([bob, carol])


async def test_a_stalled_process_registers_its_users_again(nodes: list[Node]) -> None:
    a, b, _ = nodes
    bob = user()
    watcher = FakeConn(user())
    await a.watch(watcher, [bob])
    await b.fanout.attach(FakeConn(bob).conn)
    assert isinstance(b.fanout, RedisFanout)
    # A stall longer than the TTL: b's entry expires and a reaps bob ...
    keep_alive = b.fanout._tasks[2]
    keep_alive.cancel()
    await until(lambda: len(watcher.of_type("online")) == 2, "bob reaped")
    # ... then b wakes up, finds its entry gone and puts bob back.
    await b.fanout._heartbeat()
    await until(lambda: len(watcher.of_type("online")) == 3, "bob back online")
    assert watcher.of_type("online")[2]["online"] is True
    assert await a.fanout.online([bob]) == {bob}


async def _crash(fanout: RedisFanout) -> None:
    """Stop a node the way SIGKILL would: no detach, no cleanup, its entries left to expire."""
    for task in fanout._tasks:
        task.cancel()
    await asyncio.gather(*fanout._tasks, return_exceptions=True)
    fanout._tasks = []
    fanout._local = type(fanout._local)()  # close() would otherwise detach them cleanly


class ClosableConn(FakeConn):
    def __init__(self, user_id: str) -> None:
        super().__init__(user_id)
        self.closed: list[tuple[int, str]] = []

    def close_soon(self, code: int, message: str) -> None:
        self.closed.append((code, message))


async def test_a_lost_subscription_closes_local_sockets_and_recovers(
    nodes: list[Node], redis_server: str
) -> None:
    a, b, _ = nodes
    bob = user()
    conn = ClosableConn(bob)
    await b.fanout.attach(conn.conn)
    assert isinstance(b.fanout, RedisFanout)
    admin = aioredis.Redis.from_url(redis_server)
    try:
        # Every subscriber connection on the server, b's among them, is dropped.
        assert await admin.client_kill_filter(_type="pubsub") >= 1
    finally:
        await admin.aclose()
    # Frames published meanwhile may be lost, so the client is told to reconnect ...
    await until(lambda: conn.closed == [(1012, "fan-out reconnecting")], "the socket closed")
    b.fanout.detach(conn.conn)
    # ... and a fresh connection is served through the restored subscription.
    again = FakeConn(bob)
    await b.fanout.attach(again.conn)
    a.fanout.publish(bob, b'{"type":"message","n":1}')
    await until(lambda: len(again.of_type("message")) == 1, "a frame after the reconnect")


async def test_a_frame_for_a_socket_here_goes_straight_to_it_and_once_elsewhere(
    nodes: list[Node],
) -> None:
    a, b, c = nodes
    bob = user()
    here, there = FakeConn(bob), FakeConn(bob)
    await a.fanout.attach(here.conn)
    await b.fanout.attach(there.conn)
    for i in range(50):
        a.fanout.publish(bob, b'{"type":"message","n":%d}' % i, ("alice", f"m{i}"))
    # Written to the socket on the publishing process at once, without Redis.
    assert [f["n"] for f in here.of_type("message")] == list(range(50))
    assert [key for _, key in here.frames] == [("alice", f"m{i}") for i in range(50)]
    # A status to a user with a socket here is taken here: no wait for Redis's count.
    assert await a.fanout.deliver(bob, b'{"type":"status"}') == 1
    assert len(here.of_type("status")) == 1
    # Frames from another process arrive through Redis, in their own order.
    for i in range(50, 60):
        c.fanout.publish(bob, b'{"type":"message","n":%d}' % i, ("carol", f"m{i}"))
    await settle(nodes)
    # Exactly once everywhere: the publisher dropped its own copy coming back from Redis,
    # and the other process holding bob's socket got everything through Redis.
    for conn in (here, there):
        assert [f["n"] for f in conn.of_type("message")] == list(range(60))
        assert len(conn.of_type("status")) == 1
    assert [key for _, key in there.frames][:50] == [("alice", f"m{i}") for i in range(50)]


async def test_a_socket_attached_after_a_publication_does_not_get_it_from_the_echo(
    nodes: list[Node],
) -> None:
    a, _, _ = nodes
    bob = user()
    first = FakeConn(bob)
    await a.fanout.attach(first.conn)
    a.fanout.publish(bob, b'{"type":"typing","n":1}')
    second = FakeConn(bob)
    await a.fanout.attach(second.conn)  # its subscription is already in place
    await settle(nodes)
    # Durable frames reach a socket that connects later through its backlog, not here.
    assert len(first.of_type("typing")) == 1
    assert second.of_type("typing") == []
    # Nobody left here: a frame for bob leaves through Redis only, and is not echoed back.
    a.fanout.detach(first.conn)
    a.fanout.detach(second.conn)
    a.fanout.publish(bob, b'{"type":"typing","n":2}')
    await settle(nodes)
    assert len(first.of_type("typing")) == 1

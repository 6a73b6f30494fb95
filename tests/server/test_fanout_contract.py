"""The Fanout contract, run against the in-process fan-out and the Redis one (real Redis).

Each test gets one node; the Redis node talks to a throwaway redis-server under a key
prefix of its own. The cross-process behaviour is in test_fanout_redis.py.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from tests.server.fanout_support import (
    FakeConn,
    Node,
    local_factory,
    redis_factory,
    settle,
    until,
)


@pytest.fixture(params=["local", "redis"])
async def node(request: pytest.FixtureRequest, key_prefix: str) -> AsyncIterator[Node]:
    if request.param == "local":
        made = Node(local_factory())
    else:
        url: str = request.getfixturevalue("redis_server")
        made = Node(redis_factory(url, key_prefix))
    await made.fanout.start()
    try:
        yield made
    finally:
        await made.fanout.close()


def user() -> str:
    return uuid.uuid4().hex


async def test_publish_reaches_every_connection_of_the_user_in_order(node: Node) -> None:
    bob = user()
    phone, laptop, other = FakeConn(bob), FakeConn(bob), FakeConn(user())
    for conn in (phone, laptop, other):
        await node.fanout.attach(conn.conn)
    for i in range(50):
        node.fanout.publish(bob, b'{"type":"message","n":%d}' % i, ("alice", f"m{i}"))
    await settle([node])
    for conn in (phone, laptop):
        assert [f["n"] for f in conn.of_type("message")] == list(range(50))
        assert [key for _, key in conn.frames if key is not None] == [
            ("alice", f"m{i}") for i in range(50)
        ]
    assert other.of_type("message") == []


async def test_deliver_counts_takers_and_reaches_nobody_once_detached(node: Node) -> None:
    bob = user()
    conn = FakeConn(bob)
    assert await node.fanout.deliver(bob, b'{"type":"status"}') == 0
    await node.fanout.attach(conn.conn)
    assert await node.fanout.deliver(bob, b'{"type":"status"}') >= 1
    node.fanout.detach(conn.conn)
    await settle([node])
    assert await node.fanout.deliver(bob, b'{"type":"status"}') == 0
    await settle([node])
    assert len(conn.of_type("status")) == 1


async def test_online_reports_users_with_a_live_connection(node: Node) -> None:
    bob, carol = user(), user()
    first, second = FakeConn(bob), FakeConn(bob)
    await node.fanout.attach(first.conn)
    await node.fanout.attach(second.conn)
    assert await node.fanout.online([bob, carol]) == {bob}
    node.fanout.detach(first.conn)
    assert await node.fanout.online([bob, carol]) == {bob}
    node.fanout.detach(second.conn)
    assert await node.fanout.online([bob, carol]) == set()
    assert await node.fanout.online([]) == set()


async def test_watchers_see_each_transition_once_and_last_seen_is_recorded(node: Node) -> None:
    bob = user()
    watcher = FakeConn(user())
    await node.watch(watcher, [bob])
    first, second = FakeConn(bob), FakeConn(bob)
    await node.fanout.attach(first.conn)
    await node.fanout.attach(second.conn)  # already online: no second event
    node.fanout.detach(first.conn)  # still online on the other connection
    await settle([node])
    assert watcher.of_type("online") == [{"type": "online", "user_id": bob, "online": True}]
    node.fanout.detach(second.conn)
    await until(lambda: len(watcher.of_type("online")) == 2, "the offline event")
    await settle([node])
    events = watcher.of_type("online")
    assert len(events) == 2
    assert events[1]["online"] is False
    assert node.offline == [(bob, events[1]["last_seen"])]
    assert node.presence.last_seen[bob] == events[1]["last_seen"]


async def test_a_watcher_that_left_gets_nothing_more(node: Node) -> None:
    bob = user()
    watcher, staying = FakeConn(user()), FakeConn(user())
    await node.watch(watcher, [bob])
    await node.watch(staying, [bob])
    node.leave(watcher)
    conn = FakeConn(bob)
    await node.fanout.attach(conn.conn)
    await until(lambda: len(staying.of_type("online")) == 1, "the online event")
    await settle([node])
    assert watcher.of_type("online") == []
    node.leave(staying)
    node.fanout.detach(conn.conn)
    await settle([node])
    assert len(staying.of_type("online")) == 1

"""Fan-outs under test, without sockets: a stand-in connection that records its frames."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any, cast

from tests.support import eventually
from whatsapp_client.server.connection import Connection, DedupKey
from whatsapp_client.server.fanout import Fanout, LocalFanout
from whatsapp_client.server.presence import PresenceHub
from whatsapp_client.server.redis_fanout import RedisFanout

# Generous: only there so a broken fan-out fails a test instead of hanging it.
WAIT = 30.0


class FakeConn:
    """What the fan-out and the presence hub use of a Connection."""

    def __init__(self, user_id: str) -> None:
        self.user_id: str | None = user_id
        self.subscriptions: set[str] = set()
        self.frames: list[tuple[dict[str, Any], DedupKey]] = []

    def send(self, payload: bytes, key: DedupKey = None) -> None:
        self.frames.append((json.loads(payload), key))

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [frame for frame, _ in self.frames if frame["type"] == kind]

    @property
    def conn(self) -> Connection:
        return cast(Connection, self)


class Node:
    """One server process's view: its fan-out, its presence hub, its last_seen writes."""

    def __init__(self, make: Callable[[PresenceHub, Callable[[str, int], None]], Fanout]) -> None:
        self.presence = PresenceHub()
        self.offline: list[tuple[str, int]] = []
        self.fanout = make(self.presence, self._went_offline)

    def _went_offline(self, user_id: str, stamp: int) -> None:
        self.offline.append((user_id, stamp))

    async def watch(self, conn: FakeConn, user_ids: list[str]) -> None:
        await self.fanout.watch(self.presence.subscribe(conn.conn, user_ids))

    def leave(self, conn: FakeConn) -> None:
        self.fanout.unwatch(self.presence.unsubscribe_all(conn.conn))
        self.fanout.detach(conn.conn)


async def until(check: Callable[[], bool], what: str) -> None:
    """Wait (bounded) for ``check`` to hold: cross-process steps arrive asynchronously."""
    await eventually(check, WAIT, what)


async def settle(nodes: list[Node]) -> None:
    """Everything queued so far has gone through Redis and come back (a no-op locally)."""
    shared = [node.fanout for node in nodes if isinstance(node.fanout, RedisFanout)]
    for fanout in shared:
        await fanout.flush()
    for fanout in shared:
        # A round trip through a channel this node listens on orders us after every
        # message published to it before.
        await fanout.barrier()


def local_factory() -> Callable[[PresenceHub, Callable[[str, int], None]], Fanout]:
    return LocalFanout


def redis_factory(
    url: str, prefix: str, ttl: float = 30.0, join_timeout: float = 1.0
) -> Callable[[PresenceHub, Callable[[str, int], None]], Fanout]:
    def make(presence: PresenceHub, on_offline: Callable[[str, int], None]) -> Fanout:
        return RedisFanout(
            url, presence, on_offline, presence_ttl=ttl, prefix=prefix, join_timeout=join_timeout
        )

    return make


@contextlib.asynccontextmanager
async def redis_nodes(
    url: str, prefix: str, *, ttl: float, join_timeout: float = 1.0, count: int = 3
) -> AsyncIterator[list[Node]]:
    """``count`` started Redis nodes on one server and prefix, closed on exit."""
    made = [Node(redis_factory(url, prefix, ttl, join_timeout)) for _ in range(count)]
    for node in made:
        await node.fanout.start()
    try:
        yield made
    finally:
        for node in made:
            await node.fanout.close()

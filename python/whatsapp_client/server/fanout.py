"""Who is connected where, and delivery of frames to a user's live connections.

:class:`Fanout` is the seam for scale-out: :class:`LocalFanout` keeps a registry in a dict;
:class:`~whatsapp_client.server.redis_fanout.RedisFanout` publishes to a per-user channel
that every process holding that user's sockets subscribes to (docs/scaling.md).

Presence transitions (a user's first socket anywhere, their last socket gone) are found
by the fan-out and handed to the :class:`PresenceHub` of each process with watchers; the
process that saw the user go offline also records ``last_seen`` through ``on_offline``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from whatsapp_client.server.connection import Connection, DedupKey
from whatsapp_client.server.presence import PresenceHub, now_ms

# Called with (user_id, last_seen) by the one process that saw the user go offline.
OfflineHook = Callable[[str, int], None]


class Fanout(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def attach(self, conn: Connection) -> None:
        """Register an authenticated connection; returns once frames for it are routed here."""
        ...

    def detach(self, conn: Connection) -> None:
        """Forget a connection (its last one takes the user offline)."""
        ...

    async def online(self, user_ids: Iterable[str]) -> set[str]:
        """Which of ``user_ids`` have a live connection anywhere."""
        ...

    def publish(self, user_id: str, payload: bytes, key: DedupKey = None) -> None:
        """Send to every live connection of ``user_id``, in call order; fire and forget."""
        ...

    async def deliver(self, user_id: str, payload: bytes) -> int:
        """Like :meth:`publish`; returns how many processes (or sockets) took it, 0 = nobody."""
        ...

    async def watch(self, user_ids: Iterable[str]) -> None:
        """This process now has watchers of ``user_ids``: route their transitions here."""
        ...

    def unwatch(self, user_ids: Iterable[str]) -> None: ...

    def connections(self) -> Iterable[Connection]: ...


class LocalRegistry:
    """The sockets of this process, by user."""

    def __init__(self) -> None:
        self._by_user: dict[str, set[Connection]] = {}

    def add(self, conn: Connection) -> bool:
        """True if this is the user's first socket here."""
        assert conn.user_id is not None
        conns = self._by_user.setdefault(conn.user_id, set())
        conns.add(conn)
        return len(conns) == 1

    def remove(self, conn: Connection) -> bool:
        """True if that was the user's last socket here."""
        user_id = conn.user_id
        if user_id is None:
            return False
        conns = self._by_user.get(user_id)
        if not conns or conn not in conns:
            return False
        conns.discard(conn)
        if conns:
            return False
        del self._by_user[user_id]
        return True

    def has(self, user_id: str) -> bool:
        return user_id in self._by_user

    def users(self) -> list[str]:
        return list(self._by_user)

    def send(self, user_id: str, payload: bytes, key: DedupKey = None) -> int:
        conns = self._by_user.get(user_id)
        if not conns:
            return 0
        for conn in conns:
            conn.send(payload, key)
        return len(conns)

    def connections(self) -> list[Connection]:
        return [conn for conns in self._by_user.values() for conn in conns]


class LocalFanout:
    """One process: everything is in memory and synchronous."""

    def __init__(self, presence: PresenceHub, on_offline: OfflineHook) -> None:
        self._local = LocalRegistry()
        self._presence = presence
        self._on_offline = on_offline

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def attach(self, conn: Connection) -> None:
        if self._local.add(conn):
            assert conn.user_id is not None
            self._presence.deliver(conn.user_id, True, None)

    def detach(self, conn: Connection) -> None:
        if self._local.remove(conn):
            assert conn.user_id is not None
            stamp = now_ms()
            self._presence.deliver(conn.user_id, False, stamp)
            self._on_offline(conn.user_id, stamp)

    async def online(self, user_ids: Iterable[str]) -> set[str]:
        return {user_id for user_id in user_ids if self._local.has(user_id)}

    def publish(self, user_id: str, payload: bytes, key: DedupKey = None) -> None:
        self._local.send(user_id, payload, key)

    async def deliver(self, user_id: str, payload: bytes) -> int:
        return self._local.send(user_id, payload)

    async def watch(self, user_ids: Iterable[str]) -> None:
        return None

    def unwatch(self, user_ids: Iterable[str]) -> None:
        return None

    def connections(self) -> Iterable[Connection]:
        return self._local.connections()

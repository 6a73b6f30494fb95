"""Who is connected where, and delivery of frames to a user's live connections.

:class:`Fanout` is the seam for scale-out: the in-process implementation below keeps a
registry in a dict; a Redis pub/sub implementation publishes to a per-user channel that the
process holding that user's sockets subscribes to (docs/scaling.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from whatsapp_client.server.connection import Connection, DedupKey


class Fanout(Protocol):
    def attach(self, conn: Connection) -> bool:
        """Register an authenticated connection; True if the user just came online."""
        ...

    def detach(self, conn: Connection) -> bool:
        """Forget a connection; True if the user just went offline."""
        ...

    def is_online(self, user_id: str) -> bool: ...

    def publish(self, user_id: str, payload: bytes, key: DedupKey = None) -> int:
        """Send to every live connection of ``user_id``; how many got it."""
        ...

    def connections(self) -> Iterable[Connection]: ...


class LocalFanout:
    def __init__(self) -> None:
        self._by_user: dict[str, set[Connection]] = {}

    def attach(self, conn: Connection) -> bool:
        assert conn.user_id is not None
        conns = self._by_user.setdefault(conn.user_id, set())
        conns.add(conn)
        return len(conns) == 1

    def detach(self, conn: Connection) -> bool:
        user_id: str | None = conn.user_id
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

    def is_online(self, user_id: str) -> bool:
        return user_id in self._by_user

    def publish(self, user_id: str, payload: bytes, key: DedupKey = None) -> int:
        conns = self._by_user.get(user_id)
        if not conns:
            return 0
        for conn in conns:
            conn.send(payload, key)
        return len(conns)

    def connections(self) -> Iterable[Connection]:
        return [conn for conns in self._by_user.values() for conn in conns]

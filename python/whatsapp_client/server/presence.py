"""Presence subscriptions: who wants ``online`` events about whom, and ``last_seen``.

The hub only knows this process's watchers. Whether a user is online, and when that
changes, is the fan-out's business (one process, or every process through Redis); the
fan-out calls :meth:`PresenceHub.deliver` with each transition.
"""

from __future__ import annotations

import time

from whatsapp_client.server.connection import Connection
from whatsapp_client.server.frames import Online, encode_frame


def now_ms() -> int:
    return int(time.time() * 1000)


class PresenceHub:
    def __init__(self) -> None:
        self._watchers: dict[str, set[Connection]] = {}
        # last_seen of users who went offline while this process ran (the DB has the rest).
        self.last_seen: dict[str, int] = {}

    def subscribe(self, conn: Connection, user_ids: list[str]) -> list[str]:
        """Adds ``conn`` as a watcher; returns the users nobody here watched before."""
        new: list[str] = []
        for user_id in user_ids:
            watchers = self._watchers.setdefault(user_id, set())
            if not watchers:
                new.append(user_id)
            watchers.add(conn)
            conn.subscriptions.add(user_id)
        return new

    def unsubscribe_all(self, conn: Connection) -> list[str]:
        """Drops ``conn``'s subscriptions; returns the users nobody here watches any more."""
        gone: list[str] = []
        for user_id in conn.subscriptions:
            watchers = self._watchers.get(user_id)
            if watchers is not None:
                watchers.discard(conn)
                if not watchers:
                    del self._watchers[user_id]
                    gone.append(user_id)
        conn.subscriptions.clear()
        return gone

    def deliver(self, user_id: str, online: bool, stamp: int | None) -> None:
        """Tells this process's watchers of ``user_id`` about a transition."""
        if not online and stamp is not None:
            self.last_seen[user_id] = stamp
        watchers = self._watchers.get(user_id)
        if watchers:
            payload = encode_frame(Online(user_id=user_id, online=online, last_seen=stamp))
            for conn in watchers:
                conn.send(payload)

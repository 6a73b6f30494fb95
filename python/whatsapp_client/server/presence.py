"""Presence subscriptions: who wants ``online`` events about whom, and ``last_seen``."""

from __future__ import annotations

import time

from whatsapp_client.server.connection import Connection
from whatsapp_client.server.frames import Online, encode_frame


class PresenceHub:
    def __init__(self) -> None:
        self._watchers: dict[str, set[Connection]] = {}
        # last_seen of users who went offline while this process ran (the DB has the rest).
        self.last_seen: dict[str, int] = {}

    def subscribe(self, conn: Connection, user_ids: list[str]) -> None:
        for user_id in user_ids:
            self._watchers.setdefault(user_id, set()).add(conn)
            conn.subscriptions.add(user_id)

    def unsubscribe_all(self, conn: Connection) -> None:
        for user_id in conn.subscriptions:
            watchers = self._watchers.get(user_id)
            if watchers is not None:
                watchers.discard(conn)
                if not watchers:
                    del self._watchers[user_id]
        conn.subscriptions.clear()

    def changed(self, user_id: str, online: bool) -> int | None:
        """Tell the watchers of ``user_id``; returns the last_seen stamp when going offline."""
        stamp: int | None = None
        if not online:
            stamp = int(time.time() * 1000)
            self.last_seen[user_id] = stamp
        watchers = self._watchers.get(user_id)
        if watchers:
            payload = encode_frame(Online(user_id=user_id, online=online, last_seen=stamp))
            for conn in watchers:
                conn.send(payload)
        return stamp

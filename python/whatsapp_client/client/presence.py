"""Presence (PROTOCOL.md §7 ``subscribe_presence`` and ``online`` frames).

The client subscribes to the presence of its peers: everyone it exchanged a direct message
with, the members of its groups, and anyone passed to ``subscribe_presence``. The list of
peers is kept in the encrypted local store, and the subscription is renewed after every
(re)connect, since the server forgets it when a connection closes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Callable

from whatsapp_client import errors
from whatsapp_client.client.connection import Connection
from whatsapp_client.client.frames import Online, SubscribePresence
from whatsapp_client.client.logging import get_logger
from whatsapp_client.client.models import User
from whatsapp_client.client.sessions import validate_peer_id
from whatsapp_client.client.store import StoreExecutor, StoreProtocol
from whatsapp_client.client.tasks import TaskSet

__all__ = ["PEERS_KEY", "Presence"]

log = get_logger("presence")

PEERS_KEY = "presence:peers"
"""Key of the store's key-value area holding the JSON list of watched user ids."""
_CHUNK = 500


class Presence:
    """Who is online among the watched users, and when they were last seen."""

    def __init__(
        self,
        *,
        conn: Connection,
        tasks: TaskSet,
        emit: Callable[..., None],
        login: Callable[[], tuple[User, StoreProtocol, StoreExecutor]],
    ) -> None:
        self._conn = conn
        self._login = login
        self._tasks = tasks
        self._emit = emit
        self._watched: set[str] = set()
        self._online: dict[str, bool] = {}
        self._last_seen: dict[str, int | None] = {}
        self._me: str | None = None

    def bind(self, me: str) -> None:
        """Starts over for another account (state of the previous one is dropped)."""
        if self._me != me:
            self.reset()
            self._me = me

    async def load(self) -> None:
        """Adds the watched users kept in the account's store (and keeps any watched since
        login that the store does not have yet)."""
        user, store, executor = self._login()
        me = user.id
        self.bind(me)
        raw = await executor.run(store.kv_get, PEERS_KEY)
        stored: set[str] = set()
        if raw:
            try:
                ids = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                ids = []
            if isinstance(ids, list):
                stored = {i for i in ids if isinstance(i, str) and i and i != me}
        extra = self._watched - stored
        self._watched |= stored
        if extra:
            await self._persist()

    def reset(self) -> None:
        self._watched.clear()
        self._online.clear()
        self._last_seen.clear()
        self._me = None

    # --- subscriptions -------------------------------------------------------------------

    def _new(self, user_ids: Iterable[str]) -> list[str]:
        new: list[str] = []
        for uid in user_ids:
            if uid and uid != self._me and uid not in self._watched and uid not in new:
                new.append(uid)
        return new

    async def subscribe(self, user_ids: Iterable[str]) -> None:
        """Watches these users: their current state comes at once, changes as they happen."""
        ids = [validate_peer_id(u, "user id") for u in user_ids]
        new = self._new(ids)
        if not new:
            return
        self._watched.update(new)
        await self._persist()
        await self._send(new)

    def watch(self, user_id: str) -> None:
        """Watches a peer met along the way (a message, a group); never raises."""
        if not user_id or user_id == self._me or user_id in self._watched:
            return
        self._tasks.spawn(self._watch(user_id), "whatsapp-presence-watch")

    def unwatch(self, user_id: str) -> None:
        """Stops watching a user (one that does not exist); the stored list follows."""
        if user_id not in self._watched:
            return
        self._watched.discard(user_id)
        self._online.pop(user_id, None)
        self._last_seen.pop(user_id, None)
        self._tasks.spawn(self._quiet_persist(), "whatsapp-presence-unwatch")

    async def _quiet_persist(self) -> None:
        try:
            await self._persist()
        except errors.WhatsAppError as exc:
            log.debug("cannot store the watched users: %s", exc)

    async def _watch(self, user_id: str) -> None:
        try:
            await self.subscribe([user_id])
        except errors.WhatsAppError as exc:
            log.debug("cannot subscribe to the presence of %s: %s", user_id, exc)

    async def _persist(self) -> None:
        try:
            _, store, executor = self._login()
        except errors.AuthenticationError:
            return
        data = json.dumps(sorted(self._watched)).encode("utf-8")
        await executor.run(store.kv_set, PEERS_KEY, data)

    async def _send(self, user_ids: list[str]) -> None:
        for i in range(0, len(user_ids), _CHUNK):
            try:
                await self._conn.send(SubscribePresence(user_ids=user_ids[i : i + _CHUNK]))
            except errors.ConnectionError:
                log.debug("not connected: presence subscription waits for the next connect")
                return

    async def resubscribe(self) -> None:
        """Renews every subscription (after a connect)."""
        if self._watched:
            await self._send(sorted(self._watched))

    # --- state ---------------------------------------------------------------------------

    async def on_frame(self, frame: Online) -> None:
        uid = frame.user_id
        previous = self._online.get(uid)
        self._online[uid] = frame.online
        if frame.online:
            self._last_seen.pop(uid, None)
        else:
            self._last_seen[uid] = frame.last_seen
        if previous != frame.online:
            self._emit("presence", uid, frame.online)

    def online_users(self) -> set[str]:
        return {uid for uid, online in self._online.items() if online}

    def is_online(self, user_id: str) -> bool:
        return self._online.get(user_id, False)

    def last_seen(self, user_id: str) -> int | None:
        return self._last_seen.get(user_id)

    def watched(self) -> set[str]:
        return set(self._watched)

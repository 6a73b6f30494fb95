"""Typing indicators (PROTOCOL.md §7 ``typing`` frames).

Sending ``typing=True`` starts a timer: unless the application sends ``typing=True`` again
(which restarts it) or ``typing=False``, the client sends ``typing=False`` by itself after
``TYPING_TIMEOUT`` seconds. On the receiving side a peer that said it was typing and then
went quiet is reported as stopped a little after the same timeout.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable

from whatsapp_client import errors
from whatsapp_client.client.connection import Connection
from whatsapp_client.client.frames import Typing, TypingOut
from whatsapp_client.client.logging import get_logger
from whatsapp_client.client.sessions import validate_peer_id
from whatsapp_client.client.tasks import TaskSet

__all__ = ["RECEIVE_GRACE", "TYPING_TIMEOUT", "TypingIndicators"]

log = get_logger("typing")

TYPING_TIMEOUT = 5.0
"""Seconds after which a typing indicator stops by itself."""
RECEIVE_GRACE = 1.0
"""Extra seconds a receiver waits past ``TYPING_TIMEOUT`` before it assumes a peer stopped."""


class TypingIndicators:
    """Outgoing typing state with auto-stop, and the set of peers typing to us."""

    def __init__(
        self,
        *,
        conn: Connection,
        tasks: TaskSet,
        emit: Callable[..., None],
    ) -> None:
        self._conn = conn
        self._tasks = tasks
        self._emit = emit
        self._stop_timers: dict[str, asyncio.Task[None]] = {}
        self._expiry: dict[str, asyncio.Task[None]] = {}
        self._typing: set[str] = set()
        self.receive_timeout = TYPING_TIMEOUT + RECEIVE_GRACE

    # --- sending -------------------------------------------------------------------------

    async def send(self, to: str, typing: bool, auto_stop: float | None) -> bool:
        """Sends the indicator; True when it went out, False when not connected (typing
        indicators are ephemeral and never queued)."""
        validate_peer_id(to, "to")
        if not isinstance(typing, bool):
            raise errors.ValidationError("typing must be True or False")
        if auto_stop is not None and (
            isinstance(auto_stop, bool) or not isinstance(auto_stop, (int, float)) or auto_stop <= 0
        ):
            raise errors.ValidationError("auto_stop must be a positive number of seconds or None")
        timer = self._stop_timers.pop(to, None)
        if timer is not None and timer is not asyncio.current_task():
            timer.cancel()
        sent = await self._send_frame(to, typing)
        if sent and typing and auto_stop is not None:
            self._stop_timers[to] = self._tasks.spawn(
                self._auto_stop(to, float(auto_stop)), f"whatsapp-typing-stop-{to}"
            )
        return sent

    async def _send_frame(self, to: str, typing: bool) -> bool:
        try:
            await self._conn.send(TypingOut(to=to, typing=typing))
        except errors.ConnectionError:
            log.debug("not connected: typing indicator for %s dropped", to)
            return False
        return True

    async def _auto_stop(self, to: str, delay: float) -> None:
        await asyncio.sleep(delay)
        if self._stop_timers.get(to) is asyncio.current_task():
            del self._stop_timers[to]
        log.debug("typing indicator for %s stops by itself after %.1fs", to, delay)
        await self._send_frame(to, False)

    # --- receiving -----------------------------------------------------------------------

    async def on_frame(self, frame: Typing) -> None:
        peer = frame.from_
        if not peer:
            return
        expiry = self._expiry.pop(peer, None)
        if expiry is not None:
            expiry.cancel()
        if frame.typing:
            self._expiry[peer] = self._tasks.spawn(
                self._expire(peer), f"whatsapp-typing-expire-{peer}"
            )
            if peer not in self._typing:
                self._typing.add(peer)
                self._emit("typing", peer, True)
        elif peer in self._typing:
            self._typing.discard(peer)
            self._emit("typing", peer, False)

    async def _expire(self, peer: str) -> None:
        await asyncio.sleep(self.receive_timeout)
        if self._expiry.get(peer) is asyncio.current_task():
            del self._expiry[peer]
        if peer in self._typing:
            self._typing.discard(peer)
            self._emit("typing", peer, False)

    def typing_users(self) -> set[str]:
        """Peers currently typing to us."""
        return set(self._typing)

    def is_typing(self, peer_id: str) -> bool:
        return peer_id in self._typing

    def reset(self) -> None:
        """Forgets all state (the tasks themselves are cancelled by the client's TaskSet)."""
        for task in [*self._stop_timers.values(), *self._expiry.values()]:
            task.cancel()
        self._stop_timers.clear()
        self._expiry.clear()
        self._typing.clear()

    def snapshot(self) -> dict[str, Any]:
        return {"typing": sorted(self._typing), "auto_stop_pending": sorted(self._stop_timers)}

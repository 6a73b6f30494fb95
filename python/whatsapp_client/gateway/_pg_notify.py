"""Push wake-ups between gateway processes on PostgreSQL: ``LISTEN``/``NOTIFY``.

A send queued through any process notifies ``gateway_queue`` with the session id (in the
statement that takes its queue slot, so only when the write commits); an event written by
any process notifies ``gateway_events``. Each process listens on one connection of its
own: the holder of the session's lease kicks its send worker at once, and every
dispatcher scans for work at once, instead of at their next poll (``queue_poll_interval``,
the dispatcher's 2 s scan), which stay as the safety net: a notification is lost when the
listening connection is (it is opened again after ``RECONNECT_SECONDS``), and PostgreSQL
does not keep notifications for a listener that was not connected.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any, Optional, Protocol, runtime_checkable

log = logging.getLogger("whatsapp_client.gateway.storage")

QUEUE_CHANNEL = "gateway_queue"
EVENTS_CHANNEL = "gateway_events"
RECONNECT_SECONDS = 5.0

__all__ = ["EVENTS_CHANNEL", "QUEUE_CHANNEL", "PgListener", "PushingStorage"]


@runtime_checkable
class PushingStorage(Protocol):
    """Optional part of a storage: tells the process of work written by other processes."""

    async def subscribe(
        self, on_queued: Callable[[str], None], on_events: Callable[[], None]
    ) -> None:
        """From now until the storage closes: ``on_queued(session_id)`` when a send was
        queued for the session, ``on_events()`` when events were written (by any process,
        this one included)."""
        ...


class PgListener:
    """One connection that ``LISTEN``\\s on both channels, opened again when it drops."""

    def __init__(
        self,
        connect: Callable[[], Any],
        on_queued: Callable[[str], None],
        on_events: Callable[[], None],
    ) -> None:
        self._connect = connect
        self._on_queued = on_queued
        self._on_events = on_events
        self._lost = asyncio.Event()
        self._conn: Any = None
        self._task: Optional[asyncio.Task[None]] = None

    async def start(self) -> None:
        """Listens before it returns (a first failure is raised: the database is there)."""
        await self._listen()
        self._task = asyncio.ensure_future(self._keep())

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(Exception):
                await conn.close(timeout=5)

    async def _listen(self) -> None:
        conn = await self._connect()
        self._lost.clear()
        conn.add_termination_listener(lambda _c: self._lost.set())
        await conn.add_listener(QUEUE_CHANNEL, self._notified)
        await conn.add_listener(EVENTS_CHANNEL, self._notified)
        self._conn = conn

    def _notified(self, _conn: Any, _pid: int, channel: str, payload: str) -> None:
        if channel == QUEUE_CHANNEL:
            self._on_queued(payload)
        else:
            self._on_events()

    async def _keep(self) -> None:
        while True:
            await self._lost.wait()
            log.warning("the notification connection was lost; polling until it is back")
            # Work notified meanwhile is found by the polls; one look now catches up.
            self._on_events()
            while True:
                await asyncio.sleep(RECONNECT_SECONDS)
                try:
                    await self._listen()
                    break
                except Exception as exc:
                    log.warning("cannot listen for notifications again: %s", exc)

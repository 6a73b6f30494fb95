"""Fan-out of live events (session statuses, messages, counters, log records) to the
subscribers of ``/api/v1/events/stream``.

Publishing never waits: each subscriber has a bounded queue, and one that falls behind
(a slow browser) is dropped (its stream ends; the browser reconnects and re-reads the
state) rather than slowing the gateway or growing without bound. Counters are coalesced:
at most one ``counters`` event a second per session, read from the storage when sent.
Log records may be published from any thread; everything else runs on the event loop.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import threading
import time
from collections.abc import Awaitable, Mapping
from typing import Callable, Literal, Optional, Protocol

import msgspec

from whatsapp_client.gateway._ids import now_ms
from whatsapp_client.gateway._log_buffer import LogEntry

__all__ = [
    "NULL_FEED",
    "CountersSource",
    "EventHub",
    "LiveEvent",
    "LiveFeed",
    "StreamClosed",
    "Subscription",
]

EventKind = Literal["session", "message", "log", "counters"]
# Reads a session's counters for a ``counters`` event: {sent, received, failed,
# queue_depth}, or None when the session is gone.
CountersSource = Callable[[str], Awaitable[Optional[Mapping[str, int]]]]


@dataclasses.dataclass(frozen=True)
class LiveEvent:
    kind: EventKind
    session_id: Optional[str]  # None: gateway-wide (log records only)
    data: Mapping[str, object]


class StreamClosed(Exception):
    """The subscription ended: the gateway is stopping, or the subscriber fell behind."""


class LiveFeed(Protocol):
    """What the runtime tells the hub (a no-op :data:`NULL_FEED` where there is none)."""

    def session_status(self, session_id: str, status: str, reason: Optional[str]) -> None: ...

    def message(
        self, session_id: str, message_id: str, direction: str, status: str, at: int
    ) -> None: ...

    def counters_changed(self, session_id: str) -> None: ...

    def session_deleted(self, session_id: str) -> None: ...


class _NullFeed:
    def session_status(self, session_id: str, status: str, reason: Optional[str]) -> None:
        pass

    def message(
        self, session_id: str, message_id: str, direction: str, status: str, at: int
    ) -> None:
        pass

    def counters_changed(self, session_id: str) -> None:
        pass

    def session_deleted(self, session_id: str) -> None:
        pass


NULL_FEED: LiveFeed = _NullFeed()


class Subscription:
    """One subscriber's bounded queue; :meth:`next` in the subscriber's task."""

    def __init__(self, hub: EventHub, limit: int) -> None:
        self._hub = hub
        self._limit = limit
        self._items: collections.deque[LiveEvent] = collections.deque()
        self._ready = asyncio.Event()
        self.closed = False
        self.dropped = False
        # Called once when closed (the stream route aborts a write stuck on the client).
        self.on_close: Optional[Callable[[], None]] = None

    def offer(self, event: LiveEvent) -> None:
        """Never waits: a full queue drops the subscriber."""
        if self.closed:
            return
        if len(self._items) >= self._limit:
            self.dropped = True
            self._items.clear()
            self.close()
            return
        self._items.append(event)
        self._ready.set()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._ready.set()
        self._hub.discard(self)
        callback, self.on_close = self.on_close, None
        if callback is not None:
            callback()

    @property
    def pending(self) -> int:
        return len(self._items)

    async def next(self, timeout: float) -> Optional[LiveEvent]:
        """The next event; None after ``timeout`` seconds without one (time for a
        heartbeat); :class:`StreamClosed` once closed (what is still queued is delivered
        first, unless the subscriber was dropped)."""
        if not self._items and not self.closed:
            self._ready.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._ready.wait(), timeout)
        if self._items:
            return self._items.popleft()
        if self.closed:
            raise StreamClosed("dropped" if self.dropped else "closed")
        return None


class EventHub:
    """``EventHub(queue_limit=..., counters=...)``; :meth:`bind` on the loop at start,
    :meth:`close` at shutdown (every stream ends, new subscriptions are refused)."""

    def __init__(
        self,
        *,
        queue_limit: int = 1000,
        counters: Optional[CountersSource] = None,
        counters_interval: float = 1.0,
    ) -> None:
        self.queue_limit = queue_limit
        self.counters_source = counters
        self._interval = counters_interval
        self._subscribers: set[Subscription] = set()
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._thread: Optional[int] = None
        self._closed = False
        self._pending_counters: set[str] = set()
        self._last_counters: dict[str, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # When each connected session connected (ms since the epoch), for the stats route.
        self.connected_since: dict[str, int] = {}

    def bind(self, loop: Optional[asyncio.AbstractEventLoop] = None) -> None:
        self._loop = loop or asyncio.get_running_loop()
        self._thread = threading.get_ident()
        self._closed = False

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def subscribe(self) -> Subscription:
        if self._closed:
            raise StreamClosed("the gateway is stopping")
        sub = Subscription(self, self.queue_limit)
        self._subscribers.add(sub)
        return sub

    def discard(self, sub: Subscription) -> None:
        self._subscribers.discard(sub)

    async def close(self) -> None:
        self._closed = True
        for sub in list(self._subscribers):
            sub.close()
        tasks, self._tasks = set(self._tasks), set()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._pending_counters.clear()

    # --- publishing -----------------------------------------------------------------------
    def publish(self, event: LiveEvent) -> None:
        """Hands ``event`` to every subscriber; from another thread, on the loop."""
        if self._closed or not self._subscribers:
            return
        if self._loop is not None and threading.get_ident() != self._thread:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody listens
                self._loop.call_soon_threadsafe(self.publish, event)
            return
        for sub in list(self._subscribers):
            sub.offer(event)

    def session_status(self, session_id: str, status: str, reason: Optional[str]) -> None:
        now = now_ms()
        if status == "connected":
            self.connected_since.setdefault(session_id, now)
        else:
            self.connected_since.pop(session_id, None)
        data = {"session_id": session_id, "status": status, "reason": reason, "at": now}
        self.publish(LiveEvent("session", session_id, data))

    def message(
        self, session_id: str, message_id: str, direction: str, status: str, at: int
    ) -> None:
        data = {
            "session_id": session_id,
            "id": message_id,
            "direction": direction,
            "status": status,
            "at": at,
        }
        self.publish(LiveEvent("message", session_id, data))

    def log(self, entry: LogEntry) -> None:
        """The log buffer's listener (any thread)."""
        if self._closed or not self._subscribers:
            return
        self.publish(LiveEvent("log", entry.session_id, msgspec.structs.asdict(entry)))

    def session_deleted(self, session_id: str) -> None:
        """Forgets what the hub kept of a deleted session."""
        self.connected_since.pop(session_id, None)
        self._last_counters.pop(session_id, None)

    # --- counters, coalesced ----------------------------------------------------------------
    def counters_changed(self, session_id: str) -> None:
        if (
            self._closed
            or self.counters_source is None
            or self._loop is None
            or session_id in self._pending_counters
        ):
            return
        self._pending_counters.add(session_id)
        last = self._last_counters.get(session_id)
        delay = 0.0 if last is None else max(0.0, last + self._interval - time.monotonic())
        task = self._loop.create_task(self._send_counters(session_id, delay))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send_counters(self, session_id: str, delay: float) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        # Changes from now on schedule the next event.
        self._pending_counters.discard(session_id)
        self._last_counters[session_id] = time.monotonic()
        if not self._subscribers or self.counters_source is None:
            return
        try:
            counters = await self.counters_source(session_id)
        except Exception:  # the storage is closing; the next change sends fresh ones
            return
        if counters is not None:
            data: dict[str, object] = {"session_id": session_id, **counters}
            self.publish(LiveEvent("counters", session_id, data))

"""One WebSocket client: an ordered outbound queue written by a short-lived flusher task.

Fan-out code runs synchronously (in commit callbacks) and must not await, so it enqueues
already-encoded frames here; the flusher writes them in order. While a fresh connection is
syncing its backlog, live frames are held back and released after it, without duplicates,
so per-pair order holds across the reconnect.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, Optional

from aiohttp import WSCloseCode, WSMsgType, web

from whatsapp_client._coalesce import coalesced_writes
from whatsapp_client.server.logs import get_logger

log = get_logger("connection")

DedupKey = Optional[tuple[str, str]]


class Connection:
    def __init__(self, ws: web.WebSocketResponse, max_queue: int) -> None:
        self.ws = ws
        self.user_id: str | None = None
        self.inflight = 0
        self.inflight_drained = asyncio.Event()
        self.inflight_drained.set()
        self.subscriptions: set[str] = set()
        self._max_queue = max_queue
        self._queue: deque[bytes] = deque()
        self._held: list[tuple[bytes, DedupKey]] | None = None
        self._sent_during_sync: set[tuple[str, str]] = set()
        self._flusher: asyncio.Task[None] | None = None
        self._closing = False
        self._blocked = False
        self._close_task: asyncio.Task[Any] | None = None

    @property
    def max_queue(self) -> int:
        return self._max_queue

    # -- sync window -----------------------------------------------------------------------

    def begin_sync(self) -> None:
        self._held = []

    def send_synced(self, payload: bytes, key: DedupKey) -> None:
        """A backlog frame; remembered so the held live copy is not sent twice."""
        if key is not None:
            self._sent_during_sync.add(key)
        self._enqueue(payload)

    def end_sync(self) -> None:
        held, self._held = self._held or [], None
        seen, self._sent_during_sync = self._sent_during_sync, set()
        for payload, key in held:
            if key is None or key not in seen:
                self._enqueue(payload)

    # -- outbound ------------------------------------------------------------------------

    def send(self, payload: bytes, key: DedupKey = None) -> None:
        if self._held is not None:
            self._held.append((payload, key))
            return
        self._enqueue(payload)

    def _enqueue(self, payload: bytes) -> None:
        if self._closing:
            return
        if self._blocked and len(self._queue) >= self._max_queue:
            # The socket is not draining and the queue is full: a consumer this far behind
            # is disconnected; its messages stay queued on disk for its next connection.
            log.warning("closing slow consumer", extra={"user_id": self.user_id})
            self.close_soon(WSCloseCode.POLICY_VIOLATION, "too slow")
            return
        self._queue.append(payload)
        if self._flusher is None:
            self._flusher = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        try:
            # Everything queued by now leaves in as few TCP segments as it needs.
            with coalesced_writes(self.ws.get_extra_info, len(self._queue) > 1):
                while self._queue and not self.ws.closed:
                    # send_frame only suspends when the transport's buffer is over its limit,
                    # so frames queued while this is set wait on a client that is not reading.
                    self._blocked = True
                    await self.ws.send_frame(self._queue.popleft(), WSMsgType.TEXT)
                    self._blocked = False
        except (ConnectionError, RuntimeError):
            self._queue.clear()
        finally:
            self._blocked = False
            self._flusher = None

    async def drain(self) -> None:
        """Wait until everything queued so far has been written."""
        while self._flusher is not None:
            await asyncio.shield(self._flusher)

    def close_soon(self, code: int, message: str) -> None:
        if self._closing:
            return
        self._closing = True
        self._queue.clear()
        # Kept referenced so the close is not garbage-collected half way.
        self._close_task = asyncio.get_running_loop().create_task(
            self.ws.close(code=code, message=message.encode())
        )

"""The periodic retention sweep: finished webhook deliveries, the events nothing needs any
more and expired idempotent answers are deleted, so the database does not grow for ever."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Optional

from whatsapp_client.gateway._ids import now_ms
from whatsapp_client.gateway._storage import Storage

log = logging.getLogger("whatsapp_client.gateway.retention")


class RetentionSweep:
    def __init__(self, storage: Storage, keep_seconds: int, interval: float) -> None:
        self._storage = storage
        self._keep_ms = keep_seconds * 1000
        self._interval = interval
        self._task: Optional[asyncio.Task[None]] = None

    async def sweep_once(self) -> int:
        now = now_ms()
        gone = await self._storage.prune(now - self._keep_ms, now)
        if gone:
            log.info("retention sweep deleted %d rows", gone)
        return gone

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="gateway-retention")

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            try:
                await self.sweep_once()
            except Exception:  # the storage is busy or down: the next round tries again
                log.exception("retention sweep failed")
            await asyncio.sleep(self._interval)

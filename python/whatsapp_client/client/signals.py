"""SIGINT/SIGTERM handling of :meth:`WhatsAppClient.run`: one handler per loop."""

from __future__ import annotations

import asyncio
import signal
from typing import ClassVar, Protocol

from whatsapp_client.client.logging import get_logger

__all__ = ["Signals"]

log = get_logger("client")


class _Stoppable(Protocol):
    def stop(self) -> None: ...


class Signals:
    """One SIGINT/SIGTERM handler per loop that stops every running client of that loop."""

    clients: ClassVar[dict[asyncio.AbstractEventLoop, set[_Stoppable]]] = {}

    @classmethod
    def add(cls, client: _Stoppable) -> bool:
        loop = asyncio.get_running_loop()
        group = cls.clients.setdefault(loop, set())
        if not group:
            try:
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.add_signal_handler(sig, cls._fire, loop)
            # No loop signal handlers (Windows, or not the main thread): run() then stops on
            # KeyboardInterrupt or stop() instead.
            except (NotImplementedError, RuntimeError, ValueError):
                cls.clients.pop(loop, None)
                return False
        group.add(client)
        return True

    @classmethod
    def remove(cls, client: _Stoppable) -> None:
        loop = asyncio.get_running_loop()
        group = cls.clients.get(loop)
        if group is None:
            return
        group.discard(client)
        if not group:
            cls.clients.pop(loop, None)
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    @classmethod
    def _fire(cls, loop: asyncio.AbstractEventLoop) -> None:
        log.info("signal received; stopping")
        for c in list(cls.clients.get(loop, ())):
            c.stop()

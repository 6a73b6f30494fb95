"""Handler registry: decorators register handlers; a failing handler is logged, never fatal."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable
from typing import Any, Callable, TypeVar, Union

from whatsapp_client.client.logging import get_logger

__all__ = ["EVENTS", "EventRegistry", "Handler"]

log = get_logger("events")

Handler = Callable[..., Union[Awaitable[Any], Any]]
H = TypeVar("H", bound=Handler)

EVENTS = (
    "message",  # (Message)
    "message_status",  # (message_id, status)
    "connection_change",  # (connected: bool)
    "identity_change",  # (peer_id, fingerprint)
    "error",  # (WhatsAppError)
)


class EventRegistry:
    """Named lists of handlers. Part 2 features add event names with :meth:`add_event`."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = {name: [] for name in EVENTS}
        self.wrap: Callable[[Handler], Handler] = lambda h: h

    def add_event(self, name: str) -> None:
        self._handlers.setdefault(name, [])

    def on(self, name: str) -> Callable[[H], H]:
        """Decorator registering a handler for ``name``."""

        def register(handler: H) -> H:
            self.add(name, handler)
            return handler

        return register

    def add(self, name: str, handler: Handler) -> None:
        if name not in self._handlers:
            from whatsapp_client.errors import ValidationError

            raise ValidationError(
                f"unknown event {name!r}; known events: {', '.join(sorted(self._handlers))}"
            )
        if not callable(handler):
            from whatsapp_client.errors import ValidationError

            raise ValidationError(f"a handler for {name!r} must be callable, got {handler!r}")
        self._handlers[name].append(self.wrap(handler))

    def remove(self, name: str, handler: Handler) -> None:
        lst = self._handlers.get(name, [])
        for h in list(lst):
            if h is handler or getattr(h, "__wrapped__", None) is handler:
                lst.remove(h)

    def has(self, name: str) -> bool:
        return bool(self._handlers.get(name))

    async def emit(self, name: str, *args: Any) -> None:
        """Calls every handler of ``name`` in order; exceptions are logged and swallowed."""
        for handler in list(self._handlers.get(name, ())):
            try:
                result = handler(*args)
                if inspect.isawaitable(result):
                    await result
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("a %s handler raised; the client goes on", name)

"""Events and frames: the application's handlers (``@client.on_message``...), the
dispatcher task that runs them one at a time in order, and the routing of server frames
to their handlers (``_frame_handlers``, by frame type).

A mixin of :class:`~whatsapp_client.WhatsAppClient`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from whatsapp_client import errors
from whatsapp_client.client.events import EventRegistry, Handler
from whatsapp_client.client.frames import (
    ErrorFrame,
    IncomingMessage,
    Pong,
    Sent,
    ServerFrame,
    Status,
    UnknownFrame,
)
from whatsapp_client.client.logging import get_logger

if TYPE_CHECKING:
    from whatsapp_client.client.outbox import Outbox
    from whatsapp_client.client.tasks import TaskSet

__all__ = ["HandlersMixin", "as_client_error"]

log = get_logger("client")
H = TypeVar("H", bound=Handler)


class HandlersMixin:
    """Event handlers and frame routing of ``WhatsAppClient``."""

    # What the host class provides, declared for the type checker only.
    if TYPE_CHECKING:
        _tasks: TaskSet
        _outbox: Outbox | None

        _ingest_q: asyncio.Queue[IncomingMessage | Sent | Status] | None

        async def _ingester(
            self, queue: asyncio.Queue[IncomingMessage | Sent | Status]
        ) -> None: ...

        async def _enqueue_ingest(self, frame: IncomingMessage | Sent | Status) -> None: ...

    _events: EventRegistry
    _dispatch_q: asyncio.Queue[tuple[str, tuple[Any, ...]]] | None
    _frame_handlers: dict[type[Any], Callable[[Any], Awaitable[None]]]
    _unknown_frame_handlers: dict[str, Callable[[dict[str, Any]], Awaitable[None]]]

    def _init_handlers(self) -> None:
        self._events = EventRegistry()
        self._dispatch_q = None
        self._frame_handlers = {
            IncomingMessage: self._enqueue_ingest,
            Sent: self._on_sent,
            Status: self._enqueue_ingest,
            ErrorFrame: self._on_error_frame,
            Pong: self._ignore,
        }
        self._unknown_frame_handlers = {}

    # --- events ------------------------------------------------------------------------

    def on_message(self, handler: H) -> H:
        """Decorator: ``handler(message: Message)`` for every new incoming message."""
        self._events.add("message", handler)
        return handler

    def on_message_status(self, handler: H) -> H:
        """Decorator: ``handler(message_id, status)`` for ``delivered`` / ``read`` (and
        ``failed`` when the server refuses a message for good)."""
        self._events.add("message_status", handler)
        return handler

    def on_connection_change(self, handler: H) -> H:
        """Decorator: ``handler(connected: bool)``."""
        self._events.add("connection_change", handler)
        return handler

    def on_identity_change(self, handler: H) -> H:
        """Decorator: ``handler(peer_id)`` when a peer's identity key changed."""
        self._events.add("identity_change", handler)
        return handler

    def on_error(self, handler: H) -> H:
        """Decorator: ``handler(error)`` for errors met in the background."""
        self._events.add("error", handler)
        return handler

    def on(self, event: str) -> Callable[[H], H]:
        """Decorator for any event by name."""
        return self._events.on(event)

    def remove_handler(self, event: str, handler: Handler) -> None:
        self._events.remove(event, handler)

    def _ensure_workers(self) -> None:
        if self._dispatch_q is None:
            self._dispatch_q = asyncio.Queue()
            self._tasks.spawn(self._dispatcher(self._dispatch_q), "whatsapp-handlers")
        if self._ingest_q is None:
            self._ingest_q = asyncio.Queue()
            self._tasks.spawn(self._ingester(self._ingest_q), "whatsapp-ingest")

    def _emit(self, name: str, *args: Any) -> None:
        if self._dispatch_q is None or not self._events.has(name):
            return
        self._dispatch_q.put_nowait((name, args))

    async def _dispatcher(self, queue: asyncio.Queue[tuple[str, tuple[Any, ...]]]) -> None:
        while True:
            name, args = await queue.get()
            try:
                await self._events.emit(name, *args)
            finally:
                queue.task_done()

    async def idle(self) -> None:
        """Waits until every frame received so far is processed and its events handled."""
        for _ in range(3):
            if self._ingest_q is not None:
                await self._ingest_q.join()
            if self._dispatch_q is not None:
                await self._dispatch_q.join()

    # --- frames ------------------------------------------------------------------------

    async def _on_frame(self, frame: ServerFrame | UnknownFrame) -> None:
        name = frame.type if isinstance(frame, UnknownFrame) else type(frame).__name__
        try:
            if isinstance(frame, UnknownFrame):
                handler = self._unknown_frame_handlers.get(frame.type)
                if handler is None:
                    log.debug("ignoring frame of type %r", frame.type)
                    return
                await handler(frame.data)
                return
            h = self._frame_handlers.get(type(frame))
            if h is None:
                log.debug("no handler for %s frames", name)
                return
            await h(frame)
        except Exception as exc:
            # One frame must never take the connection down with it.
            log.exception("handling a %r frame failed", name)
            self._emit("error", as_client_error(exc, f"handling a {name!r} frame failed"))

    async def _ignore(self, frame: Any) -> None:
        return None

    async def _on_sent(self, frame: Sent) -> None:
        if self._outbox is not None:
            self._outbox.on_sent(frame.id, frame.timestamp)
        await self._enqueue_ingest(frame)

    async def _on_error_frame(self, frame: ErrorFrame) -> None:
        log.warning("server error frame: %s %s", frame.code, frame.message)
        if frame.id and self._outbox is not None:
            await self._outbox.on_error(frame.id, frame.code, frame.message, frame.retry_after)
            return
        exc = errors.ServerError(f"server error {frame.code}: {frame.message}", code=frame.code)
        self._emit("error", exc)


def as_client_error(exc: Exception, what: str) -> errors.WhatsAppError:
    """``exc`` itself when it is one of ours, else a ``WhatsAppError`` chaining it."""
    if isinstance(exc, errors.WhatsAppError):
        return exc
    wrapped = errors.WhatsAppError(f"{what} ({type(exc).__name__})", code="internal_error")
    wrapped.__cause__ = exc
    return wrapped

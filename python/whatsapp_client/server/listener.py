"""The listening socket and what guards it before any request reaches the application.

- The socket is bound before the application starts, so a port in use is reported before
  the database is created.
- Connections that have not authenticated are capped: past the cap, the oldest one is
  closed (a flood of silent sockets cannot exhaust the file descriptors, and a real client
  still gets in). A connection counts as authenticated once a request on it presented a
  valid bearer token or its WebSocket completed the handshake.
- A connection that has not sent a complete request head within ``header_timeout`` of
  connecting is closed (idle keep-alive connections are aiohttp's ``keepalive_timeout``).
- aiohttp answers malformed or oversized request lines and headers itself, before any
  middleware runs; there is no supported hook for that answer (aio-libs/aiohttp#3287),
  so each connection's handler is given the §6 JSON error shape here.
"""

from __future__ import annotations

import asyncio
import resource
import socket
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from whatsapp_client.server.errors import error_response
from whatsapp_client.server.logs import get_logger

log = get_logger("listener")

_PARSER_CODES = {400: "invalid_request", 413: "too_large", 431: "too_large"}
# File descriptors kept for the database, the authenticated sockets and the rest.
_FD_SHARE = 2


class JsonErrorRequestHandler(RequestHandler):
    """aiohttp's handler, answering its own parser errors in the §6 error shape."""

    __slots__ = ()

    def handle_error(
        self,
        request: Any,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if request.writer.output_size > 0:  # what aiohttp does: too late to answer
            return super().handle_error(request, status, exc, message)
        if status >= 500:
            log.error("error handling request", exc_info=exc)
            response = error_response(500, "internal_error", "internal server error")
        else:
            text = message if isinstance(message, str) and message else "malformed request"
            code = _PARSER_CODES.get(status, "invalid_request")
            response = error_response(status, code, text.splitlines()[0][:200])
        response.force_close()
        return response


def effective_cap(configured: int) -> int:
    """The anonymous-connection cap, at most half the process's file descriptor limit."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft <= 0:
        return max(1, configured)
    return max(1, min(configured, soft // _FD_SHARE))


class _GuardedHandler(JsonErrorRequestHandler):
    """Reports its connection's life to the guard (set per guard by ``_handler_class``)."""

    __slots__ = ()
    guard: ConnectionGuard

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.guard._connected(self)

    def connection_lost(self, exc: BaseException | None) -> None:
        super().connection_lost(exc)
        self.guard._closed(self)


class ConnectionGuard:
    """Tracks every connection; caps the anonymous ones and times out slow request heads."""

    def __init__(self, server: web.Server, max_anonymous: int, header_timeout: float) -> None:
        self._server = server
        self.max_anonymous = effective_cap(max_anonymous)
        self._header_timeout = header_timeout
        self._handler_class = type(
            "GuardedHandler", (_GuardedHandler,), {"__slots__": (), "guard": self}
        )
        # Insertion order is connection order: the first entry is the oldest.
        self._anonymous: dict[RequestHandler, None] = {}
        # Connections still waiting for their first complete request head.
        self._deadlines: dict[RequestHandler, asyncio.TimerHandle] = {}
        self.evicted = 0
        self.timed_out = 0

    def protocol(self) -> RequestHandler:
        """The protocol factory given to ``loop.create_server``."""
        handler = self._server()
        handler.__class__ = self._handler_class
        return handler

    def _connected(self, handler: RequestHandler) -> None:
        while len(self._anonymous) >= self.max_anonymous:
            oldest = next(iter(self._anonymous))
            del self._anonymous[oldest]
            self.evicted += 1
            oldest.force_close()
        self._anonymous[handler] = None
        if self._header_timeout > 0:
            loop = asyncio.get_running_loop()
            self._deadlines[handler] = loop.call_later(self._header_timeout, self._expire, handler)

    def _closed(self, handler: RequestHandler) -> None:
        self._anonymous.pop(handler, None)
        deadline = self._deadlines.pop(handler, None)
        if deadline is not None:
            deadline.cancel()

    def request_started(self, request: web.BaseRequest) -> None:
        """A complete request head arrived on this connection."""
        deadline = self._deadlines.pop(request.protocol, None)
        if deadline is not None:
            deadline.cancel()

    def authenticated(self, request: web.BaseRequest) -> None:
        """This connection proved an account: it no longer counts against the cap."""
        handler = request.protocol
        if isinstance(handler, RequestHandler):
            self._anonymous.pop(handler, None)

    @property
    def anonymous(self) -> int:
        return len(self._anonymous)

    def _expire(self, handler: RequestHandler) -> None:
        if self._deadlines.pop(handler, None) is None or handler.transport is None:
            return
        self.timed_out += 1
        self._anonymous.pop(handler, None)
        handler.force_close()


def bind(host: str, port: int, *, reuse_port: bool | None = None) -> socket.socket:
    """A listening TCP socket on ``host``:``port``; OSError (e.g. address in use) at once."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
        sock.listen(1024)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


class GuardedSite(web.BaseSite):
    """A site on an already bound socket whose connections go through a ConnectionGuard."""

    __slots__ = ("_guard", "_sock")

    def __init__(self, runner: web.BaseRunner, sock: socket.socket, guard: ConnectionGuard):
        super().__init__(runner)
        self._sock = sock
        self._guard = guard

    @property
    def name(self) -> str:
        host, port = self._sock.getsockname()[:2]
        return f"http://{host}:{port}"

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._guard.protocol, sock=self._sock)

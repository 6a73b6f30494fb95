"""``GET /api/v1/events/stream``: server-sent events of the sessions the caller sees.

``event: session`` (status changes), ``event: message`` (new messages and their status
changes), ``event: counters`` (coalesced, at most once a second per session) and
``event: log`` (log records; the gateway's own only for unrestricted admins), each with a
JSON ``data:`` line; a ``: ping`` comment every ``stream_heartbeat_seconds``. The stream
ends when the gateway stops, or when the caller reads too slowly (its queue filled up):
an EventSource then reconnects by itself. Authenticated like every route (a browser's
EventSource sends its cookie).
"""

from __future__ import annotations

import contextlib
from typing import Optional

import msgspec
from aiohttp import web

from whatsapp_client.gateway._context import context_of
from whatsapp_client.gateway._errors import NotFound, NotReady
from whatsapp_client.gateway._event_hub import LiveEvent, StreamClosed
from whatsapp_client.gateway._facade import GatewayService
from whatsapp_client.gateway._live import live_of, owner_of, sees_gateway, viewer_of
from whatsapp_client.gateway._logs import get_logger
from whatsapp_client.gateway._principal import Principal
from whatsapp_client.gateway._views import API

log = get_logger("stream")

_encode = msgspec.json.Encoder().encode
# Tells EventSource to reconnect after 2 s (its default is 3 s).
_PREAMBLE = b"retry: 2000\n\n"
_PING = b": ping\n\n"
_HEADERS = {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache, no-store",
    "X-Accel-Buffering": "no",  # nginx: pass events through as they come
}


class _Visibility:
    """Which sessions one stream's principal sees, with each session's current name;
    read once per session (sessions never change owner), again on a status change."""

    def __init__(self, service: GatewayService, who: Principal) -> None:
        self._service = service
        self._who = who
        self._names: dict[str, Optional[str]] = {}  # session id → name, None: not visible

    async def name(self, session_id: str, *, refresh: bool = False) -> Optional[str]:
        if refresh or session_id not in self._names:
            try:
                record = await self._service.get_session(session_id)
            except NotFound:
                self._names[session_id] = None
            else:
                sees = self._who.sees(owner_of(record), session_id)
                self._names[session_id] = record.name if sees else None
        return self._names[session_id]

    async def frame(self, event: LiveEvent) -> Optional[bytes]:
        """The SSE frame of ``event``, or None if the principal must not see it."""
        data = dict(event.data)
        if event.session_id is None:
            if not sees_gateway(self._who):
                return None
        else:
            name = await self.name(event.session_id, refresh=event.kind == "session")
            if name is None:
                return None
            if event.kind == "session":
                data["name"] = name
        return b"event: " + event.kind.encode() + b"\ndata: " + _encode(data) + b"\n\n"


async def stream(request: web.Request) -> web.StreamResponse:
    who = viewer_of(request)
    who.require_scope("read")
    live = live_of(request)
    if request.method == "HEAD":  # the headers of a stream, and no stream
        return web.Response(headers=_HEADERS)
    try:
        sub = live.hub.subscribe()
    except StreamClosed:
        raise NotReady("the gateway is stopping") from None
    response = web.StreamResponse(headers=_HEADERS)
    visibility = _Visibility(context_of(request).service, who)
    writing = False

    def abort_stuck_write() -> None:
        # Dropped (or the gateway stopping) while a write waits on a client that does not
        # read: only closing the connection frees this handler.
        if writing and request.transport is not None:
            request.transport.abort()

    async def send(data: bytes) -> None:
        nonlocal writing
        writing = True
        try:
            await response.write(data)
        finally:
            writing = False

    sub.on_close = abort_stuck_write
    # The connection ends with the stream (never kept alive for another request).
    response.force_close()
    try:
        await response.prepare(request)
        await send(_PREAMBLE)
        while True:
            try:
                event = await sub.next(live.heartbeat)
            except StreamClosed:
                if sub.dropped:
                    log.warning(
                        "event stream dropped: the client reads too slowly",
                        extra={"user_id": who.user_id, "queue_limit": live.hub.queue_limit},
                    )
                break
            if event is None:
                await send(_PING)
                continue
            frame = await visibility.frame(event)
            if frame is not None:
                await send(frame)
    except ConnectionError:
        pass  # the browser went away (or was cut off above)
    finally:
        sub.close()
    with contextlib.suppress(ConnectionError):
        await response.write_eof()
    return response


def add_routes(app: web.Application) -> None:
    app.router.add_get(f"{API}/events/stream", stream)

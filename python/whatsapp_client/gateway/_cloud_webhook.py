"""``/api/v1/sessions/{id}/cloud/webhook``: where Meta calls a ``cloud`` session.

Not behind the gateway's API keys (Meta cannot send one): a GET must carry the session's
verify token (``hub.mode=subscribe``, ``hub.verify_token``, ``hub.challenge`` → the
challenge as plain text, else 403), and a POST a valid ``X-Hub-Signature-256`` of its raw
body under the session's app secret (else 401, nothing parsed or recorded). A POST is
answered 200 once its events are recorded, so that Meta retries one that was not.

https://developers.facebook.com/docs/graph-api/webhooks/getting-started
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Optional, Protocol, cast

from aiohttp import web

from whatsapp_client.gateway._context import context_of
from whatsapp_client.gateway._errors import (
    Forbidden,
    InvalidRequest,
    NotFound,
    RequestTooLarge,
    SessionNotConnected,
    Unauthorized,
)
from whatsapp_client.gateway._routes_sessions import session_id_of
from whatsapp_client.gateway._views import API

__all__ = ["CLOUD_WEBHOOK_PATH", "add_routes"]

CLOUD_WEBHOOK_PATH = f"{API}/sessions/{{session_id}}/cloud/webhook"
# Graph's webhook bodies are small; a larger one is not Meta's.
MAX_BODY = 1024 * 1024
SIGNATURE_HEADER = "X-Hub-Signature-256"


class _Receiver(Protocol):
    def verify_get(self, params: Mapping[str, str]) -> tuple[int, str]: ...


class CloudHook(Protocol):
    """What the route needs of a cloud engine (imported lazily: the ``cloud`` extra)."""

    @property
    def receiver(self) -> _Receiver: ...

    async def record_webhook(self, raw_body: bytes, signature: Optional[str]) -> int: ...


async def _engine(request: web.Request) -> CloudHook:
    session_id = session_id_of(request)
    service = context_of(request).service
    session = await service.get_session(session_id)  # NotFound → 404
    if session.engine != "cloud":
        raise NotFound(f"session {session_id!r} is not a cloud session")
    engine = service.running_engine(session_id)
    if engine is None or engine.name != "cloud":
        # Meta retries for days: a stopped session gets what it missed once restarted.
        raise SessionNotConnected(f"session {session_id!r} is {session.status}")
    return cast(CloudHook, engine)


async def verify(request: web.Request) -> web.Response:
    engine = await _engine(request)
    status, text = engine.receiver.verify_get(
        {k: v for k, v in request.query.items() if isinstance(v, str)}
    )
    if status != 200:
        raise Forbidden("the verification request does not carry this session's verify token")
    return web.Response(status=200, text=text, content_type="text/plain")


async def _body(request: web.Request) -> bytes:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise RequestTooLarge(f"a webhook body is at most {MAX_BODY} bytes")
    body = await request.content.read(MAX_BODY + 1)
    while len(body) <= MAX_BODY:
        chunk = await request.content.read(MAX_BODY + 1 - len(body))
        if not chunk:
            break
        body += chunk
    if len(body) > MAX_BODY:
        raise RequestTooLarge(f"a webhook body is at most {MAX_BODY} bytes")
    return body


async def receive(request: web.Request) -> web.Response:
    engine = await _engine(request)
    raw = await _body(request)
    status = await engine.record_webhook(raw, request.headers.get(SIGNATURE_HEADER))
    if status == 401:
        raise Unauthorized(f"missing or invalid {SIGNATURE_HEADER}")
    if status == 503:
        raise SessionNotConnected("the session stopped while handling the webhook")
    if status == 413:
        raise RequestTooLarge("the webhook body is over the receiver's limit")
    if status != 200:
        raise InvalidRequest("the body is not a WhatsApp Cloud API webhook")
    return web.Response(status=200, text="ok", content_type="text/plain")


def add_routes(app: web.Application) -> None:
    app.router.add_get(CLOUD_WEBHOOK_PATH, verify)
    app.router.add_post(CLOUD_WEBHOOK_PATH, receive)

"""A session's webhook endpoints and deliveries: list them, and redeliver one."""

from __future__ import annotations

from typing import Optional, get_args

from aiohttp import web

from whatsapp_client.gateway._api_schemas import DeliveryList, WebhookList
from whatsapp_client.gateway._context import context_of
from whatsapp_client.gateway._errors import InvalidRequest
from whatsapp_client.gateway._http_errors import json_response
from whatsapp_client.gateway._models import DeliveryState
from whatsapp_client.gateway._ownership import reach_session
from whatsapp_client.gateway._routes_sessions import session_id_of
from whatsapp_client.gateway._views import API, delivery_view, webhook_view

_STATES: tuple[str, ...] = get_args(DeliveryState)
_QUERY = frozenset({"endpoint_id", "state", "limit"})
MAX_PAGE = 1000


async def list_webhooks(request: web.Request) -> web.Response:
    session_id = session_id_of(request)
    await reach_session(request, session_id, "read")
    endpoints = await context_of(request).service.list_webhooks(session_id)
    return json_response(WebhookList([webhook_view(e) for e in endpoints]))


def _delivery_query(request: web.Request) -> tuple[Optional[str], Optional[str], int]:
    unknown = sorted(set(request.query) - _QUERY)
    if unknown:
        raise InvalidRequest(f"unknown query parameter {unknown[0]!r}")
    state = request.query.get("state")
    if state is not None and state not in _STATES:
        raise InvalidRequest(f"state must be one of {', '.join(_STATES)}")
    endpoint_id = request.query.get("endpoint_id")
    if endpoint_id is not None and not 1 <= len(endpoint_id) <= 128:
        raise InvalidRequest("endpoint_id must be 1 to 128 characters")
    raw = request.query.get("limit", "100")
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_PAGE:
        raise InvalidRequest(f"limit must be a whole number from 1 to {MAX_PAGE}")
    return endpoint_id, state, int(raw)


async def list_deliveries(request: web.Request) -> web.Response:
    session_id = session_id_of(request)
    await reach_session(request, session_id, "read")
    endpoint_id, state, limit = _delivery_query(request)
    deliveries = await context_of(request).service.list_deliveries(
        session_id,
        endpoint_id=endpoint_id,
        state=state,  # type: ignore[arg-type]  # one of _STATES, checked above
        limit=limit,
    )
    return json_response(DeliveryList([delivery_view(d) for d in deliveries]))


async def redeliver(request: web.Request) -> web.Response:
    session_id = session_id_of(request)
    await reach_session(request, session_id, "write")
    raw = request.match_info["seq"]
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= 2**63 - 1:
        raise InvalidRequest("the delivery number must be a positive whole number")
    ctx = context_of(request)
    delivery = await ctx.service.redeliver(session_id, int(raw))
    ctx.wake()
    return json_response(delivery_view(delivery), status=202)


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get(f"{API}/sessions/{{session_id}}/webhooks", list_webhooks)
    r.add_get(f"{API}/sessions/{{session_id}}/deliveries", list_deliveries)
    r.add_post(f"{API}/sessions/{{session_id}}/deliveries/{{seq}}/redeliver", redeliver)

"""``/api/v1/sessions``: create, list, read, change, delete, stop and restart sessions."""

from __future__ import annotations

from typing import Optional

from aiohttp import web

from whatsapp_client.gateway._api_schemas import SessionList
from whatsapp_client.gateway._context import context_of
from whatsapp_client.gateway._errors import Forbidden, InvalidRequest
from whatsapp_client.gateway._http_errors import json_response, read_json
from whatsapp_client.gateway._logs import add_log_context
from whatsapp_client.gateway._ownership import reach_session
from whatsapp_client.gateway._principal import principal_of
from whatsapp_client.gateway._requests import CreateSession, SessionPatch, WebhookSpec
from whatsapp_client.gateway._views import API, session_view

MAX_WEBHOOKS = 10
MAX_RATE = 100_000  # the service refuses more


def session_id_of(request: web.Request) -> str:
    session_id = request.match_info["session_id"]
    add_log_context(session_id=session_id)
    return session_id


def check_common(
    name: Optional[str], rate: Optional[int], webhooks: Optional[list[WebhookSpec]]
) -> None:
    """Shape checks the decoder cannot express on the shared request types."""
    if name is not None and not 1 <= len(name.strip()) <= 100:
        raise InvalidRequest("name must be 1 to 100 characters")
    if rate is not None and not 1 <= rate <= MAX_RATE:
        raise InvalidRequest(f"rate_limit_per_minute must be between 1 and {MAX_RATE}")
    if webhooks is not None and len(webhooks) > MAX_WEBHOOKS:
        raise InvalidRequest(f"at most {MAX_WEBHOOKS} webhooks per session")


async def create_session(request: web.Request) -> web.Response:
    who = principal_of(request)
    who.require_scope("write")
    if who.session_ids is not None:
        raise Forbidden("this API key is restricted to some sessions; it cannot create one")
    spec = await read_json(request, CreateSession)
    check_common(spec.name, spec.rate_limit_per_minute, spec.webhooks)
    ctx = context_of(request)
    session, webhooks = await ctx.service.create_session(spec, owner_id=who.user_id)
    add_log_context(session_id=session.id)
    response = json_response(
        session_view(session, webhooks=webhooks, with_secrets=True), status=201
    )
    response.headers["Location"] = f"{API}/sessions/{session.id}"
    return response


async def list_sessions(request: web.Request) -> web.Response:
    who = principal_of(request)
    who.require_scope("read")
    sessions = await context_of(request).service.list_sessions()
    visible = [session_view(s) for s in sessions if who.sees(s.owner_id, s.id)]
    return json_response(SessionList(visible))


async def get_session(request: web.Request) -> web.Response:
    session_id = session_id_of(request)
    session = await reach_session(request, session_id, "read")
    service = context_of(request).service
    webhooks = await service.list_webhooks(session_id)
    depth = await service.queue_depth(session_id)
    return json_response(session_view(session, webhooks=webhooks, queue_depth=depth))


async def update_session(request: web.Request) -> web.Response:
    session_id = session_id_of(request)
    await reach_session(request, session_id, "write")
    patch = await read_json(request, SessionPatch)
    check_common(patch.name, patch.rate_limit_per_minute, patch.webhooks)
    session, webhooks = await context_of(request).service.update_session(session_id, patch)
    # Secrets only when this request set them.
    return json_response(
        session_view(session, webhooks=webhooks, with_secrets=patch.webhooks is not None)
    )


async def delete_session(request: web.Request) -> web.Response:
    session_id = session_id_of(request)
    await reach_session(request, session_id, "write")
    await context_of(request).service.delete_session(session_id)
    return web.Response(status=204)


async def stop_session(request: web.Request) -> web.Response:
    session_id = session_id_of(request)
    await reach_session(request, session_id, "write")
    session = await context_of(request).service.stop_session(session_id)
    return json_response(session_view(session))


async def restart_session(request: web.Request) -> web.Response:
    session_id = session_id_of(request)
    await reach_session(request, session_id, "write")
    session = await context_of(request).service.restart_session(session_id)
    return json_response(session_view(session))


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_post(f"{API}/sessions", create_session)
    r.add_get(f"{API}/sessions", list_sessions)
    r.add_get(f"{API}/sessions/{{session_id}}", get_session)
    r.add_patch(f"{API}/sessions/{{session_id}}", update_session)
    r.add_delete(f"{API}/sessions/{{session_id}}", delete_session)
    r.add_post(f"{API}/sessions/{{session_id}}/stop", stop_session)
    r.add_post(f"{API}/sessions/{{session_id}}/restart", restart_session)

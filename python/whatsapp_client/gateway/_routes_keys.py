"""``/api/v1/keys``: API keys by API (admin keys that are not restricted to sessions)."""

from __future__ import annotations

from aiohttp import web

from whatsapp_client.gateway._api_schemas import KeyCreate, KeyList
from whatsapp_client.gateway._auth import principal
from whatsapp_client.gateway._context import context_of
from whatsapp_client.gateway._errors import InvalidRequest, NotFound
from whatsapp_client.gateway._http_errors import json_response, read_json
from whatsapp_client.gateway._views import API, key_view


async def create_key(request: web.Request) -> web.Response:
    principal(request).require_unrestricted("admin")
    body = await read_json(request, KeyCreate)
    ctx = context_of(request)
    if body.expires_at is not None and body.expires_at <= ctx.keys.now_ms():
        raise InvalidRequest("expires_at is in the past")
    if body.session_ids is not None:
        known = {s.id for s in await ctx.service.list_sessions()}
        missing = [s for s in body.session_ids if s not in known]
        if missing:
            raise InvalidRequest(f"session_ids: no session {missing[0]!r}")
        session_ids = sorted(set(body.session_ids))
    else:
        session_ids = None
    record, key = await ctx.keys.create(body.name, body.scope, body.expires_at, session_ids)
    response = json_response(key_view(record, key), status=201)
    response.headers["Location"] = f"{API}/keys/{record.id}"
    response.headers["Cache-Control"] = "no-store"
    return response


async def list_keys(request: web.Request) -> web.Response:
    principal(request).require_unrestricted("admin")
    records = await context_of(request).storage.list_api_keys()
    return json_response(KeyList([key_view(r) for r in records]))


async def get_key(request: web.Request) -> web.Response:
    principal(request).require_unrestricted("admin")
    key_id = request.match_info["key_id"]
    for record in await context_of(request).storage.list_api_keys():
        if record.id == key_id:
            return json_response(key_view(record))
    raise NotFound(f"no API key {key_id!r}")


async def delete_key(request: web.Request) -> web.Response:
    principal(request).require_unrestricted("admin")
    key_id = request.match_info["key_id"]
    if not await context_of(request).storage.delete_api_key(key_id):
        raise NotFound(f"no API key {key_id!r}")
    return web.Response(status=204)


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_post(f"{API}/keys", create_key)
    r.add_get(f"{API}/keys", list_keys)
    r.add_get(f"{API}/keys/{{key_id}}", get_key)
    r.add_delete(f"{API}/keys/{{key_id}}", delete_key)

"""``/api/v1/keys``: API keys by API. A user creates, lists and revokes its own keys
(scope read or write, on its own sessions); an admin every key, and admin scope. A key
restricted to sessions, or a key below admin scope, cannot manage keys (a logged-in user
can). Another user's key answers 404."""

from __future__ import annotations

from aiohttp import web

from whatsapp_client.gateway._api_schemas import KeyCreate, KeyList
from whatsapp_client.gateway._context import context_of
from whatsapp_client.gateway._errors import Forbidden, InvalidRequest, NotFound
from whatsapp_client.gateway._http_errors import json_response, read_json
from whatsapp_client.gateway._models import ApiKeyRecord
from whatsapp_client.gateway._principal import Principal, principal_of
from whatsapp_client.gateway._views import API, key_view


def _key_manager(request: web.Request) -> Principal:
    who = principal_of(request)
    if who.session_ids is not None:
        raise Forbidden("this API key is restricted to some sessions; it cannot manage keys")
    if who.via == "api_key":
        who.require_scope("admin")
    return who


def _mine(who: Principal, record: ApiKeyRecord) -> bool:
    return who.is_admin or record.user_id == who.user_id


async def create_key(request: web.Request) -> web.Response:
    who = _key_manager(request)
    body = await read_json(request, KeyCreate)
    if body.scope == "admin" and not who.is_admin:
        raise Forbidden("only an admin may create a key with scope 'admin'")
    ctx = context_of(request)
    if body.expires_at is not None and body.expires_at <= ctx.keys.now_ms():
        raise InvalidRequest("expires_at is in the past")
    if body.session_ids is not None:
        known = {s.id for s in await ctx.service.list_sessions() if who.sees(s.owner_id, s.id)}
        missing = [s for s in body.session_ids if s not in known]
        if missing:
            raise InvalidRequest(f"session_ids: no session {missing[0]!r}")
        session_ids = sorted(set(body.session_ids))
    else:
        session_ids = None
    record, key = await ctx.keys.create(
        body.name, body.scope, body.expires_at, session_ids, who.user_id
    )
    response = json_response(key_view(record, key), status=201)
    response.headers["Location"] = f"{API}/keys/{record.id}"
    response.headers["Cache-Control"] = "no-store"
    return response


async def list_keys(request: web.Request) -> web.Response:
    who = _key_manager(request)
    records = await context_of(request).storage.list_api_keys()
    return json_response(KeyList([key_view(r) for r in records if _mine(who, r)]))


async def get_key(request: web.Request) -> web.Response:
    who = _key_manager(request)
    key_id = request.match_info["key_id"]
    for record in await context_of(request).storage.list_api_keys():
        if record.id == key_id and _mine(who, record):
            return json_response(key_view(record))
    raise NotFound(f"no API key {key_id!r}")


async def delete_key(request: web.Request) -> web.Response:
    who = _key_manager(request)
    key_id = request.match_info["key_id"]
    storage = context_of(request).storage
    found = [r for r in await storage.list_api_keys() if r.id == key_id and _mine(who, r)]
    if not found or not await storage.delete_api_key(key_id):
        raise NotFound(f"no API key {key_id!r}")
    return web.Response(status=204)


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_post(f"{API}/keys", create_key)
    r.add_get(f"{API}/keys", list_keys)
    r.add_get(f"{API}/keys/{{key_id}}", get_key)
    r.add_delete(f"{API}/keys/{{key_id}}", delete_key)

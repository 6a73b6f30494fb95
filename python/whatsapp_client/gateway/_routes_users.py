"""``/api/v1/users``: operator accounts, for admins only. The last enabled admin cannot be
deleted, demoted or disabled (checked in the storage, in the same transaction)."""

from __future__ import annotations

from aiohttp import web

from whatsapp_client.gateway._account_schemas import (
    TemporaryPassword,
    UserCreate,
    UserCreated,
    UserList,
    UserPatch,
    user_view,
)
from whatsapp_client.gateway._accounts import temporary_password
from whatsapp_client.gateway._context import context_of
from whatsapp_client.gateway._errors import Conflict, NotFound
from whatsapp_client.gateway._http_errors import json_response, read_json
from whatsapp_client.gateway._ids import now_ms
from whatsapp_client.gateway._logs import get_logger
from whatsapp_client.gateway._principal import principal_of
from whatsapp_client.gateway._routes_auth import accounts_of
from whatsapp_client.gateway._views import API

log = get_logger("accounts")
_BODY_LIMIT = 8 * 1024


def _user_id(request: web.Request) -> str:
    return request.match_info["user_id"]


def _no_store(response: web.Response) -> web.Response:
    response.headers["Cache-Control"] = "no-store"
    return response


async def list_users(request: web.Request) -> web.Response:
    principal_of(request).require_admin()
    users = await context_of(request).storage.list_users()
    return json_response(UserList([user_view(u) for u in users]))


async def create_user(request: web.Request) -> web.Response:
    who = principal_of(request)
    who.require_admin()
    body = await read_json(request, UserCreate, limit=_BODY_LIMIT)
    accounts = accounts_of(request).accounts
    temporary = temporary_password() if body.password is None else None
    password = body.password if body.password is not None else temporary
    assert password is not None
    # Without a password: a temporary one, shown once, to be changed at the first login.
    user = await accounts.create(body.email, body.role, password, must_change=temporary is not None)
    log.info("user created", extra={"user_id": user.id, "role": user.role, "by": who.user_id})
    response = json_response(UserCreated(user=user_view(user), temporary_password=temporary), 201)
    response.headers["Location"] = f"{API}/users/{user.id}"
    return _no_store(response)


async def get_user(request: web.Request) -> web.Response:
    principal_of(request).require_admin()
    user = await accounts_of(request).accounts.get(_user_id(request))
    return json_response(user_view(user))


async def update_user(request: web.Request) -> web.Response:
    who = principal_of(request)
    who.require_admin()
    body = await read_json(request, UserPatch, limit=_BODY_LIMIT)
    changes = {k: v for k, v in (("role", body.role), ("disabled", body.disabled)) if v is not None}
    storage = context_of(request).storage
    user = await storage.update_user(_user_id(request), **changes)
    if body.disabled:
        await storage.end_logins(user.id, now_ms())
    log.info("user changed", extra={"user_id": user.id, "by": who.user_id, **changes})
    return json_response(user_view(user))


async def delete_user(request: web.Request) -> web.Response:
    who = principal_of(request)
    who.require_admin()
    user_id = _user_id(request)
    if user_id == who.user_id:
        raise Conflict("an admin cannot delete their own account")
    # The user's sessions pass to the admin who deletes it; its keys and logins end.
    if not await context_of(request).storage.delete_user(user_id, who.user_id):
        raise NotFound(f"no user {user_id!r}")
    log.info("user deleted", extra={"user_id": user_id, "by": who.user_id})
    return web.Response(status=204)


async def reset_password(request: web.Request) -> web.Response:
    who = principal_of(request)
    who.require_admin()
    user, password = await accounts_of(request).accounts.reset_password(_user_id(request))
    log.info("password reset", extra={"user_id": user.id, "by": who.user_id})
    return _no_store(json_response(TemporaryPassword(password)))


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get(f"{API}/users", list_users)
    r.add_post(f"{API}/users", create_user)
    r.add_get(f"{API}/users/{{user_id}}", get_user)
    r.add_patch(f"{API}/users/{{user_id}}", update_user)
    r.add_delete(f"{API}/users/{{user_id}}", delete_user)
    r.add_post(f"{API}/users/{{user_id}}/reset-password", reset_password)

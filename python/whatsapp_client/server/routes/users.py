"""User lookup (§6.1)."""

from __future__ import annotations

from aiohttp import web

from whatsapp_client.server.errors import bad_request, not_found
from whatsapp_client.server.routes.common import json, require_user
from whatsapp_client.server.schemas import User
from whatsapp_client.server.state import state_of


def _no_user() -> Exception:
    return not_found("user_not_found", "no such user")


async def me(request: web.Request) -> web.Response:
    user_id = await require_user(request)
    user = await state_of(request).storage.user_by_id(user_id)
    if user is None:  # the account row is gone but a token survived: treat as logged out
        raise _no_user()
    return json(User(user.id, user.username))


async def get_user(request: web.Request) -> web.Response:
    await require_user(request)
    user = await state_of(request).storage.user_by_id(request.match_info["user_id"])
    if user is None:
        raise _no_user()
    return json(User(user.id, user.username))


async def find_user(request: web.Request) -> web.Response:
    await require_user(request)
    username = request.query.get("username")
    if not username:
        raise bad_request("the username query parameter is required")
    user = await state_of(request).storage.user_by_name(username)
    if user is None:
        raise _no_user()
    return json(User(user.id, user.username))

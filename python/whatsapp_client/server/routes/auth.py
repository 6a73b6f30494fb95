"""Accounts (§6.1): register, login, logout."""

from __future__ import annotations

import uuid

from aiohttp import web

from whatsapp_client.server import credentials
from whatsapp_client.server.errors import ApiError, conflict
from whatsapp_client.server.routes.common import (
    client_address,
    json,
    no_content,
    read_body,
    require_session,
)
from whatsapp_client.server.schemas import AuthResult, Credentials, User
from whatsapp_client.server.state import ServerState, state_of


async def _issue_token(state: ServerState, user_id: str) -> str:
    token = credentials.new_token()
    await state.storage.add_token(credentials.token_hash(token), user_id)
    return token


def _too_many(state: ServerState, limit: str, wait: float) -> ApiError:
    state.metrics.rate_limited.labels(limit).inc()
    return ApiError(429, "rate_limited", "too many attempts; retry later", retry_after=wait)


async def register(request: web.Request) -> web.Response:
    state = state_of(request)
    body = await read_body(request, Credentials)
    if not credentials.valid_username(body.username):
        raise ApiError(400, "invalid_username", "usernames are 3-32 characters of a-z 0-9 _ . -")
    if not credentials.strong_enough(body.password):
        raise ApiError(400, "weak_password", "passwords need at least 8 characters")
    wait = state.limiters.register_by_address.hit(client_address(request))
    if wait is not None:
        raise _too_many(state, "registrations_per_address", wait)
    hashed = await credentials.hash_password(body.password, state.settings.bcrypt_cost)
    user = await state.storage.create_user(str(uuid.uuid4()), body.username, hashed)
    if user is None:
        raise conflict("username_taken", "that username is already registered")
    token = await _issue_token(state, user.id)
    return json(AuthResult(User(user.id, user.username), token), status=201)


async def login(request: web.Request) -> web.Response:
    state = state_of(request)
    body = await read_body(request, Credentials)
    limiters = state.limiters
    address = client_address(request)
    pair = f"{address} {body.username}"
    # Refuse before spending a bcrypt check when either budget is exhausted.
    for limiter, key, name in (
        (limiters.login_by_user_and_address, pair, "login_attempts_per_username"),
        (limiters.login_by_address, address, "login_attempts_per_address"),
    ):
        wait = limiter.retry_after(key)
        if wait is not None:
            raise _too_many(state, name, wait)
    found = await state.storage.credential(body.username)
    if found is None:
        await state.dummy_hash.burn(body.password)
        ok = False
    else:
        ok = await credentials.check_password(body.password, found.password_hash)
    if not ok or found is None:
        state.metrics.auth_failures.labels("login").inc()
        limiters.login_by_user_and_address.hit(pair)
        limiters.login_by_address.hit(address)
        raise ApiError(401, "invalid_credentials", "wrong username or password")
    token = await _issue_token(state, found.user.id)
    return json(AuthResult(User(found.user.id, found.user.username), token))


async def logout(request: web.Request) -> web.Response:
    _, hashed = await require_session(request)
    await state_of(request).storage.revoke_token(hashed)
    return no_content()

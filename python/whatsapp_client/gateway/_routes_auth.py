"""``/api/v1/auth``: log in (tokens and a browser session), refresh, log out, who am I,
change my password. Failed logins are throttled per client address and per email, and
every attempt is logged with the email and address (never the password)."""

from __future__ import annotations

import dataclasses
from typing import Optional

from aiohttp import web

from whatsapp_client.gateway._account_records import UserRecord
from whatsapp_client.gateway._account_schemas import (
    LoginAnswer,
    LoginBody,
    LogoutBody,
    PasswordBody,
    RefreshBody,
    user_view,
)
from whatsapp_client.gateway._accounts import Accounts, WrongPassword
from whatsapp_client.gateway._auth import FailureThrottle
from whatsapp_client.gateway._auth_middleware import Authenticator
from whatsapp_client.gateway._context import context_of
from whatsapp_client.gateway._errors import TooManyRequests, Unauthorized
from whatsapp_client.gateway._http_errors import json_response, read_json
from whatsapp_client.gateway._logs import get_logger
from whatsapp_client.gateway._principal import principal_of
from whatsapp_client.gateway._trust import client_address
from whatsapp_client.gateway._views import API

log = get_logger("auth")
_BODY_LIMIT = 8 * 1024


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"


@dataclasses.dataclass
class AccountsContext:
    accounts: Accounts
    auth: Authenticator
    by_address: FailureThrottle
    by_email: FailureThrottle


ACCOUNTS = web.AppKey("gateway_accounts", AccountsContext)


def accounts_of(request: web.Request) -> AccountsContext:
    return request.app[ACCOUNTS]


async def _answer(acc: AccountsContext, user: UserRecord, refresh: str) -> LoginAnswer:
    tokens = acc.auth.tokens
    return LoginAnswer(
        access_token=await tokens.access_token(user),
        refresh_token=refresh,
        token_type="Bearer",  # noqa: S106  (the token kind, not a secret)
        expires_in=tokens.access_seconds,
        user=user_view(user),
    )


def _no_store(response: web.StreamResponse) -> web.StreamResponse:
    response.headers["Cache-Control"] = "no-store"
    return response


def _check_throttles(acc: AccountsContext, address: str, email: str) -> None:
    waits = [acc.by_address.retry_after(address), acc.by_email.retry_after(email)]
    wait = max((w for w in waits if w is not None), default=None)
    if wait is not None:
        log.warning("login throttled", extra={"email": email, "address": address})
        raise TooManyRequests("too many failed logins; try again later", wait)


async def login(request: web.Request) -> web.StreamResponse:
    acc = accounts_of(request)
    address = client_address(request, context_of(request).settings.trusted_proxies)
    body = await read_json(request, LoginBody, limit=_BODY_LIMIT)
    email = body.email.strip().lower()
    _check_throttles(acc, address, email)
    user = await acc.accounts.check_login(body.email, body.password)
    if user is None:
        acc.by_address.failed(address)
        acc.by_email.failed(email)
        log.warning("login failed", extra={"email": email, "address": address})
        raise InvalidCredentials("wrong email or password")
    log.info("login", extra={"email": email, "address": address, "user_id": user.id})
    refresh = await acc.auth.tokens.refresh_token(user)
    session_id, csrf = await acc.auth.browser.start(user.id)
    response = json_response(await _answer(acc, user, refresh))
    acc.auth.browser.set_cookies(request, response, session_id, csrf)
    return _no_store(response)


async def refresh(request: web.Request) -> web.StreamResponse:
    acc = accounts_of(request)
    acc.auth.keys.check_throttle(request)
    body = await read_json(request, RefreshBody, limit=_BODY_LIMIT)
    try:
        user_id, token = await acc.auth.tokens.rotate(body.refresh_token)
    except Unauthorized as exc:
        acc.auth.keys.refuse(request, "bad refresh token", exc.message)
        raise
    user = await acc.accounts.get(user_id)
    if user.disabled:
        await acc.auth.tokens.revoke(token)
        raise Unauthorized("this account is disabled")
    return _no_store(json_response(await _answer(acc, user, token)))


async def logout(request: web.Request) -> web.StreamResponse:
    acc = accounts_of(request)
    body: Optional[LogoutBody] = None
    if request.can_read_body and request.content_type == "application/json":
        body = await read_json(request, LogoutBody, limit=_BODY_LIMIT)
    if body is not None and body.refresh_token is not None:
        await acc.auth.tokens.revoke(body.refresh_token)
    await acc.auth.browser.end(request)
    bearer = request.headers.get("Authorization", "")
    if principal_of(request).via == "bearer" and bearer.startswith("Bearer "):
        await acc.auth.tokens.end_access(bearer.removeprefix("Bearer "))
    log.info("logout", extra={"user_id": principal_of(request).user_id})
    response = web.Response(status=204)
    acc.auth.browser.clear_cookies(response)
    return response


async def me(request: web.Request) -> web.StreamResponse:
    user = await accounts_of(request).accounts.get(principal_of(request).user_id)
    return _no_store(json_response(user_view(user)))


async def change_password(request: web.Request) -> web.StreamResponse:
    acc = accounts_of(request)
    who = principal_of(request)
    body = await read_json(request, PasswordBody, limit=_BODY_LIMIT)
    user = await acc.accounts.get(who.user_id)
    # Guesses of the current password (from a stolen session) are throttled like logins.
    address = client_address(request, context_of(request).settings.trusted_proxies)
    _check_throttles(acc, address, user.email.lower())
    keep = acc.auth.browser.id_hash_of(request) if who.via == "cookie" else None
    try:
        await acc.accounts.change_password(
            user, body.current_password, body.new_password, keep_browser=keep
        )
    except WrongPassword:
        acc.by_address.failed(address)
        acc.by_email.failed(user.email.lower())
        log.warning("password change refused: wrong current password", extra={"user_id": user.id})
        raise
    log.info("password changed", extra={"user_id": user.id})
    return web.Response(status=204)


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_post(f"{API}/auth/login", login)
    r.add_post(f"{API}/auth/refresh", refresh)
    r.add_post(f"{API}/auth/logout", logout)
    r.add_get(f"{API}/auth/me", me)
    r.add_post(f"{API}/auth/password", change_password)

"""Who is asking: the middleware that turns an API key, a Bearer access token or a browser
session cookie (with its CSRF token) into a :class:`._principal.Principal`, and holds a
user who must change their password to the few routes that let them do so.

Precedence: ``X-API-Key``, then ``Authorization: Bearer``, then the ``wag_session``
cookie. Every refusal counts against the client's address (throttled like bad keys).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable
from typing import Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from whatsapp_client.gateway._account_records import UserRecord
from whatsapp_client.gateway._auth import (
    CLOUD_WEBHOOK,
    HEADER,
    PUBLIC_PATHS,
    PUBLIC_PREFIXES,
    ApiKeys,
    key_principal,
)
from whatsapp_client.gateway._browser_sessions import BrowserSessions
from whatsapp_client.gateway._errors import Forbidden, Unauthorized
from whatsapp_client.gateway._principal import REQUEST_KEY, Principal
from whatsapp_client.gateway._storage import Storage
from whatsapp_client.gateway._tokens import Tokens

# What a user who must change their password may still do.
PASSWORD_GATE_OPEN = frozenset({"/api/v1/auth/me", "/api/v1/auth/password", "/api/v1/auth/logout"})
_BEARER = re.compile(r"^Bearer ([A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+)$")


class PasswordChangeRequired(Forbidden):
    code = "password_change_required"


def is_public(path: str) -> bool:
    return (
        path in PUBLIC_PATHS
        or path.startswith(PUBLIC_PREFIXES)
        or CLOUD_WEBHOOK.match(path) is not None
    )


def login_principal(user: UserRecord, via: str) -> Principal:
    """A logged-in user: scope admin for admins, write for users."""
    return Principal(
        user_id=user.id,
        email=user.email,
        role=user.role,
        scope="admin" if user.role == "admin" else "write",
        via="cookie" if via == "cookie" else "bearer",
    )


class Authenticator:
    def __init__(
        self, storage: Storage, keys: ApiKeys, tokens: Tokens, browser: BrowserSessions
    ) -> None:
        self._storage = storage
        self.keys = keys
        self.tokens = tokens
        self.browser = browser

    async def _live_user(self, request: web.Request, user_id: str | None, what: str) -> UserRecord:
        user = await self._storage.get_user(user_id) if user_id else None
        if user is None or user.disabled:
            self.keys.refuse(request, f"{what}: no such enabled user", "this account is disabled")
        assert user is not None
        return user

    async def principal(self, request: web.Request) -> tuple[Principal, UserRecord]:
        if request.headers.get(HEADER) is not None:
            owner_id, record = await self.keys.authenticate(request)
            user = await self._live_user(request, owner_id, "api key")
            return key_principal(user, record), user
        self.keys.check_throttle(request)
        authorization = request.headers.get("Authorization")
        if authorization is not None:
            match = _BEARER.match(authorization)
            if match is None:
                self.keys.refuse(request, "malformed bearer", "invalid Authorization header")
            assert match is not None
            try:
                user_id, generation = await self.tokens.check_access(match.group(1))
            except Unauthorized as exc:  # counted against the address, like a bad key
                self.keys.refuse(request, "bad bearer token", exc.message)
            user = await self._live_user(request, user_id, "bearer")
            if user.password_changed_at != generation:
                self.keys.refuse(
                    request, "stale bearer token", "the password changed; log in again"
                )
            return login_principal(user, "bearer"), user
        session = await self.browser.find(request)
        if session is None:
            self.keys.refuse(
                request,
                "no credential",
                "log in, or send an X-API-Key header or an Authorization: Bearer token",
            )
        assert session is not None
        user = await self._live_user(request, session.user_id, "cookie")
        self.browser.check_csrf(request, session)
        return login_principal(user, "cookie"), user


def auth_middleware(auth: Authenticator) -> Middleware:
    @web.middleware
    async def middleware(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if not is_public(request.path):
            who, user = await auth.principal(request)
            request[REQUEST_KEY] = who
            if (
                user.must_change_password
                and who.via != "api_key"
                and request.path not in PASSWORD_GATE_OPEN
            ):
                raise PasswordChangeRequired(
                    "change your password first (POST /api/v1/auth/password)"
                )
        return await handler(request)

    return middleware

"""Server-side browser sessions (cookie ``wag_session``) and CSRF double submit.

The session cookie is an opaque random id (HttpOnly, SameSite=Strict); only its SHA-256
is stored. A second cookie, ``wag_csrf``, is readable by the page's script, which sends it
back in ``X-CSRF-Token`` on every unsafe request; the gateway checks that the header
equals the cookie *and* the token issued with this session (its hash is stored with it),
so a token planted by a sibling subdomain does not pass either.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Callable, Optional

from aiohttp import web

from whatsapp_client.gateway._account_records import BrowserSession
from whatsapp_client.gateway._errors import Forbidden, GatewayError
from whatsapp_client.gateway._ids import now_ms
from whatsapp_client.gateway._settings import GatewaySettings
from whatsapp_client.gateway._storage import Storage

SESSION_COOKIE = "wag_session"
CSRF_COOKIE = "wag_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CsrfFailed(Forbidden):
    code = "csrf_failed"


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


class BrowserSessions:
    def __init__(
        self, storage: Storage, settings: GatewaySettings, *, wall_ms: Callable[[], int] = now_ms
    ) -> None:
        self._storage = storage
        self._settings = settings
        self._wall_ms = wall_ms

    async def start(self, user_id: str) -> tuple[str, str]:
        """A new session: ``(session id, csrf token)`` for the cookies."""
        session_id = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = self._wall_ms()
        await self._storage.add_browser_session(
            BrowserSession(
                id_hash=_hash(session_id),
                user_id=user_id,
                csrf_hash=_hash(csrf),
                created_at=now,
                expires_at=now + self._settings.browser_session_seconds * 1000,
            )
        )
        return session_id, csrf

    async def find(self, request: web.Request) -> Optional[BrowserSession]:
        """The live session of the request's cookie, or None."""
        raw = request.cookies.get(SESSION_COOKIE)
        if not raw or len(raw) > 128:
            return None
        session = await self._storage.get_browser_session(_hash(raw))
        if session is None or session.expires_at <= self._wall_ms():
            return None
        return session

    @staticmethod
    def check_csrf(request: web.Request, session: BrowserSession) -> None:
        if request.method in SAFE_METHODS:
            return
        header = request.headers.get(CSRF_HEADER, "")
        cookie = request.cookies.get(CSRF_COOKIE, "")
        if not header or not cookie or len(header) > 128:
            raise CsrfFailed(f"the {CSRF_HEADER} header must repeat the {CSRF_COOKIE} cookie")
        same = hmac.compare_digest(header.encode(), cookie.encode())
        issued = hmac.compare_digest(_hash(header), session.csrf_hash)
        if not (same and issued):
            raise CsrfFailed(f"the {CSRF_HEADER} header does not match this session")

    async def end(self, request: web.Request) -> None:
        raw = request.cookies.get(SESSION_COOKIE)
        if raw and len(raw) <= 128:
            await self._storage.delete_browser_session(_hash(raw))

    @staticmethod
    def id_hash_of(request: web.Request) -> Optional[str]:
        raw = request.cookies.get(SESSION_COOKIE)
        return _hash(raw) if raw and len(raw) <= 128 else None

    def secure(self, request: web.Request) -> bool:
        return self._settings.cookie_secure or request.secure

    def set_cookies(
        self, request: web.Request, response: web.StreamResponse, session_id: str, csrf: str
    ) -> None:
        secure = self.secure(request)
        age = self._settings.browser_session_seconds
        response.set_cookie(
            SESSION_COOKIE,
            session_id,
            path="/",
            httponly=True,
            samesite="Strict",
            secure=secure,
            max_age=age,
        )
        response.set_cookie(
            CSRF_COOKIE,
            csrf,
            path="/",
            httponly=False,
            samesite="Strict",
            secure=secure,
            max_age=age,
        )

    @staticmethod
    def clear_cookies(response: web.StreamResponse) -> None:
        for name in (SESSION_COOKIE, CSRF_COOKIE):
            response.del_cookie(name, path="/")


__all__ = ["BrowserSessions", "CsrfFailed", "GatewayError"]

"""What the operator account tests share: a gateway whose first admin has a known
password, logins (Bearer tokens, and a browser-like client with its own cookie jar), and
users made through the API."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Optional

import aiohttp

from tests.gateway._api_support import Answer, GatewayHandle, running_gateway

ADMIN_EMAIL = "root@example.test"
ADMIN_PASSWORD = "first-admin-password-3kQ9"
USER_PASSWORD = "a-user-password-Zp4m"


@asynccontextmanager
async def accounts_gateway(data_dir: Path, **settings: Any) -> AsyncIterator[GatewayHandle]:
    """A gateway (with the usual environment admin key) whose first admin is
    ``ADMIN_EMAIL`` / ``ADMIN_PASSWORD``."""
    values = {"admin_email": ADMIN_EMAIL, "admin_password": ADMIN_PASSWORD, **settings}
    async with running_gateway(data_dir, **values) as gw:
        yield gw


@dataclasses.dataclass
class Login:
    """A logged-in user: its tokens, and a browser-like HTTP client holding its cookies."""

    gw: GatewayHandle
    user: dict[str, Any]
    access: str
    refresh: str
    browser: aiohttp.ClientSession

    @property
    def id(self) -> str:
        return str(self.user["id"])

    @property
    def csrf(self) -> str:
        """The ``wag_csrf`` cookie ("" when the jar has none, after a logout)."""
        for cookie in self.browser.cookie_jar:
            if cookie.key == "wag_csrf":
                return cookie.value
        return ""

    async def bearer(self, method: str, path: str, **kw: Any) -> Answer:
        headers = {"Authorization": f"Bearer {self.access}", **kw.pop("headers", {})}
        return await self.gw.call(method, path, key=None, headers=headers, **kw)

    async def cookie(
        self, method: str, path: str, *, csrf: Optional[str] = "auto", json_body: Any = None
    ) -> Answer:
        """A request as the browser makes it: cookies, and the CSRF header unless
        ``csrf`` is None (or the given value)."""
        headers = {}
        if csrf is not None:
            headers["X-CSRF-Token"] = self.csrf if csrf == "auto" else csrf
        async with self.browser.request(
            method, self.gw.url + path, json=json_body, headers=headers
        ) as response:
            raw = await response.read()
            body = json.loads(raw) if response.content_type == "application/json" and raw else None
            return Answer(response.status, body, response.headers, raw)


async def login(
    gw: GatewayHandle, email: str, password: str, *, expect: int = 200
) -> tuple[Answer, Optional[Login]]:
    # Cookies for 127.0.0.1: aiohttp's jar refuses IP hosts unless told otherwise.
    browser = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with browser.post(
        gw.url + "/api/v1/auth/login", json={"email": email, "password": password}
    ) as response:
        raw = await response.read()
        body: Any = json.loads(raw) if raw else None
        answer = Answer(response.status, body, response.headers, raw)
    assert answer.status == expect, answer.body
    if answer.status != 200:
        await browser.close()
        return answer, None
    gw_sessions = _open_browsers.setdefault(id(gw), [])
    gw_sessions.append(browser)
    return answer, Login(gw, body["user"], body["access_token"], body["refresh_token"], browser)


_open_browsers: dict[int, list[aiohttp.ClientSession]] = {}


async def close_browsers(gw: GatewayHandle) -> None:
    for browser in _open_browsers.pop(id(gw), []):
        await browser.close()


async def make_user(
    gw: GatewayHandle, email: str, role: str = "user", password: str = USER_PASSWORD
) -> Login:
    """Creates the user with the admin key, and logs it in."""
    created = await gw.call(
        "POST", "/api/v1/users", json_body={"email": email, "role": role, "password": password}
    )
    assert created.status == 201, created.body
    _, user = await login(gw, email, password)
    assert user is not None
    return user

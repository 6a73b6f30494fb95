"""The browser session: CSRF double submit on unsafe methods, the must-change-password
gate, password changes, and login throttling per address and per email."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.gateway._accounts_support import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    accounts_gateway,
    close_browsers,
    login,
)
from tests.gateway._api_support import ON_BOTH_BACKENDS, running_gateway

NEW_PASSWORD = "a brand new passphrase 7"


@ON_BOTH_BACKENDS
async def test_unsafe_cookie_requests_need_the_csrf_token(tmp_path: Path) -> None:
    async with accounts_gateway(tmp_path / "gw") as gw:
        _, admin = await login(gw, ADMIN_EMAIL, ADMIN_PASSWORD)
        assert admin is not None
        body = {"name": "k", "scope": "read"}
        for csrf in (None, "", "wrong-token", admin.csrf + "x"):
            answer = await admin.cookie("POST", "/api/v1/keys", csrf=csrf, json_body=body)
            assert (answer.status, answer.code) == (403, "csrf_failed"), csrf
        assert (await gw.call("GET", "/api/v1/keys")).body["keys"] == []
        # Another session's token does not fit this one, even sent as both cookie and header.
        _, other = await login(gw, ADMIN_EMAIL, ADMIN_PASSWORD)
        assert other is not None
        session = next(c.value for c in admin.browser.cookie_jar if c.key == "wag_session")
        crossed = await gw.call(
            "POST",
            "/api/v1/keys",
            key=None,
            json_body=body,
            headers={
                "Cookie": f"wag_session={session}; wag_csrf={other.csrf}",
                "X-CSRF-Token": other.csrf,
            },
        )
        assert (crossed.status, crossed.code) == (403, "csrf_failed")
        # Reads need none; the right token passes; Bearer calls need none.
        assert (await admin.cookie("GET", "/api/v1/keys", csrf=None)).status == 200
        assert (await other.cookie("POST", "/api/v1/keys", json_body=body)).status == 201
        assert (await admin.bearer("POST", "/api/v1/keys", json_body=body)).status == 201
        await close_browsers(gw)


@ON_BOTH_BACKENDS
async def test_must_change_password_gate(tmp_path: Path) -> None:
    async with running_gateway(tmp_path / "gw") as gw:
        email, password = gw.announced_admin[0]
        _, admin = await login(gw, email, password)
        assert admin is not None
        for call in (admin.bearer, admin.cookie):
            answer = await call("GET", "/api/v1/sessions")
            assert (answer.status, answer.code) == (403, "password_change_required")
            assert (await call("GET", "/api/v1/auth/me")).status == 200
        short = await admin.cookie(
            "POST",
            "/api/v1/auth/password",
            json_body={"current_password": password, "new_password": "short"},
        )
        assert short.status == 400
        wrong = await admin.cookie(
            "POST",
            "/api/v1/auth/password",
            json_body={"current_password": "not-the-password", "new_password": NEW_PASSWORD},
        )
        assert wrong.status == 400
        changed = await admin.cookie(
            "POST",
            "/api/v1/auth/password",
            json_body={"current_password": password, "new_password": NEW_PASSWORD},
        )
        assert changed.status == 204
        # This browser session goes on; the earlier access token and refresh token end.
        assert (await admin.cookie("GET", "/api/v1/sessions")).status == 200
        assert (await admin.bearer("GET", "/api/v1/auth/me")).status == 401
        refresh = await gw.call(
            "POST", "/api/v1/auth/refresh", key=None, json_body={"refresh_token": admin.refresh}
        )
        assert refresh.status == 401
        await login(gw, email, password, expect=401)
        answer, again = await login(gw, email, NEW_PASSWORD)
        assert again is not None and answer.body["user"]["must_change_password"] is False
        assert (await again.bearer("GET", "/api/v1/sessions")).status == 200
        await close_browsers(gw)


async def test_failed_logins_are_throttled_per_email(tmp_path: Path) -> None:
    async with accounts_gateway(tmp_path / "gw", login_failures_per_email=3) as gw:
        for _ in range(3):
            await login(gw, ADMIN_EMAIL, "wrong-password-123", expect=401)
        # Now refused, even with the right password (case of the email does not matter).
        blocked, _ = await login(gw, ADMIN_EMAIL.upper(), ADMIN_PASSWORD, expect=429)
        assert blocked.body["error"]["code"] == "too_many_requests"
        assert int(blocked.headers["Retry-After"]) >= 1
        # Another email from the same address is not blocked yet.
        await login(gw, "other@example.test", "wrong-password-123", expect=401)
        await close_browsers(gw)


async def test_failed_logins_are_throttled_per_address(tmp_path: Path) -> None:
    async with accounts_gateway(
        tmp_path / "gw", login_failures_per_address=4, trusted_proxies="127.0.0.1"
    ) as gw:
        for n in range(4):
            answer = await gw.call(
                "POST",
                "/api/v1/auth/login",
                key=None,
                json_body={"email": f"guess{n}@example.test", "password": "123456789012"},
                headers={"X-Forwarded-For": "198.51.100.9"},
            )
            assert answer.status == 401
        blocked = await gw.call(
            "POST",
            "/api/v1/auth/login",
            key=None,
            json_body={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
            headers={"X-Forwarded-For": "198.51.100.9"},
        )
        assert (blocked.status, blocked.code) == (429, "too_many_requests")
        elsewhere = await gw.call(
            "POST",
            "/api/v1/auth/login",
            key=None,
            json_body={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
            headers={"X-Forwarded-For": "198.51.100.10"},
        )
        assert elsewhere.status == 200


async def test_guesses_of_the_current_password_are_throttled(tmp_path: Path) -> None:
    async with accounts_gateway(tmp_path / "gw", login_failures_per_email=2) as gw:
        _, admin = await login(gw, ADMIN_EMAIL, ADMIN_PASSWORD)
        assert admin is not None
        guess = {"current_password": "a guess at it 1", "new_password": NEW_PASSWORD}
        for _ in range(2):
            assert (
                await admin.bearer("POST", "/api/v1/auth/password", json_body=guess)
            ).status == 400
        right = {"current_password": ADMIN_PASSWORD, "new_password": NEW_PASSWORD}
        blocked = await admin.bearer("POST", "/api/v1/auth/password", json_body=right)
        assert (blocked.status, blocked.code) == (429, "too_many_requests")
        await login(gw, ADMIN_EMAIL, ADMIN_PASSWORD, expect=429)  # the email is throttled
        await close_browsers(gw)


def test_a_weak_first_admin_password_stops_the_start(tmp_path: Path) -> None:
    from whatsapp_client.gateway._app import create_app
    from whatsapp_client.gateway._auth import InsecureApiKey
    from whatsapp_client.gateway._settings import GatewaySettings

    for bad in ({"admin_password": "short"}, {"admin_email": "not an email"}):
        settings = GatewaySettings(data_dir=str(tmp_path / "gw"), **bad)  # type: ignore[arg-type]
        with pytest.raises(InsecureApiKey):
            create_app(settings)

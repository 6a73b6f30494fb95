"""Logins: tokens, refresh rotation and reuse detection, logout, who am I; the same
answer for an unknown email, a wrong password and a disabled account; the first admin;
nothing secret in the logs or on disk."""

from __future__ import annotations

import logging
from pathlib import Path

import jwt
import pytest

from tests.gateway._accounts_support import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    USER_PASSWORD,
    accounts_gateway,
    close_browsers,
    login,
    make_user,
)
from tests.gateway._api_support import ON_BOTH_BACKENDS, query_store, running_gateway, stored_bytes

pytestmark = ON_BOTH_BACKENDS


async def test_login_gives_tokens_cookies_and_me(tmp_path: Path) -> None:
    async with accounts_gateway(tmp_path / "gw") as gw:
        answer, admin = await login(gw, ADMIN_EMAIL, ADMIN_PASSWORD)
        assert admin is not None
        body = answer.body
        assert body["token_type"] == "Bearer" and body["expires_in"] == 900
        assert body["user"]["email"] == ADMIN_EMAIL and body["user"]["role"] == "admin"
        assert body["user"]["must_change_password"] is False
        assert answer.headers["Cache-Control"] == "no-store"
        claims = jwt.decode(body["access_token"], options={"verify_signature": False})
        assert set(claims) >= {"sub", "role", "iat", "exp", "jti"}
        assert claims["sub"] == admin.id and claims["exp"] - claims["iat"] == 900
        assert jwt.get_unverified_header(body["access_token"])["alg"] == "HS256"
        cookies = {c.split("=", 1)[0]: c for c in answer.headers.getall("Set-Cookie")}
        assert "HttpOnly" in cookies["wag_session"] and "SameSite=Strict" in cookies["wag_session"]
        assert "HttpOnly" not in cookies["wag_csrf"] and "SameSite=Strict" in cookies["wag_csrf"]
        assert "Secure" not in cookies["wag_session"]  # plain http, cookie_secure unset
        assert (await admin.bearer("GET", "/api/v1/auth/me")).body["id"] == admin.id
        assert (await admin.cookie("GET", "/api/v1/auth/me")).body["id"] == admin.id
        # A forged token (another key) is refused.
        forged = jwt.encode({**claims, "role": "admin"}, b"k" * 32, algorithm="HS256")
        refused = await gw.call(
            "GET", "/api/v1/auth/me", key=None, headers={"Authorization": f"Bearer {forged}"}
        )
        assert (refused.status, refused.code) == (401, "unauthorized")
        await close_browsers(gw)


async def test_secure_cookies_when_configured(tmp_path: Path) -> None:
    async with accounts_gateway(tmp_path / "gw", cookie_secure=True) as gw:
        answer, _ = await login(gw, ADMIN_EMAIL, ADMIN_PASSWORD)
        for cookie in answer.headers.getall("Set-Cookie"):
            assert "Secure" in cookie
        await close_browsers(gw)


async def test_refresh_rotates_and_reuse_revokes_the_family(tmp_path: Path) -> None:
    async with accounts_gateway(tmp_path / "gw") as gw:
        _, admin = await login(gw, ADMIN_EMAIL, ADMIN_PASSWORD)
        assert admin is not None
        first = admin.refresh
        second = await gw.call(
            "POST", "/api/v1/auth/refresh", key=None, json_body={"refresh_token": first}
        )
        assert second.status == 200 and second.body["refresh_token"] != first
        assert second.body["user"]["id"] == admin.id
        new_access = second.body["access_token"]
        ok = await gw.call(
            "GET", "/api/v1/auth/me", key=None, headers={"Authorization": f"Bearer {new_access}"}
        )
        assert ok.status == 200
        # The old one again: refused, and the whole family (the new one too) is revoked.
        reused = await gw.call(
            "POST", "/api/v1/auth/refresh", key=None, json_body={"refresh_token": first}
        )
        assert (reused.status, reused.code) == (401, "unauthorized")
        after = await gw.call(
            "POST",
            "/api/v1/auth/refresh",
            key=None,
            json_body={"refresh_token": second.body["refresh_token"]},
        )
        assert after.status == 401
        for bad in ("wrt_nope", "x" * 100):
            answer = await gw.call(
                "POST", "/api/v1/auth/refresh", key=None, json_body={"refresh_token": bad}
            )
            assert answer.status == 401
        # Another login (another family) is unaffected.
        _, again = await login(gw, ADMIN_EMAIL, ADMIN_PASSWORD)
        assert again is not None
        fresh = await gw.call(
            "POST", "/api/v1/auth/refresh", key=None, json_body={"refresh_token": again.refresh}
        )
        assert fresh.status == 200
        await close_browsers(gw)


async def test_logout_ends_the_browser_session_and_the_refresh_token(tmp_path: Path) -> None:
    async with accounts_gateway(tmp_path / "gw") as gw:
        _, admin = await login(gw, ADMIN_EMAIL, ADMIN_PASSWORD)
        assert admin is not None
        out = await admin.cookie(
            "POST", "/api/v1/auth/logout", json_body={"refresh_token": admin.refresh}
        )
        assert out.status == 204
        cleared = out.headers.getall("Set-Cookie")
        assert any(c.startswith("wag_session=") and "Max-Age=0" in c for c in cleared)
        assert (await admin.cookie("GET", "/api/v1/auth/me")).status == 401
        refreshed = await gw.call(
            "POST", "/api/v1/auth/refresh", key=None, json_body={"refresh_token": admin.refresh}
        )
        assert refreshed.status == 401
        await close_browsers(gw)


async def test_wrong_unknown_and_disabled_get_the_same_answer_and_are_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="whatsapp_client.gateway")
    async with accounts_gateway(tmp_path / "gw") as gw:
        user = await make_user(gw, "u@example.test")
        disabled = await gw.call("PATCH", f"/api/v1/users/{user.id}", json_body={"disabled": True})
        assert disabled.status == 200
        answers = []
        for email, password in (
            (ADMIN_EMAIL, "wrong-password-123"),
            ("nobody@example.test", ADMIN_PASSWORD),
            ("u@example.test", USER_PASSWORD),
        ):
            answer, _ = await login(gw, email, password, expect=401)
            answers.append((answer.status, answer.body))
        assert answers[0] == answers[1] == answers[2]
        assert answers[0][1]["error"]["code"] == "invalid_credentials"
        # A disabled user's existing login stops working too.
        assert (await user.bearer("GET", "/api/v1/auth/me")).status == 401
        await close_browsers(gw)
    failed = [r for r in caplog.records if r.getMessage() == "login failed"]
    assert {getattr(r, "email", None) for r in failed} == {
        ADMIN_EMAIL,
        "nobody@example.test",
        "u@example.test",
    }
    assert all(getattr(r, "address", None) == "127.0.0.1" for r in failed)
    for secret in (ADMIN_PASSWORD, USER_PASSWORD, "wrong-password-123"):
        assert secret not in caplog.text


async def test_first_admin_password_is_shown_once_and_must_be_changed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="whatsapp_client.gateway")
    data = tmp_path / "gw"
    async with running_gateway(data) as gw:
        assert len(gw.announced_admin) == 1
        email, password = gw.announced_admin[0]
        assert email == "admin@localhost" and len(password) >= 16
        answer, admin = await login(gw, email, password)
        assert admin is not None and answer.body["user"]["must_change_password"] is True
        # The environment's key acts for this admin: sessions and keys are owned by it.
        listed = await gw.call("GET", "/api/v1/users")
        assert [u["email"] for u in listed.body["users"]] == [email]
        await gw.restart()
        assert len(gw.announced_admin) == 1  # not again
        await close_browsers(gw)
    assert password not in caplog.text
    content = await stored_bytes(data)
    assert b"admin@localhost" in content  # the records were read (the email is in clear)
    assert password.encode() not in content
    assert admin.access.encode() not in content and admin.refresh.encode() not in content


async def test_the_signing_key_is_sealed_and_survives_a_restart(tmp_path: Path) -> None:
    async with accounts_gateway(tmp_path / "gw") as gw:
        _, admin = await login(gw, ADMIN_EMAIL, ADMIN_PASSWORD)
        assert admin is not None
        await gw.restart()
        # Same key after the restart: the token still verifies.
        assert (await admin.bearer("GET", "/api/v1/auth/me")).status == 200
        await close_browsers(gw)
    rows = dict(await query_store(tmp_path / "gw", "SELECT key, value FROM meta"))
    hashes = [r[0] for r in await query_store(tmp_path / "gw", "SELECT password_hash FROM users")]
    sealed = bytes.fromhex(rows["secret:jwt_signing_key"])
    assert len(sealed) > 32  # nonce + ciphertext + tag, not the 32-byte key
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(admin.access, sealed[12:44], algorithms=["HS256"])
    assert all(h.startswith("$argon2id$") for h in hashes)


async def test_a_bearer_logout_ends_that_access_token(tmp_path: Path) -> None:
    async with accounts_gateway(tmp_path / "gw") as gw:
        _, admin = await login(gw, ADMIN_EMAIL, ADMIN_PASSWORD)
        _, other = await login(gw, ADMIN_EMAIL, ADMIN_PASSWORD)
        assert admin is not None and other is not None
        out = await admin.bearer(
            "POST", "/api/v1/auth/logout", json_body={"refresh_token": admin.refresh}
        )
        assert out.status == 204
        assert (await admin.bearer("GET", "/api/v1/auth/me")).status == 401
        assert (await other.bearer("GET", "/api/v1/auth/me")).status == 200  # another login
        await close_browsers(gw)

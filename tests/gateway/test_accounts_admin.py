"""Admins manage users (create, role, disable, reset the password, delete) and never
leave the gateway without an enabled admin; API keys belong to a user and never reach
further than it; sessions belong to their creator."""

from __future__ import annotations

from pathlib import Path

from tests.gateway._accounts_support import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    accounts_gateway,
    close_browsers,
    login,
    make_user,
)
from tests.gateway._api_support import ON_BOTH_BACKENDS, create_session
from whatsapp_client.server.testing import ServerHandle

pytestmark = ON_BOTH_BACKENDS


async def test_admin_creates_users_with_a_temporary_password(tmp_path: Path) -> None:
    async with accounts_gateway(tmp_path / "gw") as gw:
        created = await gw.call("POST", "/api/v1/users", json_body={"email": "New@Example.test"})
        assert created.status == 201 and created.headers["Cache-Control"] == "no-store"
        user, temporary = created.body["user"], created.body["temporary_password"]
        assert user["role"] == "user" and user["must_change_password"] is True
        assert created.headers["Location"] == f"/api/v1/users/{user['id']}"
        # The email is unique without regard to case.
        again = await gw.call("POST", "/api/v1/users", json_body={"email": "new@example.test"})
        assert (again.status, again.code) == (409, "conflict")
        for body in (
            {"email": "no-at-sign"},
            {"email": "a@b.c", "role": "root"},
            {"email": "a@b.c", "password": "short"},
            {"email": "a@b.c", "extra": 1},
        ):
            assert (await gw.call("POST", "/api/v1/users", json_body=body)).status == 400
        answer, first = await login(gw, "new@example.test", temporary)
        assert first is not None and answer.body["user"]["must_change_password"] is True
        listed = await gw.call("GET", "/api/v1/users")
        assert [u["email"] for u in listed.body["users"]] == [ADMIN_EMAIL, "New@Example.test"]
        assert "argon2" not in listed.raw.decode() and "password_hash" not in listed.raw.decode()
        await close_browsers(gw)


async def test_reset_password_and_disable_end_the_users_logins(tmp_path: Path) -> None:
    async with accounts_gateway(tmp_path / "gw") as gw:
        user = await make_user(gw, "u@example.test")
        reset = await gw.call("POST", f"/api/v1/users/{user.id}/reset-password")
        assert reset.status == 200
        temporary = reset.body["temporary_password"]
        assert (await user.bearer("GET", "/api/v1/auth/me")).status == 401
        assert (await user.cookie("GET", "/api/v1/auth/me")).status == 401
        answer, again = await login(gw, "u@example.test", temporary)
        assert again is not None and answer.body["user"]["must_change_password"] is True
        disabled = await gw.call("PATCH", f"/api/v1/users/{user.id}", json_body={"disabled": True})
        assert disabled.status == 200 and disabled.body["disabled"] is True
        assert (await again.cookie("GET", "/api/v1/auth/me")).status == 401
        await login(gw, "u@example.test", temporary, expect=401)
        enabled = await gw.call("PATCH", f"/api/v1/users/{user.id}", json_body={"disabled": False})
        assert enabled.status == 200
        await login(gw, "u@example.test", temporary)
        unknown = await gw.call("POST", "/api/v1/users/usr_nope/reset-password")
        assert unknown.status == 404
        await close_browsers(gw)


async def test_the_last_admin_cannot_be_deleted_demoted_or_disabled(tmp_path: Path) -> None:
    async with accounts_gateway(tmp_path / "gw") as gw:
        _, root = await login(gw, ADMIN_EMAIL, ADMIN_PASSWORD)
        assert root is not None
        for patch in ({"role": "user"}, {"disabled": True}):
            answer = await root.bearer("PATCH", f"/api/v1/users/{root.id}", json_body=patch)
            assert (answer.status, answer.code) == (409, "conflict"), patch
        own = await root.bearer("DELETE", f"/api/v1/users/{root.id}")
        assert (own.status, own.code) == (409, "conflict")
        second = await make_user(gw, "admin2@example.test", role="admin")
        # With two admins, one may demote the other; then the survivor is the last again.
        demoted = await second.bearer(
            "PATCH", f"/api/v1/users/{root.id}", json_body={"role": "user"}
        )
        assert demoted.status == 200 and demoted.body["role"] == "user"
        last = await second.bearer(
            "PATCH", f"/api/v1/users/{second.id}", json_body={"role": "user"}
        )
        assert last.status == 409
        # The demoted admin's login no longer opens admin routes.
        assert (await root.bearer("GET", "/api/v1/users")).status == 403
        gone = await second.bearer("DELETE", f"/api/v1/users/{root.id}")
        assert gone.status == 204
        assert (await root.bearer("GET", "/api/v1/auth/me")).status == 401
        users = await second.bearer("GET", "/api/v1/users")
        assert [u["email"] for u in users.body["users"]] == ["admin2@example.test"]
        assert (await second.bearer("DELETE", f"/api/v1/users/{root.id}")).status == 404
        await close_browsers(gw)


async def test_keys_inherit_their_users_reach(tmp_path: Path, chat_server: ServerHandle) -> None:
    async with accounts_gateway(tmp_path / "gw") as gw:
        alice = await make_user(gw, "alice@example.test")
        bob = await make_user(gw, "bob@example.test")
        # Sessions belong to their creator: alice creates one through her login.
        created = await alice.bearer(
            "POST",
            "/api/v1/sessions",
            json_body={
                "name": "alice-1",
                "engine": "wac1",
                "server_url": chat_server.url,
                "username": "alice1",
                "password": "correct horse battery",
                "register": True,
            },
        )
        assert created.status == 201 and created.body["owner_id"] == alice.id
        sid = created.body["id"]
        admins = (await create_session(gw, chat_server.url))["id"]
        # A user may not mint an admin-scope key; a write key works on her sessions only.
        refused = await alice.bearer(
            "POST", "/api/v1/keys", json_body={"name": "k", "scope": "admin"}
        )
        assert refused.status == 403
        made = await alice.bearer("POST", "/api/v1/keys", json_body={"name": "k", "scope": "write"})
        assert made.status == 201 and made.body["user_id"] == alice.id
        key = made.body["key"]
        listed = await gw.call("GET", "/api/v1/sessions", key=key)
        assert [s["id"] for s in listed.body["sessions"]] == [sid]
        assert (await gw.call("GET", f"/api/v1/sessions/{sid}", key=key)).status == 200
        assert (await gw.call("GET", f"/api/v1/sessions/{admins}", key=key)).status == 404
        # A key cannot name a session it does not see.
        foreign = await alice.bearer(
            "POST",
            "/api/v1/keys",
            json_body={"name": "k", "scope": "read", "session_ids": [admins]},
        )
        assert foreign.status == 400
        # Bob sees neither alice's session nor her key; the admin sees all.
        assert (await bob.bearer("GET", f"/api/v1/sessions/{sid}")).status == 404
        assert (await bob.bearer("GET", f"/api/v1/keys/{made.body['id']}")).status == 404
        assert (await bob.bearer("DELETE", f"/api/v1/keys/{made.body['id']}")).status == 404
        assert (await bob.bearer("GET", "/api/v1/keys")).body["keys"] == []
        everything = await gw.call("GET", "/api/v1/sessions")
        assert {s["id"]: s["owner_id"] for s in everything.body["sessions"]}[sid] == alice.id
        admin_keys = await gw.call("GET", "/api/v1/keys")
        assert made.body["id"] in [k["id"] for k in admin_keys.body["keys"]]
        # Her key stops when she is disabled, and goes with her account.
        await gw.call("PATCH", f"/api/v1/users/{alice.id}", json_body={"disabled": True})
        assert (await gw.call("GET", "/api/v1/sessions", key=key)).status == 401
        assert (await gw.call("DELETE", f"/api/v1/users/{alice.id}")).status == 204
        keys_after = await gw.call("GET", "/api/v1/keys")
        assert made.body["id"] not in [k["id"] for k in keys_after.body["keys"]]
        # Her sessions pass to the admin who deleted her (the environment key's admin).
        after = await gw.call("GET", f"/api/v1/sessions/{sid}")
        assert after.status == 200 and after.body["owner_id"] != alice.id
        await close_browsers(gw)

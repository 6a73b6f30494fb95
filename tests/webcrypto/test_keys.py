"""The browser's keys against the real reference server (on an ephemeral port) and the core:
the ``PUT /api/keys`` body it builds is accepted (the server checks the signature), the
bundle the server hands out starts a session from Python, and signed prekey rotation keeps
late first messages working until the old key is dropped."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from playwright.sync_api import Page

from tests.support import SERVER_SETTINGS
from tests.webcrypto._bridge import b, call, error_code, ok
from whatsapp_client import _core
from whatsapp_client.server.testing import ServerHandle, server_in_thread


@pytest.fixture(scope="module")
def server() -> Iterator[ServerHandle]:
    with server_in_thread(**SERVER_SETTINGS) as handle:
        yield handle


def register(server: ServerHandle, username: str) -> tuple[str, dict[str, str]]:
    reply = requests.post(
        f"{server.url}/api/auth/register",
        json={"username": username, "password": "a good password 1"},
        timeout=10,
    )
    assert reply.status_code == 201, reply.text
    body: dict[str, Any] = reply.json()
    return str(body["user"]["id"]), {"Authorization": f"Bearer {body['token']}"}


def test_uploaded_keys_start_a_session_from_python(page: Page, server: ServerHandle) -> None:
    call(page, "addParty", "web", None)
    user_id, auth = register(server, "browser_keys")
    payload = call(page, "keysPayload", "web")
    assert len(payload["one_time_prekeys"]) == 5
    put = requests.put(f"{server.url}/api/keys", json=payload, headers=auth, timeout=10)
    assert put.status_code == 204, put.text

    _, other = register(server, "python_peer")
    bundle = requests.get(f"{server.url}/api/users/{user_id}/prekeys", headers=other, timeout=10)
    assert bundle.status_code == 200, bundle.text
    handed_out = bundle.json()["one_time_prekey"]["key_id"]
    py = _core.Account()
    py.rotate_signed_prekey()
    session = py.start_session(_core.PreKeyBundle.from_dict(bundle.json()))
    got = ok(call(page, "decrypt", "web", "py", session.encrypt(b"via the server")), "first")
    assert b(got["plaintext"]) == b"via the server"
    assert got["usedOneTimePrekey"] == handed_out
    assert handed_out not in call(page, "oneTimePrekeyIds", "web")


def test_a_tampered_upload_is_refused_by_the_server(page: Page, server: ServerHandle) -> None:
    call(page, "addParty", "web", None)
    _, auth = register(server, "browser_forged")
    payload = call(page, "keysPayload", "web")
    payload["signed_prekey"]["key_id"] += 1  # the signature covers the id
    put = requests.put(f"{server.url}/api/keys", json=payload, headers=auth, timeout=10)
    assert put.status_code == 400
    assert put.json()["error"]["code"] == "invalid_signature"


def test_rotation_keeps_late_first_messages_until_dropped(page: Page, server: ServerHandle) -> None:
    web = call(page, "addParty", "web", None)
    _, auth = register(server, "browser_rotates")
    put = requests.put(
        f"{server.url}/api/keys", json=call(page, "keysPayload", "web"), headers=auth, timeout=10
    )
    assert put.status_code == 204, put.text
    old_bundle = {**web["bundle"], "one_time_prekey": None}

    fresh = call(page, "rotate", "web")
    assert fresh["key_id"] == old_bundle["signed_prekey"]["key_id"] + 1
    assert _core.verify_signed_prekey(
        b(web["bundle"]["signing_key"]),
        fresh["key_id"],
        b(fresh["public_key"]),
        b(fresh["signature"]),
    )
    put = requests.put(f"{server.url}/api/keys/signed-prekey", json=fresh, headers=auth, timeout=10)
    assert put.status_code == 204, put.text

    # A first message built on the previous signed prekey still decrypts after rotation.
    late = _core.Account()
    late.rotate_signed_prekey()
    wire = late.start_session(_core.PreKeyBundle.from_dict(old_bundle)).encrypt(b"late")
    assert b(ok(call(page, "decrypt", "web", "late", wire), "late")["plaintext"]) == b"late"

    # Once the previous key is dropped, a first message naming it is refused.
    kept = call(page, "dropSignedPrekeysBefore", "web", int(time.time()) + 3600)
    assert kept == [fresh["key_id"]]
    later = _core.Account()
    later.rotate_signed_prekey()
    wire = later.start_session(_core.PreKeyBundle.from_dict(old_bundle)).encrypt(b"too late")
    assert error_code(call(page, "decrypt", "web", "later", wire), "too late") == "unknown_prekey"

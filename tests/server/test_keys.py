"""Keys (§6.2), bundles (§6.3) and verification records (§6.4)."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from tests.server.helpers import (
    Account,
    Keys,
    b64,
    call,
    error_code,
    register,
    serving,
    x25519_public,
)
from whatsapp_client.server.testing import ServerHandle

# Every server here runs on SQLite and on PostgreSQL.
pytestmark = pytest.mark.usefixtures("serving_backend")


async def _upload(
    http: aiohttp.ClientSession, server: ServerHandle, who: Account, keys: Keys
) -> int:
    status, _ = await call(http, "PUT", f"{server.url}/api/keys", who, keys.upload())
    return status


async def test_upload_status_and_bundle(
    server: ServerHandle, http: aiohttp.ClientSession, alice: Account, bob: Account
) -> None:
    keys = Keys(range(10, 13), spk_id=7)
    assert await _upload(http, server, alice, keys) == 204
    status, body = await call(http, "GET", f"{server.url}/api/keys/status", alice)
    assert body == {"available": 3, "signed_prekey_id": 7}

    status, bundle = await call(http, "GET", f"{server.url}/api/users/{alice.id}/prekeys", bob)
    assert status == 200
    assert bundle == {
        "user_id": alice.id,
        "identity_key": b64(keys.identity_key),
        "signing_key": b64(keys.signing_key),
        "signed_prekey": keys.spk,
        "one_time_prekey": keys.opks[0],
    }
    status, body = await call(http, "GET", f"{server.url}/api/keys/status", alice)
    assert body["available"] == 2


async def test_bundle_without_one_time_prekeys_has_null(
    server: ServerHandle, http: aiohttp.ClientSession, alice: Account, bob: Account
) -> None:
    assert await _upload(http, server, alice, Keys(range(0))) == 204
    status, bundle = await call(http, "GET", f"{server.url}/api/users/{alice.id}/prekeys", bob)
    assert status == 200
    assert bundle["one_time_prekey"] is None


async def test_bundle_errors(
    server: ServerHandle, http: aiohttp.ClientSession, alice: Account, bob: Account
) -> None:
    status, body = await call(http, "GET", f"{server.url}/api/users/{alice.id}/prekeys", bob)
    assert (status, error_code(body)) == (404, "no_keys")
    status, body = await call(http, "GET", f"{server.url}/api/users/nobody/prekeys", bob)
    assert (status, error_code(body)) == (404, "user_not_found")


async def test_concurrent_fetches_never_share_a_one_time_prekey() -> None:
    count = 40
    async with serving(prekeys_per_requester_and_target=100) as (server, http):
        alice = await register(http, server.url)
        fetchers = [await register(http, server.url) for _ in range(4)]
        assert await _upload(http, server, alice, Keys(range(1, count + 1))) == 204
        url = f"{server.url}/api/users/{alice.id}/prekeys"
        results = await asyncio.gather(
            *(call(http, "GET", url, fetchers[i % 4]) for i in range(count + 10))
        )
    assert all(status == 200 for status, _ in results)
    handed = [body["one_time_prekey"] for _, body in results if body["one_time_prekey"]]
    ids = [key["key_id"] for key in handed]
    assert len(ids) == count
    assert sorted(ids) == list(range(1, count + 1))
    assert sum(1 for _, body in results if body["one_time_prekey"] is None) == 10


async def test_two_concurrent_fetches_of_the_last_key(
    server: ServerHandle, http: aiohttp.ClientSession, alice: Account, bob: Account
) -> None:
    assert await _upload(http, server, alice, Keys(range(5, 6))) == 204
    url = f"{server.url}/api/users/{alice.id}/prekeys"
    (s1, b1), (s2, b2) = await asyncio.gather(
        call(http, "GET", url, bob), call(http, "GET", url, alice)
    )
    assert (s1, s2) == (200, 200)
    assert sorted([b1["one_time_prekey"] is None, b2["one_time_prekey"] is None]) == [False, True]


async def test_bad_signature_and_bad_keys_are_refused(
    server: ServerHandle, http: aiohttp.ClientSession, alice: Account
) -> None:
    keys = Keys()
    upload = keys.upload()
    upload["signed_prekey"] = Keys().spk  # signed by somebody else
    status, body = await call(http, "PUT", f"{server.url}/api/keys", alice, upload)
    assert (status, error_code(body)) == (400, "invalid_signature")

    upload = keys.upload()
    upload["signed_prekey"] = dict(keys.spk, key_id=keys.spk["key_id"] + 1)
    status, body = await call(http, "PUT", f"{server.url}/api/keys", alice, upload)
    assert (status, error_code(body)) == (400, "invalid_signature")

    for field, value in (
        ("identity_key", b64(b"short")),
        ("identity_key", "not base64!!"),
        ("signing_key", b64(bytes(33))),
    ):
        status, body = await call(
            http, "PUT", f"{server.url}/api/keys", alice, dict(keys.upload(), **{field: value})
        )
        assert (status, error_code(body)) == (400, "invalid_key"), field
    status, body = await call(
        http,
        "PUT",
        f"{server.url}/api/keys",
        alice,
        dict(keys.upload(), signed_prekey={"key_id": -1}),
    )
    assert (status, error_code(body)) == (400, "invalid_request")
    status, body = await call(http, "GET", f"{server.url}/api/keys/status", alice)
    assert body == {"available": 0, "signed_prekey_id": None}


async def test_put_keys_replaces_everything(
    server: ServerHandle, http: aiohttp.ClientSession, alice: Account, bob: Account
) -> None:
    assert await _upload(http, server, alice, Keys(range(1, 4))) == 204
    second = Keys(range(100, 102), spk_id=9)
    assert await _upload(http, server, alice, second) == 204
    _status, body = await call(http, "GET", f"{server.url}/api/keys/status", alice)
    assert body == {"available": 2, "signed_prekey_id": 9}
    _status, bundle = await call(http, "GET", f"{server.url}/api/users/{alice.id}/prekeys", bob)
    assert bundle["identity_key"] == b64(second.identity_key)
    assert bundle["one_time_prekey"]["key_id"] == 100


async def test_add_one_time_prekeys_and_duplicates(
    server: ServerHandle, http: aiohttp.ClientSession, alice: Account
) -> None:
    assert await _upload(http, server, alice, Keys(range(1, 3))) == 204
    url = f"{server.url}/api/keys/one-time-prekeys"
    more = [{"key_id": i, "public_key": b64(x25519_public())} for i in (3, 4)]
    status, _ = await call(http, "POST", url, alice, {"one_time_prekeys": more})
    assert status == 204
    status, body = await call(http, "POST", url, alice, {"one_time_prekeys": more[:1]})
    assert (status, error_code(body)) == (409, "duplicate_prekey")
    twice = [more[0] | {"key_id": 50}, more[1] | {"key_id": 50}]
    status, body = await call(http, "POST", url, alice, {"one_time_prekeys": twice})
    assert (status, error_code(body)) == (409, "duplicate_prekey")
    too_many = [{"key_id": 1000 + i, "public_key": b64(x25519_public())} for i in range(1001)]
    status, body = await call(http, "POST", url, alice, {"one_time_prekeys": too_many})
    assert (status, error_code(body)) == (400, "invalid_request")
    status, body = await call(http, "GET", f"{server.url}/api/keys/status", alice)
    assert body["available"] == 4


async def test_rotate_signed_prekey(
    server: ServerHandle, http: aiohttp.ClientSession, alice: Account, bob: Account
) -> None:
    keys = Keys()
    url = f"{server.url}/api/keys/signed-prekey"
    status, body = await call(http, "PUT", url, alice, keys.signed_prekey(2))
    assert (status, error_code(body)) == (404, "no_keys")
    assert await _upload(http, server, alice, keys) == 204
    new_spk = keys.signed_prekey(2)
    status, _ = await call(http, "PUT", url, alice, new_spk)
    assert status == 204
    status, body = await call(http, "PUT", url, alice, Keys().signed_prekey(3))
    assert (status, error_code(body)) == (400, "invalid_signature")
    status, bundle = await call(http, "GET", f"{server.url}/api/users/{alice.id}/prekeys", bob)
    assert bundle["signed_prekey"] == new_spk


async def test_delete_own_prekey(
    server: ServerHandle, http: aiohttp.ClientSession, alice: Account
) -> None:
    assert await _upload(http, server, alice, Keys(range(1, 3))) == 204
    status, _ = await call(http, "DELETE", f"{server.url}/api/users/prekeys/1", alice)
    assert status == 204
    for key in ("1", "99", "abc", "-1", "99999999999"):
        status, body = await call(http, "DELETE", f"{server.url}/api/users/prekeys/{key}", alice)
        assert status == 404, key
        error_code(body)
    status, body = await call(http, "GET", f"{server.url}/api/keys/status", alice)
    assert body["available"] == 1


async def test_verification_records(
    server: ServerHandle, http: aiohttp.ClientSession, alice: Account, bob: Account
) -> None:
    url = f"{server.url}/api/verify-key"
    status, body = await call(http, "GET", f"{url}/{bob.id}", alice)
    assert status == 404
    fp = "0f" * 32
    status, body = await call(
        http, "POST", url, alice, {"peer_id": bob.id, "fingerprint": fp, "verified": True}
    )
    assert status == 200
    assert body["peer_id"] == bob.id
    assert body["verified"] is True
    assert isinstance(body["verified_at"], int)
    status, stored = await call(http, "GET", f"{url}/{bob.id}", alice)
    assert stored == body
    status, body = await call(
        http, "POST", url, alice, {"peer_id": bob.id, "fingerprint": fp, "verified": False}
    )
    assert body == {"peer_id": bob.id, "fingerprint": fp, "verified": False, "verified_at": None}
    status, body = await call(
        http, "POST", url, alice, {"peer_id": "nobody", "fingerprint": fp, "verified": True}
    )
    assert (status, error_code(body)) == (404, "user_not_found")
    # Records are per account: bob sees none about himself.
    status, _ = await call(http, "GET", f"{url}/{bob.id}", bob)
    assert status == 404

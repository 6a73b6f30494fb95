from __future__ import annotations

import aiohttp

from tests.client.conftest import (
    PASSWORD,
    ClientFactory,
    Registered,
    eventually,
    eventually_async,
    unique_name,
)


async def _consume_bundles(url: str, token: str, user_id: str, n: int) -> None:
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
        for _ in range(n):
            async with http.get(f"{url}/api/users/{user_id}/prekeys") as resp:
                assert resp.status == 200


async def test_one_time_prekeys_are_refilled_below_the_threshold(registered: Registered) -> None:
    bob = await registered("bob", prekey_check_interval=0.05)
    eve = await registered("eve")
    assert bob.user_id
    assert eve._http.token
    await _consume_bundles(bob.config.server_url, eve._http.token, bob.user_id, 85)

    async def refilled() -> bool:
        return (await bob.get_prekey_status()).available >= 100

    await eventually_async(refilled, what="refill")
    status = await bob.get_prekey_status()
    assert status.available == 115


async def test_refill_not_done_above_threshold(registered: Registered) -> None:
    bob = await registered("bob")
    eve = await registered("eve")
    assert bob.user_id
    assert eve._http.token
    await _consume_bundles(bob.config.server_url, eve._http.token, bob.user_id, 80)
    await bob.refresh_prekeys()
    assert (await bob.get_prekey_status()).available == 20


async def test_signed_prekey_rotation(registered: Registered) -> None:
    import time

    alice = await registered("alice")
    bob = await registered("bob")
    assert alice.user_id
    first = (await alice.get_prekey_status()).signed_prekey_id
    await alice.refresh_prekeys()  # young: not rotated
    assert (await alice.get_prekey_status()).signed_prekey_id == first
    # Bob fetched the bundle with the old signed prekey before the rotation...
    await bob.request_key_refresh(alice.user_id)
    assert alice._prekeys is not None
    await alice._prekeys.maintain(now=int(time.time()) + 8 * 86400)
    got: list[str] = []
    alice.on_message(lambda m: got.append(m.content))
    # ...and its late first message still decrypts: the previous key is kept 14 days.
    await bob.send_message(alice.user_id, "late first message")
    await eventually(lambda: got == ["late first message"])
    second = (await alice.get_prekey_status()).signed_prekey_id
    assert first is not None
    assert second is not None
    assert second != first


async def test_keys_reuploaded_when_server_lost_them(
    make_client: ClientFactory, server: object
) -> None:
    from whatsapp_client.server.testing import ServerHandle

    assert isinstance(server, ServerHandle)
    name = unique_name("dave")
    c = make_client()
    await c.register(name, PASSWORD)
    fp = c.get_fingerprint()
    assert c._http.token
    # Another device of the same account replaces the keys on the server.
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {c._http.token}"}) as http:
        from whatsapp_client._core import Account

        other = Account()
        other.rotate_signed_prekey()
        other.generate_one_time_prekeys(3)
        async with http.put(server.url + "/api/keys", json=other.keys_payload()) as resp:
            assert resp.status == 204
    await c.logout()
    await c.login(name, PASSWORD)
    assert c.get_fingerprint() == fp
    status = await c.get_prekey_status()
    assert status.available >= 100

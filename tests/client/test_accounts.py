from __future__ import annotations

import asyncio
import logging
import re
import signal
from pathlib import Path

import aiohttp
import pytest

from tests.client.conftest import PASSWORD, ClientFactory, Registered, eventually, unique_name
from whatsapp_client.client import ConnectionState, User, WhatsAppClient
from whatsapp_client.errors import (
    AuthenticationError,
    StorageAuthError,
    UsernameTakenError,
    ValidationError,
    WhatsAppError,
)
from whatsapp_client.server.testing import ServerHandle


async def test_register_login_logout_and_keys(
    make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    name = unique_name("alice")
    caplog.set_level(logging.DEBUG, logger="whatsapp_client")
    async with make_client() as client:
        user = await client.register(name, PASSWORD)
        assert isinstance(user, User)
        assert user.username == name
        assert client.user == user
        assert client.user_id == user.id
        assert client.is_connected()
        assert client.connection_state is ConnectionState.CONNECTED
        fp = client.get_fingerprint()
        assert re.fullmatch(r"[0-9a-f]{64}", fp)
        status = await client.get_prekey_status()
        assert status.available == 100
        assert status.signed_prekey_id is not None
        token = client._http.token
        assert token
        await client.logout()
        assert client.user is None
        assert not client.is_connected()
        # The token was revoked on the server.
        async with (
            aiohttp.ClientSession() as http,
            http.get(
                client.config.server_url + "/api/users/me",
                headers={"Authorization": f"Bearer {token}"},
            ) as resp,
        ):
            assert resp.status == 401
        # A later login unlocks the same store: same identity, no new upload of 100 keys.
        again = await client.login(name, PASSWORD)
        assert again == user
        assert client.get_fingerprint() == fp
        assert (await client.get_prekey_status()).signed_prekey_id == status.signed_prekey_id
    assert client.user is None
    for record in caplog.records:
        assert PASSWORD not in record.getMessage()
        assert token not in record.getMessage()


async def test_bad_credentials_and_taken_usernames(
    make_client: ClientFactory, registered: Registered
) -> None:
    alice = await registered("alice")
    assert alice.user is not None
    other = make_client(storage="other")
    with pytest.raises(UsernameTakenError) as taken:
        await other.register(alice.user.username, PASSWORD)
    assert "pick another" in str(taken.value)
    with pytest.raises(AuthenticationError) as bad:
        await other.login(alice.user.username, "wrong password!")
    assert "check the username and password" in str(bad.value)
    with pytest.raises(AuthenticationError):
        await other.login("nobody_" + alice.user.username, PASSWORD)
    with pytest.raises(ValidationError, match="3-32"):
        await other.register("A!", PASSWORD)
    with pytest.raises(ValidationError, match="8 characters"):
        await other.register(unique_name("x"), "short")
    with pytest.raises(ValidationError):
        await other.login("", "")
    assert other.user is None
    assert not other.is_connected()
    with pytest.raises(ValidationError, match="already logged in"):
        await alice.login(alice.user.username, PASSWORD)
    with pytest.raises(ValidationError, match="already logged in"):
        await alice.register(unique_name("y"), PASSWORD)


async def test_store_password_mismatch_is_a_storage_error(make_client: ClientFactory) -> None:
    # The store is unlocked with the account password; a store created under another
    # password for the same account directory is refused, not overwritten.
    name = unique_name("carol")
    c1 = make_client()
    user = await c1.register(name, PASSWORD)
    await c1.close()
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            c1.config.server_url + "/api/auth/login", json={"username": name, "password": PASSWORD}
        ) as resp,
    ):
        assert resp.status == 200
    from whatsapp_client.client import store as store_mod

    cfg = c1.config
    with pytest.raises(StorageAuthError):
        store_mod.open_store(cfg, user.id, "another password")


async def test_closed_client_refuses_calls(make_client: ClientFactory) -> None:
    client = make_client()
    await client.close()
    await client.close()
    with pytest.raises(WhatsAppError, match="closed"):
        await client.login("someone", PASSWORD)


async def test_run_until_stop_and_several_clients(registered: Registered) -> None:
    a = await registered("runa")
    b = await registered("runb")
    runs = [asyncio.ensure_future(a.run()), asyncio.ensure_future(b.run())]
    await eventually(lambda: a._stop_event is not None and b._stop_event is not None)
    a.stop()
    b.stop()
    await asyncio.gather(*runs)
    assert a.user is None
    assert b.user is None
    assert len(a._tasks) == 0
    assert len(b._tasks) == 0


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_run_stops_on_signals(
    make_client: ClientFactory, server: ServerHandle, tmp_path: Path, signum: int
) -> None:
    from tests.client.test_crash import spawn_child

    name = unique_name("sig")
    setup = make_client(storage="sig")
    await setup.register(name, PASSWORD)
    await setup.close()
    proc = await spawn_child("run", server.url, str(tmp_path / "sig"), name, PASSWORD, "-")
    assert proc.stdout is not None
    assert await asyncio.wait_for(proc.stdout.readline(), 30) == b"READY\n"
    proc.send_signal(signum)
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    assert out == b"STOPPED True\n"
    assert proc.returncode == 0


async def test_client_used_as_async_context_manager(make_client: ClientFactory) -> None:
    client: WhatsAppClient
    async with make_client() as client:
        await client.register(unique_name("ctx"), PASSWORD)
        assert client.is_connected()
    assert not client.is_connected()
    assert client._closed

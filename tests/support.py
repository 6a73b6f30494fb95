"""What the client, feature and example tests share: the real reference server with light
settings, client options with small KDF costs and short reconnect delays, and polling helpers."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import os
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Callable

from whatsapp_client.client import WhatsAppClient
from whatsapp_client.server.settings import Settings
from whatsapp_client.server.testing import ServerHandle, running_server

SERVER_SETTINGS: dict[str, Any] = {
    "bcrypt_cost": 4,
    "messages_per_second": 100000.0,
    "message_burst": 100000,
    "login_attempts_per_username": 1000,
    "login_attempts_per_address": 10000,
    "registrations_per_address": 100000,
    "sqlite_synchronous": "normal",
}
# Limits on prekey bundle fetches, where the server has them: the key tests drain a peer's
# one-time prekeys as one requester. (Set only when the server knows the setting.)
_BUNDLE_LIMITS: dict[str, Any] = {
    "bundle_fetches_per_requester": 100000,
    "prekeys_per_target": 100000,
    "prekeys_per_requester_and_target": 100000,
}
SERVER_SETTINGS.update(
    {k: v for k, v in _BUNDLE_LIMITS.items() if k in {f.name for f in dataclasses.fields(Settings)}}
)

CLIENT_OPTIONS: dict[str, Any] = {
    "kdf_memory_kib": 64,
    "kdf_iterations": 1,
    "durability": "fast",
    "reconnect_delays": (0.05, 0.1, 0.2),
    "reconnect_jitter": 0.1,
    "http_retry_backoff": 0.05,
    "send_timeout": 5.0,
    "connect_timeout": 5.0,
}

PASSWORD = "correct horse battery"
_names = itertools.count()

ClientFactory = Callable[..., WhatsAppClient]
Registered = Callable[..., Awaitable[WhatsAppClient]]


def unique_name(prefix: str = "user") -> str:
    return f"{prefix}{os.getpid() % 1000}_{next(_names)}"


async def eventually(
    cond: Callable[[], bool], timeout: float = 10.0, what: str = "condition"
) -> None:
    """Polls ``cond`` until it holds (fails the test after ``timeout``)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


async def eventually_async(
    cond: Callable[[], Awaitable[bool]], timeout: float = 10.0, what: str = "condition"
) -> None:
    """Like :func:`eventually` for an async condition."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not await cond():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


@asynccontextmanager
async def reference_server(tmp_path: Path) -> AsyncIterator[ServerHandle]:
    """The reference server on an ephemeral port, in asyncio debug mode."""
    asyncio.get_running_loop().set_debug(True)
    async with running_server(data_dir=str(tmp_path / "server"), **SERVER_SETTINGS) as srv:
        yield srv


@asynccontextmanager
async def client_factory(
    server: ServerHandle, tmp_path: Path, defaults: dict[str, Any]
) -> AsyncIterator[ClientFactory]:
    """Makes clients of ``server`` (storage under ``tmp_path``) and closes them afterwards."""
    clients: list[WhatsAppClient] = []

    def make(storage: str = "store", **options: Any) -> WhatsAppClient:
        opts = {"server_url": server.url, **defaults, **options}
        client = WhatsAppClient(storage_path=str(tmp_path / storage), **opts)
        clients.append(client)
        return client

    try:
        yield make
    finally:
        for client in clients:
            await client.close()


def registering(make_client: ClientFactory) -> Registered:
    """A factory of registered, logged-in, connected clients."""

    async def make(prefix: str = "user", **options: Any) -> WhatsAppClient:
        client = make_client(**options)
        await client.register(unique_name(prefix), PASSWORD)
        return client

    return make

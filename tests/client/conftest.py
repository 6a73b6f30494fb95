"""Fixtures of the client tests: a real reference server on an ephemeral port and clients
with small KDF costs and short reconnect delays."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any, Callable

import pytest

from whatsapp_client.client import WhatsAppClient
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
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not await cond():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ServerHandle]:
    asyncio.get_running_loop().set_debug(True)
    async with running_server(data_dir=str(tmp_path / "server"), **SERVER_SETTINGS) as srv:
        yield srv


ClientFactory = Callable[..., WhatsAppClient]


@pytest.fixture
async def make_client(server: ServerHandle, tmp_path: Path) -> AsyncIterator[ClientFactory]:
    clients: list[WhatsAppClient] = []

    def make(storage: str = "store", **options: Any) -> WhatsAppClient:
        opts = {"server_url": server.url, **CLIENT_OPTIONS, **options}
        c = WhatsAppClient(storage_path=str(tmp_path / storage), **opts)
        clients.append(c)
        return c

    yield make
    for c in clients:
        await c.close()


Registered = Callable[..., Awaitable[WhatsAppClient]]


@pytest.fixture
def registered(make_client: ClientFactory) -> Registered:
    """A factory of registered, logged-in, connected clients."""

    async def make(prefix: str = "user", **options: Any) -> WhatsAppClient:
        c = make_client(**options)
        await c.register(unique_name(prefix), PASSWORD)
        return c

    return make

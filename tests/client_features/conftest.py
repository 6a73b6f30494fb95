"""Fixtures of the feature tests: the real reference server on an ephemeral port and
registered clients with small KDF costs and short reconnect delays."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any, Callable

import pytest

from whatsapp_client import WhatsAppClient
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
    "prekey_count": 10,
    "prekey_refill_threshold": 2,
    "reconnect_delays": (0.05, 0.1, 0.2),
    "reconnect_jitter": 0.1,
    "http_retry_backoff": 0.05,
    "send_timeout": 5.0,
    "connect_timeout": 5.0,
}

PASSWORD = "correct horse battery"
_names = itertools.count()

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


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ServerHandle]:
    asyncio.get_running_loop().set_debug(True)
    async with running_server(data_dir=str(tmp_path / "server"), **SERVER_SETTINGS) as srv:
        yield srv


@pytest.fixture
async def registered(server: ServerHandle, tmp_path: Path) -> AsyncIterator[Registered]:
    """A factory of registered, logged-in, connected clients (closed after the test)."""
    clients: list[WhatsAppClient] = []

    async def make(prefix: str = "user", **options: Any) -> WhatsAppClient:
        opts = {"server_url": server.url, **CLIENT_OPTIONS, **options}
        client = WhatsAppClient(storage_path=str(tmp_path / "stores"), **opts)
        clients.append(client)
        await client.register(unique_name(prefix), PASSWORD)
        return client

    yield make
    for client in clients:
        await client.close()

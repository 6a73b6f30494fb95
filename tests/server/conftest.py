"""Fixtures: the real server on an ephemeral port and an HTTP session to talk to it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.redis_support import key_prefix, redis_server
from tests.server.helpers import Account, register
from whatsapp_client.server.testing import ServerHandle, running_server

__all__ = ["key_prefix", "redis_server"]


@pytest.fixture
async def server() -> AsyncIterator[ServerHandle]:
    async with running_server() as handle:
        yield handle


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def alice(server: ServerHandle, http: aiohttp.ClientSession) -> Account:
    return await register(http, server.url, "")


@pytest.fixture
async def bob(server: ServerHandle, http: aiohttp.ClientSession) -> Account:
    return await register(http, server.url, "")

"""Fixtures: the real server on an ephemeral port and an HTTP session to talk to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.redis_support import key_prefix, redis_server
from tests.server.helpers import Account, register
from whatsapp_client.server.testing import ServerHandle, running_server

__all__ = ["key_prefix", "redis_server"]


@pytest.fixture
def fanout_kind() -> str:
    """The fan-out of the ``server`` fixture; modules with ``FANOUTS`` run on each."""
    return "local"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    kinds = getattr(metafunc.module, "FANOUTS", None)
    if kinds and "fanout_kind" in metafunc.fixturenames:
        metafunc.parametrize("fanout_kind", kinds)


@pytest.fixture
async def server(request: pytest.FixtureRequest, fanout_kind: str) -> AsyncIterator[ServerHandle]:
    extra: dict[str, Any] = {}
    if fanout_kind == "redis":
        # The Redis fan-out with one process: the same behaviour through Redis.
        extra["redis"] = request.getfixturevalue("redis_server")
    async with running_server(**extra) as handle:
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

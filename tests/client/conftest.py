"""Fixtures of the client tests: a real reference server on an ephemeral port and clients
with small KDF costs and short reconnect delays (shared pieces in ``tests/support.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support import (
    CLIENT_OPTIONS,
    PASSWORD,
    SERVER_SETTINGS,
    ClientFactory,
    Registered,
    client_factory,
    eventually,
    eventually_async,
    reference_server,
    registering,
    unique_name,
)
from whatsapp_client.server.testing import ServerHandle

__all__ = [
    "CLIENT_OPTIONS",
    "PASSWORD",
    "SERVER_SETTINGS",
    "ClientFactory",
    "Registered",
    "eventually",
    "eventually_async",
    "unique_name",
]


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ServerHandle]:
    async with reference_server(tmp_path) as srv:
        yield srv


@pytest.fixture
async def make_client(server: ServerHandle, tmp_path: Path) -> AsyncIterator[ClientFactory]:
    async with client_factory(server, tmp_path, CLIENT_OPTIONS) as make:
        yield make


@pytest.fixture
def registered(make_client: ClientFactory) -> Registered:
    """A factory of registered, logged-in, connected clients."""
    return registering(make_client)

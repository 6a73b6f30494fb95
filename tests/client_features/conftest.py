"""Fixtures of the feature tests: the real reference server on an ephemeral port and
registered clients with small KDF costs, few prekeys and short reconnect delays (shared
pieces in ``tests/support.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import CLIENT_OPTIONS as BASE_CLIENT_OPTIONS
from tests.support import (
    PASSWORD,
    SERVER_SETTINGS,
    Registered,
    client_factory,
    eventually,
    reference_server,
    registering,
    unique_name,
)
from whatsapp_client.server.testing import ServerHandle

__all__ = [
    "CLIENT_OPTIONS",
    "PASSWORD",
    "SERVER_SETTINGS",
    "Registered",
    "eventually",
    "unique_name",
]

CLIENT_OPTIONS: dict[str, Any] = {
    **BASE_CLIENT_OPTIONS,
    "prekey_count": 10,
    "prekey_refill_threshold": 2,
}


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ServerHandle]:
    async with reference_server(tmp_path) as srv:
        yield srv


@pytest.fixture
async def registered(server: ServerHandle, tmp_path: Path) -> AsyncIterator[Registered]:
    """A factory of registered, logged-in, connected clients (closed after the test)."""
    async with client_factory(server, tmp_path, CLIENT_OPTIONS) as make:
        yield registering(lambda **options: make("stores", **options))

"""Fixtures of the gateway tests: the real reference server, a real webhook receiver on
loopback, and the gateway itself (real storage, service and dispatcher) with an admin key.

Every test using the ``gateway`` fixture, or marked ``usefixtures("gateway_backend")``
(``ON_BOTH_BACKENDS``), runs twice: on SQLite in the data directory and on a fresh database
of one throwaway PostgreSQL server per test session. Tests that open the SQLite file
itself build their storage directly and stay on SQLite (docs/scaling.md lists them).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.gateway._api_support import BACKEND, GatewayHandle, Receiver, running_gateway
from tests.pg_support import PostgresCluster, create_database, postgres_cluster
from tests.support import reference_server
from whatsapp_client.server.testing import ServerHandle

BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    """One throwaway PostgreSQL server for the session (started only if a test needs it);
    each test gets a fresh database of it."""
    with postgres_cluster() as cluster:
        yield cluster


@pytest.fixture
async def chat_server(tmp_path: Path) -> AsyncIterator[ServerHandle]:
    """The reference chat server the sessions connect to."""
    async with reference_server(tmp_path) as server:
        yield server


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A webhook receiver on 127.0.0.1 that answers 200 and records every request."""
    hook = Receiver()
    await hook.start()
    try:
        yield hook
    finally:
        await hook.stop()


@pytest.fixture(params=BACKENDS)
async def gateway_backend(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """The storage of the gateways the test starts (``_api_support.BACKEND``)."""
    kind: str = request.param
    BACKEND.clear()
    if kind == "postgres":
        cluster: PostgresCluster = request.getfixturevalue("pg_cluster")
        BACKEND["database"] = await create_database(cluster)
    try:
        yield kind
    finally:
        BACKEND.clear()


@pytest.fixture
async def gateway(tmp_path: Path, gateway_backend: str) -> AsyncIterator[GatewayHandle]:
    """The gateway on a loopback port with data under ``tmp_path / "gateway"``."""
    async with running_gateway(tmp_path / "gateway") as handle:
        yield handle

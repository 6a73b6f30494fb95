"""Fixtures of the gateway tests: the real reference server, a real webhook receiver on
loopback, and the gateway itself (real storage, service and dispatcher) with an admin key.

Every test using the ``gateway`` fixture, or marked ``usefixtures("gateway_backend")``
(``ON_BOTH_BACKENDS``), runs twice: on SQLite in the data directory and on a fresh database
of one throwaway PostgreSQL server per test session. Tests that open the SQLite file
itself build their storage directly and stay on SQLite (docs/scaling.md lists them).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.gateway._api_support import BACKEND, GatewayHandle, Receiver, running_gateway
from tests.gateway._service_world import World
from tests.pg_support import PostgresCluster, create_database, postgres_cluster
from tests.support import reference_server
from whatsapp_client.server.testing import ServerHandle

BACKENDS = ["sqlite", "postgres"]
T = TypeVar("T")


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    """One throwaway PostgreSQL server for the session (started only if a test needs it);
    each test gets a fresh database of it (``pg_database``)."""
    with postgres_cluster() as cluster:
        yield cluster


def _on_own_loop(coro: Coroutine[Any, Any, T]) -> T:
    """Runs ``coro`` on a loop of its own in a thread: ``pg_database`` is also set up from
    inside async fixtures, whose loop is already running."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _drop_database(cluster: PostgresCluster, dsn: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(cluster.dsn())
    try:  # FORCE: connections a killed child process left are closed first
        await conn.execute(f'DROP DATABASE IF EXISTS "{dsn.rsplit("/", 1)[1]}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
def pg_database(pg_cluster: PostgresCluster) -> Iterator[str]:
    """A fresh, empty database of ``pg_cluster`` for one test (its DSN), dropped after it:
    a few hundred tests would otherwise leave gigabytes of copies of the template."""
    dsn = _on_own_loop(create_database(pg_cluster))
    try:
        yield dsn
    finally:
        _on_own_loop(_drop_database(pg_cluster, dsn))


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
        BACKEND["database"] = request.getfixturevalue("pg_database")
    try:
        yield kind
    finally:
        BACKEND.clear()


@pytest.fixture
async def gateway(tmp_path: Path, gateway_backend: str) -> AsyncIterator[GatewayHandle]:
    """The gateway on a loopback port with data under ``tmp_path / "gateway"``."""
    async with running_gateway(tmp_path / "gateway") as handle:
        yield handle


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    """The Gateway service on SQLite with the wac1 engine, against a reference server."""
    async with reference_server(tmp_path) as server:
        w = World(server, tmp_path)
        await w.gateway.start()
        try:
            yield w
        finally:
            await w.gateway.close()

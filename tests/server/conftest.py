"""Fixtures: the real server on an ephemeral port and an HTTP session to talk to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest

from tests.pg_support import PostgresCluster, create_database, postgres_cluster
from tests.redis_support import key_prefix, redis_server
from tests.server import helpers
from tests.server.helpers import Account, register
from whatsapp_client.server.testing import ServerHandle, running_server

BACKENDS = ["sqlite", "postgres"]

__all__ = ["key_prefix", "redis_server"]


@pytest.fixture
def fanout_kind() -> str:
    """The fan-out of the ``server`` fixture; modules with ``FANOUTS`` run on each."""
    return "local"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    kinds = getattr(metafunc.module, "FANOUTS", None)
    if kinds and "fanout_kind" in metafunc.fixturenames:
        metafunc.parametrize("fanout_kind", kinds)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    """One throwaway PostgreSQL server for the session (started only if a test needs it)."""
    with postgres_cluster() as cluster:
        yield cluster


@pytest.fixture
async def pg_dsn(pg_cluster: PostgresCluster) -> str:
    """A fresh, empty database for one test."""
    return await create_database(pg_cluster)


@pytest.fixture(params=BACKENDS)
async def backend_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Settings that pick the storage backend: every test using ``server`` runs on both."""
    if request.param == "postgres":
        cluster: PostgresCluster = request.getfixturevalue("pg_cluster")
        return {"database": await create_database(cluster)}
    return {}


@pytest.fixture
def serving_backend(backend_settings: dict[str, Any]) -> Iterator[None]:
    """Modules that mark themselves ``usefixtures("serving_backend")`` get `serving()`
    servers on each backend in turn."""
    helpers.BACKEND.clear()
    helpers.BACKEND.update(backend_settings)
    try:
        yield
    finally:
        helpers.BACKEND.clear()


@pytest.fixture
async def server(
    request: pytest.FixtureRequest, fanout_kind: str, backend_settings: dict[str, Any]
) -> AsyncIterator[ServerHandle]:
    extra: dict[str, Any] = dict(backend_settings)
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

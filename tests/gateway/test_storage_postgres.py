"""What only the PostgreSQL storage has: migrations run at start under an advisory lock
(two gateways at once on an empty database), a newer schema refused, the ``database``
setting, and clear errors for a missing driver or an unreachable server. The Storage
contract itself runs on both backends (``test_storage_contract*``)."""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path

import asyncpg
import pytest

from tests.gateway import _store_support as f
from tests.gateway._api_support import ADMIN_KEY
from whatsapp_client.gateway._cli import main
from whatsapp_client.gateway._config import ConfigError, load_settings
from whatsapp_client.gateway._database import DatabaseUnavailable, make_storage
from whatsapp_client.gateway._models import MessageFilter
from whatsapp_client.gateway._pg import PostgresStorage
from whatsapp_client.gateway._pg_schema import SCHEMA_VERSION, PgSchemaError
from whatsapp_client.gateway._settings import GatewaySettings
from whatsapp_client.gateway._sqlite import SqliteStorage
from whatsapp_client.gateway._vault import Vault


@pytest.fixture
def dsn(pg_database: str) -> str:
    return pg_database


async def _versions(dsn: str) -> list[int]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT version FROM gateway_schema_migrations ORDER BY version")
        return [r[0] for r in rows]
    finally:
        await conn.close()


async def test_two_gateways_starting_at_once_migrate_once(dsn: str) -> None:
    first = PostgresStorage(dsn, Vault.from_key(f.KEY))
    second = PostgresStorage(dsn, Vault.from_key(f.KEY))
    await asyncio.gather(first.open(), second.open())
    try:
        assert await _versions(dsn) == list(range(1, SCHEMA_VERSION + 1))
        # One schema, one master-key check: what one writes, the other reads and opens.
        sid, _ = await f.make_session(first)
        assert await second.get_credentials(sid) == b"credentials"
    finally:
        await asyncio.gather(first.close(), second.close())


async def test_a_newer_schema_is_refused_and_left_alone(dsn: str) -> None:
    storage = PostgresStorage(dsn, Vault.from_key(f.KEY))
    await storage.open()
    await storage.close()
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "INSERT INTO gateway_schema_migrations (version) VALUES ($1)", SCHEMA_VERSION + 1
        )
    finally:
        await conn.close()
    with pytest.raises(PgSchemaError, match="upgrade the gateway"):
        await PostgresStorage(dsn, Vault.from_key(f.KEY)).open()
    assert await _versions(dsn) == [*range(1, SCHEMA_VERSION + 1), SCHEMA_VERSION + 1]


async def test_another_master_key_is_refused_when_opening(dsn: str) -> None:
    storage = PostgresStorage(dsn, Vault.from_key(f.KEY))
    await storage.open()
    await storage.close()
    with pytest.raises(Exception, match="master key is not the one"):
        await PostgresStorage(dsn, Vault.from_key(bytes(32))).open()


async def test_lost_connections_fail_the_writes_under_way_and_the_next_ones_work(
    dsn: str,
) -> None:
    storage = PostgresStorage(dsn, Vault.from_key(f.KEY))
    await storage.open()
    try:
        sid, _ = await f.make_session(storage)
        await f.enqueue(storage, sid, "before")
        admin = await asyncpg.connect(dsn)
        try:  # what a database restart does to the gateway's connections
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        finally:
            await admin.close()
        acknowledged = 1
        for text in ("during", "after"):
            try:
                await f.enqueue(storage, sid, text)
                acknowledged += 1
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
                pass  # a write on a dead connection fails; the pool replaces it
        await f.enqueue(storage, sid, "then")  # the writer did not stop
        acknowledged += 1
        assert await storage.queue_depth(sid) == acknowledged
        page, _ = await storage.list_messages(sid, MessageFilter(), limit=10)
        assert len(page) == acknowledged  # a failed write left nothing behind
    finally:
        await storage.close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_an_unreachable_database_is_a_clear_error_without_the_password() -> None:
    dsn = f"postgresql://gw:hunter2-secret@127.0.0.1:{_closed_port()}/gateway"
    storage = PostgresStorage(dsn, Vault.from_key(f.KEY))
    with pytest.raises(DatabaseUnavailable, match="cannot reach the gateway database") as err:
        await storage.open()
    assert "hunter2" not in str(err.value) and "hunter2" not in repr(storage)
    with pytest.raises(RuntimeError, match="not open"):
        await storage.list_sessions()


async def test_a_missing_driver_is_a_clear_error(dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "asyncpg", None)  # what `import asyncpg` sees without it
    with pytest.raises(DatabaseUnavailable, match=r"pip install 'whatsapp-client\[postgres\]'"):
        await PostgresStorage(dsn, Vault.from_key(f.KEY)).open()


def test_the_database_setting_picks_the_backend(tmp_path: Path) -> None:
    vault = Vault.from_key(f.KEY)
    dsn = "postgresql://gw:pw@db.example:5432/gateway"
    flags = {"database": dsn, "data_dir": str(tmp_path)}
    settings = load_settings(flags, env={})
    assert isinstance(make_storage(settings, tmp_path, vault), PostgresStorage)
    assert "pw@" not in repr(settings)  # a DSN may carry a password
    from_env = load_settings({}, env={"WHATSAPP_GATEWAY_DATABASE": dsn})
    assert from_env.database == dsn
    config = tmp_path / "gateway.yaml"
    config.write_text(f"database: {dsn}\ndatabase-max-connections: 4\n")
    from_file = load_settings({"config": str(config)}, env={})
    assert (from_file.database, from_file.database_max_connections) == (dsn, 4)
    default = GatewaySettings(data_dir=str(tmp_path))
    assert isinstance(make_storage(default, tmp_path, vault), SqliteStorage)
    with pytest.raises(ConfigError, match="postgresql://"):
        load_settings({"database": "mysql://db/gateway"}, env={})
    with pytest.raises(ConfigError, match="at least 2"):
        load_settings({"database_max_connections": 1}, env={})


def test_the_command_stops_with_a_clear_message_when_the_database_is_unreachable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dsn = f"postgresql://gw:hunter2-secret@127.0.0.1:{_closed_port()}/gateway"
    data = str(tmp_path / "data")
    status = main(["--port", "0", "--data-dir", data, "--api-keys", ADMIN_KEY, "--database", dsn])
    err = capsys.readouterr().err
    assert status == 1
    assert "cannot reach the gateway database" in err and "hunter2" not in err

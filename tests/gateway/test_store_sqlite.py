"""What only the SQLite storage promises: private files, durable settings, refusing a
newer schema, and calls on a closed storage."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.gateway import _store_support as f
from tests.gateway._store_support import KEY
from whatsapp_client.errors import VaultError
from whatsapp_client.gateway._models import MessageFilter
from whatsapp_client.gateway._sqlite import SqliteStorage, StorageClosedError
from whatsapp_client.gateway._vault import Vault


async def test_database_file_is_private(tmp_path: Path) -> None:
    s = SqliteStorage(tmp_path / "data", Vault.from_key(KEY))
    await s.open()
    try:
        await s.ping()  # the WAL and its index exist once something was written
        files = sorted(p.name for p in (tmp_path / "data").iterdir())
        assert files == ["gateway.sqlite3", "gateway.sqlite3-shm", "gateway.sqlite3-wal"]
        for name in files:
            assert os.stat(tmp_path / "data" / name).st_mode & 0o077 == 0, name
        assert os.stat(tmp_path / "data").st_mode & 0o077 == 0
    finally:
        await s.close()


async def test_another_master_key_is_refused_at_open(tmp_path: Path) -> None:
    s = SqliteStorage(tmp_path, Vault.from_key(KEY))
    await s.open()
    rec = f.session()
    await s.create_session(rec, b"c", [])
    await s.close()
    wrong = SqliteStorage(tmp_path, Vault.from_key(bytes(32)))
    with pytest.raises(VaultError, match="master key"):
        await wrong.open()
    await wrong.close()
    s = SqliteStorage(tmp_path, Vault.from_key(KEY))
    await s.open()
    try:
        assert await s.get_credentials(rec.id) == b"c"
    finally:
        await s.close()


def test_synchronous_must_be_durable(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="FULL"):
        SqliteStorage(tmp_path, Vault.from_key(KEY), synchronous="OFF")


async def test_closed_storage_refuses_calls(tmp_path: Path) -> None:
    s = SqliteStorage(tmp_path, Vault.from_key(KEY))
    with pytest.raises(StorageClosedError):
        await s.get_session("ses_x")
    await s.open()
    await s.open()  # opening twice is harmless
    await s.close()
    with pytest.raises(StorageClosedError):
        await s.ping()


async def test_database_of_a_newer_gateway_is_refused(tmp_path: Path) -> None:
    s = SqliteStorage(tmp_path, Vault.from_key(KEY))
    await s.open()
    await s.close()
    conn = sqlite3.connect(s.path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(RuntimeError, match="upgrade the gateway"):
        await SqliteStorage(tmp_path, Vault.from_key(KEY)).open()
    # The failed open left no reader thread behind.
    assert not [t for t in threading.enumerate() if t.name.startswith("gw-db-read")]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    stamps=st.lists(st.integers(min_value=0, max_value=5), min_size=0, max_size=40),
    limit=st.integers(min_value=1, max_value=7),
)
def test_property_paging_yields_every_message_once_newest_first(
    tmp_path_factory: pytest.TempPathFactory, stamps: list[int], limit: int
) -> None:
    async def run() -> None:
        s = SqliteStorage(tmp_path_factory.mktemp("paging"), Vault.from_key(KEY))
        await s.open()
        try:
            rec = f.session()
            await s.create_session(rec, b"c", [])
            ids = []
            for i, ts in enumerate(stamps):
                m = f.inbound(rec.id, f"e{i}", ts=ts)
                assert await s.record_inbound(m, f.event(rec.id))
                ids.append(m.id)
            seen, cursor, pages = [], None, 0
            while True:
                page, cursor = await s.list_messages(
                    rec.id, MessageFilter(), limit=limit, cursor=cursor
                )
                assert len(page) <= limit
                seen += page
                pages += 1
                if cursor is None:
                    break
            assert sorted(m.id for m in seen) == sorted(ids)
            assert [m.timestamp for m in seen] == sorted(stamps, reverse=True)
            assert pages == max(1, -(-len(stamps) // limit))
        finally:
            await s.close()

    asyncio.run(run())

"""PostgresStorage beyond what the HTTP/WebSocket suites (run on both backends) reach:
concurrent start on an empty database, prekeys handed out once across processes, resent
message ids, and the test server's own failure when PostgreSQL is missing."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from tests import pg_support
from whatsapp_client.server.storage.pg_schema import SCHEMA_VERSION, PgSchemaError
from whatsapp_client.server.storage.postgres import PostgresStorage
from whatsapp_client.server.storage.records import (
    IdentityKeys,
    PreKey,
    SignedPreKeyRecord,
    StoreOutcome,
)

IDENTITY = IdentityKeys(b"i" * 32, b"s" * 32, SignedPreKeyRecord(1, b"p" * 32, b"g" * 64))


async def _user(storage: PostgresStorage, name: str) -> str:
    record = await storage.create_user(name + "-id", name, b"hash")
    assert record is not None
    return record.id


async def _submit(storage: PostgresStorage, sender: str, mid: str, to: str) -> Any:
    done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    storage.submit_message(sender, mid, to, "ciphertext", 100, done.set_result)
    return await done


async def test_two_processes_start_on_one_empty_database(pg_dsn: str) -> None:
    first, second = PostgresStorage(pg_dsn), PostgresStorage(pg_dsn)
    await asyncio.gather(first.open(), second.open())
    try:
        await _user(first, "alice")
        assert await second.user_by_name("alice") is not None
        conn = await asyncpg.connect(pg_dsn)
        try:
            versions = [r[0] for r in await conn.fetch("SELECT version FROM schema_migrations")]
        finally:
            await conn.close()
        assert versions == list(range(1, SCHEMA_VERSION + 1))
    finally:
        await asyncio.gather(first.close(), second.close())


async def test_a_newer_schema_is_refused(pg_dsn: str) -> None:
    storage = PostgresStorage(pg_dsn)
    await storage.open()
    await storage.close()
    conn = await asyncpg.connect(pg_dsn)
    try:
        await conn.execute("INSERT INTO schema_migrations (version) VALUES ($1)", 99)
    finally:
        await conn.close()
    with pytest.raises(PgSchemaError, match="upgrade the server"):
        await PostgresStorage(pg_dsn).open()


async def test_each_prekey_is_handed_out_once_across_processes(pg_dsn: str) -> None:
    first, second = PostgresStorage(pg_dsn), PostgresStorage(pg_dsn)
    await first.open()
    await second.open()
    try:
        bob = await _user(first, "bob")
        keys = [PreKey(n, bytes([n]) * 32) for n in range(1, 21)]
        assert await first.replace_keys(bob, IDENTITY, keys, 100) is None
        bundles = await asyncio.gather(
            *(storage.take_bundle(bob) for storage in [first, second] * 20)
        )
        taken = [b.one_time_prekey.key_id for b in bundles if b and b.one_time_prekey]
        assert sorted(taken) == list(range(1, 21))
        assert (await second.key_status(bob)).available == 0
    finally:
        await first.close()
        await second.close()


async def test_a_resent_id_answers_the_stored_timestamp_and_is_stored_once(pg_dsn: str) -> None:
    first, second = PostgresStorage(pg_dsn), PostgresStorage(pg_dsn)
    await first.open()
    await second.open()
    try:
        alice, bob = await _user(first, "alice"), await _user(first, "bob")
        original = await _submit(first, alice, "m-1", bob)
        assert isinstance(original, StoreOutcome) and original.new
        again = await _submit(second, alice, "m-1", bob)
        assert again == StoreOutcome(original.timestamp, False)
        pending = await second.pending(bob, 10)
        assert [m.id for _, m in pending] == ["m-1"]
        assert await first.pending_total() == 1
    finally:
        await first.close()
        await second.close()


async def test_messages_from_two_processes_queue_in_commit_order(pg_dsn: str) -> None:
    first, second = PostgresStorage(pg_dsn), PostgresStorage(pg_dsn)
    await first.open()
    await second.open()
    try:
        alice, carol, bob = [await _user(first, n) for n in ("alice", "carol", "bob")]
        sends = []
        for n in range(30):
            sends.append(_submit(first, alice, f"a-{n}", bob))
            sends.append(_submit(second, carol, f"c-{n}", bob))
        outcomes = await asyncio.gather(*sends)
        assert all(o.new for o in outcomes)
        queued = [m for _, m in await first.pending(bob, 100)]
        assert [m.id for m in queued if m.sender == alice] == [f"a-{n}" for n in range(30)]
        assert [m.id for m in queued if m.sender == carol] == [f"c-{n}" for n in range(30)]
    finally:
        await first.close()
        await second.close()


def test_missing_binaries_fail_naming_the_package(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(pg_support, "SYSTEM_DIR", str(tmp_path / "none"))
    with (
        pytest.raises(pg_support.PostgresMissingError, match="`postgresql` package"),
        pg_support.postgres_cluster(),
    ):
        pass

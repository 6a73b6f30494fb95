"""Duplicate records: same (message_id, status) dropped, TTL pruning, survives a restart."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from whatsapp_client.cloud._dedup import DedupStore, MemoryDedupStore, SqliteDedupStore
from whatsapp_client.cloud._errors import ConfigurationError


class FakeClock:
    def __init__(self, now: float = 1_750_000_000.0) -> None:
        self.now = now
        self.threads: set[int] = set()

    def __call__(self) -> float:
        self.threads.add(threading.get_ident())
        return self.now


async def test_memory_store_detects_duplicates_per_message_and_status() -> None:
    store = MemoryDedupStore()
    assert isinstance(store, DedupStore)
    assert await store.seen(("wamid.1", "message")) is False
    assert await store.seen(("wamid.1", "message")) is True
    assert await store.seen(("wamid.1", "delivered")) is False  # another status: not a duplicate
    assert await store.seen(("wamid.2", "message")) is False
    assert await store.seen_many([("wamid.2", "message"), ("wamid.3", "read")]) == [True, False]


async def test_memory_store_forgets_after_ttl_and_caps_its_size() -> None:
    clock = FakeClock()
    store = MemoryDedupStore(ttl=60, max_entries=3, clock=clock)
    for i in range(3):
        assert await store.seen((f"m{i}", "message")) is False
    clock.now += 61
    assert await store.seen(("m0", "message")) is False  # expired, recorded anew
    assert len(store) == 1  # the other two were pruned
    for i in range(1, 5):
        await store.seen((f"n{i}", "message"))
    assert len(store) == 3
    assert await store.seen(("n4", "message")) is True
    assert await store.seen(("m0", "message")) is False  # oldest evicted by the cap


async def test_sqlite_store_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "dedup.sqlite"
    clock = FakeClock()
    first = SqliteDedupStore(path, ttl=3600, clock=clock)
    assert await first.seen(("wamid.1", "message")) is False
    assert await first.seen_many([("wamid.1", "sent"), ("wamid.1", "message")]) == [False, True]
    await first.close()

    reopened = SqliteDedupStore(path, ttl=3600, clock=clock)
    try:
        assert await reopened.seen(("wamid.1", "message")) is True
        assert await reopened.seen(("wamid.1", "sent")) is True
        assert await reopened.seen(("wamid.1", "delivered")) is False
        assert len(reopened) == 3
    finally:
        await reopened.close()
    # The record is a real SQLite file another process could read.
    with sqlite3.connect(path) as conn:
        rows = sorted(conn.execute("SELECT message_id, status FROM seen").fetchall())
    conn.close()
    assert rows == [("wamid.1", "delivered"), ("wamid.1", "message"), ("wamid.1", "sent")]


async def test_sqlite_store_expires_and_prunes_old_keys(tmp_path: Path) -> None:
    clock = FakeClock()
    store = SqliteDedupStore(tmp_path / "d.sqlite", ttl=100, prune_every=50, clock=clock)
    try:
        await store.seen_many([("a", "message"), ("b", "message")])
        clock.now += 101
        # An expired key is new again, and the prune removes the other expired one.
        assert await store.seen(("a", "message")) is False
        assert len(store) == 1
        assert await store.seen(("a", "message")) is True
        clock.now += 101
        assert store.prune() == 1
        assert len(store) == 0
    finally:
        await store.close()


async def test_sqlite_work_runs_off_the_event_loop_thread(tmp_path: Path) -> None:
    clock = FakeClock()
    store = SqliteDedupStore(tmp_path / "d.sqlite", clock=clock)
    try:
        await store.seen(("a", "message"))
    finally:
        await store.close()
    assert clock.threads and threading.get_ident() not in clock.threads


async def test_sqlite_store_refuses_bad_keys_without_recording(tmp_path: Path) -> None:
    store = SqliteDedupStore(tmp_path / "d.sqlite")
    try:
        with pytest.raises(TypeError):
            await store.seen_many([("ok", "message"), ("bad", 5)])  # type: ignore[list-item]
        assert await store.seen(("ok", "message")) is False  # the good key was not recorded
    finally:
        await store.close()


async def test_closed_sqlite_store_refuses(tmp_path: Path) -> None:
    store = SqliteDedupStore(tmp_path / "d.sqlite")
    await store.seen(("a", "message"))
    await store.close()
    with pytest.raises(RuntimeError):  # the worker thread is gone
        await store.seen(("a", "message"))


@pytest.mark.parametrize("ttl", [0, -1.0, float("nan")])
def test_bad_ttl_is_a_configuration_error(ttl: float, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        MemoryDedupStore(ttl=ttl)
    with pytest.raises(ConfigurationError):
        SqliteDedupStore(tmp_path / "d.sqlite", ttl=ttl)

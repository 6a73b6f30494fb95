"""The lease keeper driving a real session manager on the real SQLite storage, on given
clocks: what it stops when its leases are lost or may have expired."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Optional

import pytest

from tests.gateway._runtime_support import make_vault
from tests.gateway.test_runtime_sessions import Factory, open_storage, session, stored
from whatsapp_client.gateway._media_store import MediaStore
from whatsapp_client.gateway._metrics import GatewayMetrics
from whatsapp_client.gateway._session_leases import CLAIM_ROUND, LeaseKeeper, process_id
from whatsapp_client.gateway._sessions import SessionManager
from whatsapp_client.gateway._settings import GatewaySettings
from whatsapp_client.gateway._sqlite import SqliteStorage, StorageClosedError

TTL = 15.0


class Clocks:
    def __init__(self) -> None:
        self.wall = 1_000_000_000_000  # ms, written to the storage
        self.local = 0.0  # s, monotonic

    def advance(self, seconds: float) -> None:
        self.wall += int(seconds * 1000)
        self.local += seconds


def manager(
    storage: SqliteStorage,
    tmp: Path,
    factory: Factory,
    clocks: Clocks,
    owner: Optional[str] = None,
) -> SessionManager:
    return SessionManager(
        storage,
        MediaStore(tmp / "media", make_vault()),
        GatewaySettings(lease_ttl=TTL),
        GatewayMetrics(),
        {"fake": factory},  # type: ignore[dict-item]
        wake=lambda: None,
        data_dir=tmp,
        clock=lambda: clocks.wall,
        owner=owner,
    )


def keeper(storage: SqliteStorage, holder: SessionManager, clocks: Clocks) -> LeaseKeeper:
    return LeaseKeeper(
        storage,
        holder.owner,
        holder,
        ttl=TTL,
        queue_poll=1.0,
        clock=lambda: clocks.wall,
        monotonic=lambda: clocks.local,
    )


async def test_a_keeper_cut_off_from_the_storage_stops_its_sessions_after_a_ttl(
    tmp_path: Path,
) -> None:
    storage = await open_storage(tmp_path)
    factory = Factory()
    clocks = Clocks()
    held = manager(storage, tmp_path, factory, clocks)
    keep = keeper(storage, held, clocks)
    await storage.create_session(session("ses_a"), b"", [])
    await keep.tick(wait=True)
    assert held.running_here() == {"ses_a"}
    await storage.close()  # from now on every renewal fails
    clocks.advance(TTL - 1)
    await _failing_tick(keep)
    assert held.running_here() == {"ses_a"}  # the lease may still be its own
    clocks.advance(1)
    await _failing_tick(keep)
    assert held.running_here() == set()
    assert [e.stopped for e in factory.engines] == [1]


async def _failing_tick(keep: LeaseKeeper) -> None:
    with pytest.raises(StorageClosedError):
        await keep.tick()


async def test_a_lost_session_is_stopped_without_a_status_and_a_free_one_is_taken(
    tmp_path: Path,
) -> None:
    storage = await open_storage(tmp_path)
    try:
        factory = Factory()
        clocks = Clocks()
        first = manager(storage, tmp_path, factory, clocks)
        second = manager(storage, tmp_path, factory, clocks)
        keep_first, keep_second = keeper(storage, first, clocks), keeper(storage, second, clocks)
        await storage.create_session(session("ses_a"), b"", [])
        await keep_first.tick(wait=True)
        await keep_second.tick(wait=True)
        assert (first.running_here(), second.running_here()) == ({"ses_a"}, set())
        await storage.set_session_status("ses_a", "connected", None, None)
        clocks.advance(TTL)  # the first process stalled for a whole TTL
        await keep_second.tick(wait=True)
        assert second.running_here() == {"ses_a"}
        await keep_first.tick(wait=True)  # it wakes up and learns it lost the session
        assert first.running_here() == set()
        assert [e.stopped for e in factory.engines] == [1, 0]
        record = await stored(storage, "ses_a")
        assert (record.status, record.running) == ("connected", True)  # nothing written
        await second.close()
        assert await storage.lease_holder("ses_a", clocks.wall) is None  # released
    finally:
        await storage.close()


async def test_one_round_takes_every_free_session(tmp_path: Path) -> None:
    storage = await open_storage(tmp_path)
    try:
        clocks = Clocks()
        held = manager(storage, tmp_path, Factory(), clocks)
        count = CLAIM_ROUND + CLAIM_ROUND // 2  # more than one storage call takes
        for n in range(count):
            await storage.create_session(session(f"ses_{n:03d}"), b"", [])
        await keeper(storage, held, clocks).tick(wait=True)
        assert len(held.running_here()) == count
        await held.close()
    finally:
        await storage.close()


async def test_a_process_restarted_with_its_id_takes_its_sessions_back_at_once(
    tmp_path: Path,
) -> None:
    storage = await open_storage(tmp_path)
    try:
        await storage.create_session(session("ses_a"), b"", [])
        clocks = Clocks()
        crashed = manager(storage, tmp_path, Factory(), clocks, owner="gwp_host:8090")
        await keeper(storage, crashed, clocks).tick(wait=True)
        assert crashed.running_here() == {"ses_a"}
        # Killed: nothing released. Another process must wait for the lease to end...
        other = manager(storage, tmp_path, Factory(), clocks, owner="gwp_other:8090")
        await keeper(storage, other, clocks).tick(wait=True, adopt=True)
        assert other.running_here() == set()
        # ...the same process started again (same id) does not.
        again = manager(storage, tmp_path, Factory(), clocks, owner="gwp_host:8090")
        restarted = keeper(storage, again, clocks)
        await restarted.start()
        try:
            assert again.running_here() == {"ses_a"}
        finally:
            await restarted.stop()
            await again.close()
    finally:
        await storage.close()


def test_the_process_id_is_configured_or_host_and_port() -> None:
    assert process_id("gwp_eu1", 8090) == "gwp_eu1"
    assert process_id(None, 8090) == f"gwp_{socket.gethostname()}:8090"
    assert process_id(None, 0) != process_id(None, 0)  # a system-chosen port: random

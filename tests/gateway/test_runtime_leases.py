"""Two gateway services on one database (each with its own storage: two SQLite connections
to one file, or two PostgreSQL pools on one database, the ``backend`` fixture), real wac1
sessions on the reference server: each running session is run
by exactly one of them, the other answers its API calls through the storage, and a session
moves when its process stops renewing its lease."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Optional

import pytest

from tests.gateway._runtime_support import PASSWORD, make_vault, unique_name, wac1_factory
from tests.support import eventually, eventually_async, reference_server
from whatsapp_client.gateway._ids import now_ms
from whatsapp_client.gateway._metrics import GatewayMetrics
from whatsapp_client.gateway._models import MessageFilter, MessageRecord
from whatsapp_client.gateway._pg import PostgresStorage
from whatsapp_client.gateway._requests import CreateSession, SendSpec, SessionPatch
from whatsapp_client.gateway._service import Gateway
from whatsapp_client.gateway._settings import GatewaySettings
from whatsapp_client.gateway._sqlite import SqliteStorage
from whatsapp_client.gateway._storage import Storage
from whatsapp_client.server.testing import ServerHandle

# Short leases so a takeover is quick; renewed every third, polled queues every 0.1 s.
SETTINGS = dict(lease_ttl=1.5, queue_poll_interval=0.1)


class Pair:
    """Gateways ``a`` and ``b``, each with its own storage connection, one database."""

    def __init__(
        self, server: ServerHandle, tmp: Path, database: Optional[str], **settings_: float
    ) -> None:
        self.server = server
        self.vault = make_vault()
        chosen = {**SETTINGS, **settings_}
        settings = GatewaySettings(data_dir=str(tmp / "gw"), **chosen)  # type: ignore[arg-type]

        def storage() -> Storage:  # the database is a PostgreSQL DSN or SQLite's file
            if database is None:
                return SqliteStorage(tmp / "db", self.vault)
            return PostgresStorage(database, self.vault)

        # b's storage, for reading the leases as any process sees them.
        self.storage = storage()
        self.a = self._gateway(settings, tmp, storage())
        self.b = self._gateway(settings, tmp, self.storage)

    def _gateway(self, settings: GatewaySettings, tmp: Path, storage: Storage) -> Gateway:
        return Gateway(
            settings,
            storage,
            self.vault,
            GatewayMetrics(),
            engines={"wac1": wac1_factory()},
            data_dir=tmp / "gw",
        )

    async def create(self, gateway: Gateway, prefix: str) -> tuple[str, str]:
        """A connected session made through ``gateway``; its id and username."""
        username = unique_name(prefix)
        spec = CreateSession(
            name=unique_name(prefix),
            engine="wac1",
            server_url=self.server.url,
            username=username,
            password=PASSWORD,
            register=True,
        )
        record, _ = await gateway.create_session(spec)
        await eventually(lambda: self.runs(gateway, record.id), what="connected")

        async def recorded() -> bool:  # the status is written just after it is set
            return (await gateway.get_session(record.id)).status == "connected"

        await eventually_async(recorded, what="connected recorded")
        return record.id, username

    @staticmethod
    def runs(gateway: Gateway, session_id: str) -> bool:
        runtime = gateway.sessions.runtime(session_id)
        return runtime is not None and runtime.status == "connected"

    def runner(self, session_id: str) -> Optional[Gateway]:
        """The one gateway with a runtime for the session (fails if both have one)."""
        found = [g for g in (self.a, self.b) if g.sessions.runtime(session_id) is not None]
        assert len(found) <= 1, "a session runs in two processes"
        return found[0] if found else None

    async def crash(self, gateway: Gateway) -> None:
        """What the others see of a killed process: its leases are no longer renewed and
        its engines are gone, but nothing was released or recorded."""
        await gateway.sessions.leases.stop()
        for session_id in sorted(gateway.sessions.running_here()):
            await gateway.sessions.drop_lost(session_id, confirm=False)


@pytest.fixture(params=["sqlite", "postgres"])
async def pair(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Pair]:
    database = request.getfixturevalue("pg_database") if request.param == "postgres" else None
    async with reference_server(tmp_path) as server:
        p = Pair(server, tmp_path, database)
        await p.a.start()
        await p.b.start()
        try:
            yield p
        finally:
            await p.b.close()
            await p.a.close()


async def _history(gateway: Gateway, session_id: str) -> list[MessageRecord]:
    found, _ = await gateway.list_messages(session_id, MessageFilter(), limit=100, cursor=None)
    return found


async def test_a_session_runs_in_one_process_and_moves_when_that_process_dies(
    pair: Pair,
) -> None:
    sid, _ = await pair.create(pair.a, "lease")
    assert pair.runner(sid) is pair.a
    assert await pair.storage.lease_holder(sid, now_ms()) == pair.a.sessions.owner
    seen = await pair.b.get_session(sid)  # b answers from the storage
    assert (seen.id, seen.running, seen.status) == (sid, True, "connected")
    await pair.b.sessions.leases.tick()  # b renews and looks for free sessions: none
    assert pair.runner(sid) is pair.a
    await pair.crash(pair.a)
    await eventually(lambda: pair.runs(pair.b, sid), timeout=20, what="the takeover by b")
    assert pair.runner(sid) is pair.b
    assert (await pair.b.get_session(sid)).running


async def test_sends_through_the_other_process_are_checked_and_sent_by_the_runner(
    pair: Pair,
) -> None:
    alice, _ = await pair.create(pair.a, "alice")
    bob, bob_name = await pair.create(pair.a, "bob")
    status, _ = await pair.b.send(alice, SendSpec(to=bob_name, text="via b"))
    assert status == 202
    await eventually_async(
        lambda: _has_text(pair.a, bob, "via b"), timeout=20, what="bob receives it"
    )
    (sent,) = await _history(pair.b, alice)
    assert sent.status in ("sent", "delivered", "read")
    # Without the engine here an unknown recipient is accepted, then failed by the runner.
    status, _ = await pair.b.send(alice, SendSpec(to=unique_name("nobody"), text="lost"))
    assert status == 202

    async def failed() -> bool:
        found = [m for m in await _history(pair.b, alice) if m.text == "lost"]
        return bool(found) and found[0].status == "failed"

    await eventually_async(failed, timeout=20, what="the unknown recipient's failure")
    (lost,) = [m for m in await _history(pair.a, alice) if m.text == "lost"]
    assert (lost.reason or "").startswith("recipient_not_found")


async def _has_text(gateway: Gateway, session_id: str, text: str) -> bool:
    return any(m.text == text for m in await _history(gateway, session_id))


async def test_stop_restart_and_patch_through_the_other_process_reach_the_runner(
    pair: Pair,
) -> None:
    sid, _ = await pair.create(pair.a, "ops")
    await pair.b.update_session(sid, SessionPatch(rate_limit_per_minute=7))
    await eventually(lambda: _rate(pair.a, sid) == 7, timeout=20, what="the new rate on a")
    stopped = await pair.b.stop_session(sid)
    assert (stopped.status, stopped.running) == ("stopped", False)
    await eventually(lambda: pair.runner(sid) is None, timeout=20, what="a stops it")
    # a let it go without writing a status of its own.
    assert (await pair.a.get_session(sid)).status == "stopped"
    await pair.b.restart_session(sid)
    await eventually(
        lambda: any(pair.runs(g, sid) for g in (pair.a, pair.b)), timeout=20, what="restarted"
    )
    assert pair.runner(sid) is not None


def _rate(gateway: Gateway, session_id: str) -> Optional[int]:
    runtime = gateway.sessions.runtime(session_id)
    if runtime is None or runtime.worker is None:
        return None
    return runtime.worker.bucket.rate_per_minute


async def test_a_clean_close_hands_the_sessions_over_at_once(pair: Pair) -> None:
    sid, _ = await pair.create(pair.a, "handover")
    await pair.a.sessions.close()  # what a clean shutdown does before the storage closes
    assert await pair.storage.lease_holder(sid, now_ms()) is None  # released, not expiring
    await pair.b.sessions.leases.tick()
    await eventually(lambda: pair.runs(pair.b, sid), timeout=20, what="b runs it")

"""The per-session send worker with a scripted engine over the real SQLite storage: FIFO,
one at a time, pacing on a test clock, transient failures, final refusals, and the crash
window."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Optional

import pytest

from tests.gateway._runtime_support import make_vault
from tests.gateway._store_support import endpoint
from tests.support import eventually, eventually_async
from whatsapp_client.gateway._engine import SendRefused, SendResult
from whatsapp_client.gateway._media_store import MediaStore
from whatsapp_client.gateway._metrics import GatewayMetrics
from whatsapp_client.gateway._models import (
    Event,
    MessageFilter,
    MessageRecord,
    OutboundRequest,
    QueueItem,
    SessionRecord,
)
from whatsapp_client.gateway._pacing import TokenBucket
from whatsapp_client.gateway._sender import SendWorker
from whatsapp_client.gateway._sqlite import SqliteStorage

SID = "ses_1"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


class ScriptedEngine:
    """Sends by appending to ``sent``; ``failures`` holds exceptions to raise first."""

    name = "fake"

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.connected = True
        self.sent: list[tuple[str, str, float]] = []  # (message id, text, clock)
        self.failures: list[Exception] = []
        self.busy = False
        self.overlap = False
        self.known: set[str] = set()  # ids the "network" already has (like wac1's store)

    async def send_text(
        self,
        to: Optional[str],
        group_id: Optional[str],
        text: str,
        *,
        message_id: Optional[str] = None,
    ) -> SendResult:
        self.overlap = self.overlap or self.busy
        self.busy = True
        try:
            await asyncio.sleep(0)
            if self.failures:
                raise self.failures.pop(0)
            assert message_id is not None
            if message_id not in self.known:
                self.known.add(message_id)
                self.sent.append((message_id, text, self.clock.now))
            return SendResult(engine_message_id=message_id, timestamp=1)
        finally:
            self.busy = False


class FlakyFinishStorage(SqliteStorage):
    """The real storage whose ``finish_send`` fails ``fail_finish`` times first (a storage
    hiccup, or the process dying before the outcome commits)."""

    fail_finish = 0

    async def finish_send(self, *args: Any, **kwargs: Any) -> None:
        if self.fail_finish > 0:
            self.fail_finish -= 1
            raise OSError("database is locked")
        await super().finish_send(*args, **kwargs)


class Rig:
    """Build with ``await Rig.create(tmp)``; ``close()`` stops the worker and the storage."""

    def __init__(self, tmp: Path, rate: int = 100_000) -> None:
        self.clock = Clock()
        self.storage = FlakyFinishStorage(tmp / "db", make_vault())
        self.endpoint = endpoint(SID)  # subscribes to every event: they are read back from it
        self.enqueued = 0
        self.engine = ScriptedEngine(self.clock)
        self.tmp = tmp
        self.wakes = 0
        self.bucket = TokenBucket(rate, self.clock)
        self.worker = self.new_worker()

    @classmethod
    async def create(cls, tmp: Path, rate: int = 100_000) -> Rig:
        rig = cls(tmp, rate)
        await rig.storage.open()
        session = SessionRecord(
            id=SID, name="s", engine="fake", config={}, status="connected", created_at=0
        )
        await rig.storage.create_session(session, b"", [rig.endpoint])
        return rig

    async def close(self) -> None:
        await self.worker.stop()
        await self.storage.close()

    async def messages(self) -> list[MessageRecord]:
        """The session's messages, oldest first."""
        found, _ = await self.storage.list_messages(SID, MessageFilter(), limit=1000)
        return found[::-1]

    async def message(self, message_id: str) -> MessageRecord:
        found = await self.storage.get_message(SID, message_id)
        assert found is not None
        return found

    async def events(self) -> list[Event]:
        deliveries = await self.storage.list_deliveries(SID, limit=1000)
        return [d.event for d in sorted(deliveries, key=lambda d: d.seq)]

    async def queued(self) -> tuple[Optional[str], int]:
        """The head of the queue and how many entries it holds."""
        item = await self.storage.next_queued(SID)
        return (None if item is None else item.message_id), await self.storage.queue_depth(SID)

    async def queue_empty(self) -> bool:
        return await self.storage.queue_depth(SID) == 0

    def new_worker(self) -> SendWorker:
        def wake() -> None:
            self.wakes += 1

        return SendWorker(
            SID,
            self.storage,
            self.engine,  # type: ignore[arg-type]
            MediaStore(self.tmp / "media", make_vault()),
            self.bucket,
            GatewayMetrics(),
            wake=wake,
            scratch=self.tmp / "scratch",
            sleep=self.clock.sleep,
        )

    async def enqueue(self, text: str) -> str:
        mid = f"msg_{text}"
        self.enqueued += 1  # the history lists by timestamp: the enqueue order
        message = MessageRecord(
            id=mid,
            session_id=SID,
            direction="outbound",
            peer="peer",
            type="text",
            text=text,
            status="queued",
            timestamp=self.enqueued,
        )
        item = QueueItem(
            seq=0,
            session_id=SID,
            message_id=mid,
            request=OutboundRequest(to="peer", text=text),
            enqueued_at=0,
        )
        await self.storage.enqueue_send(message, item, max_depth=1000)
        self.worker.kick()
        return mid


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    r = await Rig.create(tmp_path)
    try:
        yield r
    finally:
        await r.close()


async def test_concurrent_callers_are_sent_in_queue_order_one_at_a_time(rig: Rig) -> None:
    rig.worker.start()

    async def caller(name: str) -> None:
        for i in range(15):
            await rig.enqueue(f"{name}{i}")

    await asyncio.gather(caller("a"), caller("b"))
    await eventually(lambda: len(rig.engine.sent) == 30, what="all sent")
    # The last outcome is recorded just after its send returns: wait for it too.
    await eventually_async(rig.queue_empty, what="every outcome recorded")
    order = [mid for mid, _, _ in rig.engine.sent]
    messages = await rig.messages()
    assert order == [f"msg_{m.text}" for m in messages]
    assert [x for x in order if x.startswith("msg_a")] == [f"msg_a{i}" for i in range(15)]
    assert not rig.engine.overlap
    assert all(m.status == "sent" for m in messages)
    statuses = [e.data for e in await rig.events() if e.type == "message.status"]
    assert len(statuses) == 30 and rig.wakes >= 30


async def test_pacing_follows_the_bucket(tmp_path: Path) -> None:
    rig = await Rig.create(tmp_path, rate=60)  # one a second after a burst of 6
    try:
        for i in range(10):
            await rig.enqueue(f"m{i}")
        rig.worker.start()
        await eventually(lambda: len(rig.engine.sent) == 10, what="all sent")
        times = [t for _, _, t in rig.engine.sent]
        assert times[:6] == [0.0] * 6
        gaps = [b - a for a, b in zip(times[5:], times[6:])]
        assert all(g == pytest.approx(1.0) for g in gaps)
    finally:
        await rig.close()


async def test_a_transient_failure_keeps_the_message_first(rig: Rig) -> None:
    rig.engine.failures = [ConnectionError("dropped")]
    await rig.enqueue("one")
    await rig.enqueue("two")
    rig.worker.start()
    await eventually(lambda: len(rig.engine.sent) == 2, timeout=15, what="both sent")
    assert [mid for mid, _, _ in rig.engine.sent] == ["msg_one", "msg_two"]


async def test_a_final_refusal_fails_the_message_with_its_reason(rig: Rig) -> None:
    rig.engine.failures = [SendRefused("no such user")]
    mid = await rig.enqueue("bad")
    await rig.enqueue("good")
    rig.worker.start()
    await eventually(lambda: len(rig.engine.sent) == 1, what="the next one goes")
    failed = await rig.message(mid)
    assert (failed.status, failed.reason) == ("failed", "no such user")
    event = next(e for e in await rig.events() if e.data.get("id") == mid)
    assert event.data == {"id": mid, "status": "failed", "reason": "no such user"}
    session = await rig.storage.get_session(SID)
    assert session is not None and session.counters.failed == 1


async def test_a_disconnected_engine_waits_for_the_kick(rig: Rig) -> None:
    rig.engine.connected = False
    await rig.enqueue("later")
    rig.worker.start()
    for _ in range(20):
        await asyncio.sleep(0)
    assert rig.engine.sent == []
    rig.engine.connected = True
    rig.worker.kick()
    await eventually(lambda: len(rig.engine.sent) == 1, what="sent once connected")


async def test_the_crash_window_resends_under_the_same_id(rig: Rig) -> None:
    # Sent, then the process dies before finish_send commits: the item is still queued.
    # Every recording fails until the "restart" (no race with the worker's retry).
    rig.storage.fail_finish = 1_000_000
    mid = await rig.enqueue("once")
    rig.worker.start()
    await eventually(lambda: len(rig.engine.known) == 1, what="handed to the network")
    await rig.worker.stop()
    assert await rig.queued() == (mid, 1)
    rig.storage.fail_finish = 0
    # After the restart the same id goes to the engine, which recognises it.
    rig.worker = rig.new_worker()
    rig.worker.start()
    await eventually_async(rig.queue_empty, what="finished after the restart")
    assert [m for m, _, _ in rig.engine.sent] == [mid]
    assert (await rig.message(mid)).status == "sent"


async def test_a_recording_failure_is_retried_without_resending(rig: Rig) -> None:
    rig.storage.fail_finish = 1
    mid = await rig.enqueue("once")
    rig.worker.start()
    await eventually_async(rig.queue_empty, timeout=15, what="recorded")
    assert [m for m, _, _ in rig.engine.sent] == [mid]


async def test_a_new_rate_takes_effect_while_waiting_for_a_token(tmp_path: Path) -> None:
    rig = await Rig.create(tmp_path)
    rig.bucket = TokenBucket(1)  # one a minute, on the real clock
    rig.worker = SendWorker(
        SID,
        rig.storage,
        rig.engine,  # type: ignore[arg-type]
        MediaStore(tmp_path / "media", make_vault()),
        rig.bucket,
        GatewayMetrics(),
        wake=lambda: None,
        scratch=tmp_path / "scratch",
    )
    try:
        await rig.enqueue("first")
        await rig.enqueue("second")
        rig.worker.start()
        await eventually(lambda: len(rig.engine.sent) == 1, what="the first goes")
        rig.bucket.set_rate(6000)
        rig.worker.kick()
        await eventually(
            lambda: len(rig.engine.sent) == 2, what="the second without a minute's wait"
        )
    finally:
        await rig.close()


async def test_stop_ends_the_worker_even_when_kicked_in_the_same_step(tmp_path: Path) -> None:
    """The gateway's restart: the worker naps for a token, a kick and the stop's cancel land
    together. The stop must not be lost (the worker would nap again, and stop() hang)."""
    rig = await Rig.create(tmp_path)
    rig.bucket = TokenBucket(1)  # one a minute, on the real clock
    rig.worker = SendWorker(
        SID,
        rig.storage,
        rig.engine,  # type: ignore[arg-type]
        MediaStore(tmp_path / "media", make_vault()),
        rig.bucket,
        GatewayMetrics(),
        wake=lambda: None,
        scratch=tmp_path / "scratch",
    )
    try:
        await rig.enqueue("first")
        await rig.enqueue("second")
        rig.worker.start()
        await eventually(lambda: len(rig.engine.sent) == 1, what="the first goes")
        await asyncio.sleep(0.05)  # the worker now naps for the next token
        rig.worker.kick()
        stopping = asyncio.ensure_future(rig.worker.stop())
        done, _ = await asyncio.wait({stopping}, timeout=10)
        assert done == {stopping}, "stop() did not return"
        assert len(rig.engine.sent) == 1
    finally:
        await rig.close()

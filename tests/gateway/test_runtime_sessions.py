"""The session runtime (an engine's listener) and the manager's start-up, with scripted
engines over the real SQLite storage: inbound media sealed or refused on a full disk,
receipts, statuses, orphans."""

from __future__ import annotations

import errno
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any, Optional

import pytest

from tests.gateway._runtime_support import make_vault
from tests.gateway._store_support import endpoint
from whatsapp_client.gateway._engine import EngineListener, InboundMedia, InboundMessage
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
from whatsapp_client.gateway._session_runtime import SessionRuntime
from whatsapp_client.gateway._sessions import SessionManager
from whatsapp_client.gateway._settings import GatewaySettings
from whatsapp_client.gateway._sqlite import SqliteStorage

SID = "ses_1"


def session(sid: str = SID, *, running: bool = True, engine: str = "fake") -> SessionRecord:
    return SessionRecord(
        id=sid,
        name=sid,
        engine=engine,
        config={},
        status="connecting",
        running=running,
        created_at=0,
    )


async def open_storage(tmp: Path) -> SqliteStorage:
    storage = SqliteStorage(tmp / "db", make_vault())
    await storage.open()
    return storage


async def stored(storage: SqliteStorage, sid: str) -> SessionRecord:
    record = await storage.get_session(sid)
    assert record is not None
    return record


class Rig:
    """Its session has one endpoint subscribed to every event: events are read back from it."""

    def __init__(self, tmp: Path, storage: SqliteStorage) -> None:
        self.storage = storage
        self.media = MediaStore(tmp / "media", make_vault())
        self.metrics = GatewayMetrics()
        self.wakes = 0
        self.seen: list[tuple[str, str]] = []
        self.runtime = SessionRuntime(
            SID,
            self.storage,
            self.media,
            self.metrics,
            wake=self.wake,
            base_url="https://gw.example/",
            on_status=lambda sid, status: self.seen.append((sid, status)),
        )

    def wake(self) -> None:
        self.wakes += 1

    async def messages(self) -> list[MessageRecord]:
        found, _ = await self.storage.list_messages(SID, MessageFilter(), limit=1000)
        return found

    async def events(self) -> list[Event]:
        deliveries = await self.storage.list_deliveries(SID, limit=1000)
        return [d.event for d in sorted(deliveries, key=lambda d: d.seq)]


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    storage = await open_storage(tmp_path)
    try:
        await storage.create_session(session(), b"", [endpoint(SID)])
        yield Rig(tmp_path, storage)
    finally:
        await storage.close()


def inbound(tmp: Path, mid: str, data: Optional[bytes] = None) -> InboundMessage:
    media = None
    if data is not None:
        path = tmp / f"in-{mid}"
        path.write_bytes(data)
        media = InboundMedia(path=path, mime="image/png", size=len(data), filename="p.png")
    return InboundMessage(
        engine_message_id=mid,
        sender="user-1",
        sender_name="alice",
        type="image" if data is not None else "text",
        text=None if data is not None else "hello",
        caption="c" if data is not None else None,
        timestamp=5,
        media=media,
    )


async def test_inbound_media_is_sealed_and_announced(tmp_path: Path, rig: Rig) -> None:
    msg = inbound(tmp_path, "m1", b"\x89PNG" + b"x" * 70_000)
    await rig.runtime.on_message(msg)
    assert msg.media is not None and not msg.media.path.exists()
    [record] = await rig.messages()
    assert record.media is not None and record.media.size == 70_004
    [event] = await rig.events()
    media = event.data["media"]
    assert isinstance(media, dict)
    assert media["url"] == f"https://gw.example/api/v1/sessions/{SID}/media/{record.media.media_id}"
    assert event.data["from_name"] == "alice" and event.data["caption"] == "c"
    assert (await stored(rig.storage, SID)).counters.received == 1 and rig.wakes == 1
    # The same message again: nothing new, and its second copy of the media is removed.
    again = inbound(tmp_path, "m1", b"\x89PNG" + b"x" * 10)
    await rig.runtime.on_message(again)
    assert len(await rig.messages()) == 1 and len(await rig.events()) == 1
    assert len(list((tmp_path / "media" / SID).iterdir())) == 1


async def test_a_full_disk_records_the_message_without_media_and_reports(
    tmp_path: Path, rig: Rig, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    def full(*args: Any) -> Any:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(rig.media, "_write", full)
    msg = inbound(tmp_path, "m1", b"\x89PNG" + b"x" * 100)
    await rig.runtime.on_message(msg)
    assert msg.media is not None and not msg.media.path.exists()
    [record] = await rig.messages()
    assert record.media is None and record.caption == "c"
    events = await rig.events()
    assert [e.type for e in events] == ["error", "message.received"]
    assert events[0].data["code"] == "storage_full"
    assert "disk full" in caplog.text


async def test_receipts_move_forward_only(rig: Rig) -> None:
    # An outbound message the engine has sent (queued, then its send recorded, no event).
    message = MessageRecord(
        id="msg_1",
        session_id=SID,
        direction="outbound",
        peer="p",
        type="text",
        text="t",
        status="queued",
        timestamp=1,
    )
    item = QueueItem(
        seq=0,
        session_id=SID,
        message_id="msg_1",
        request=OutboundRequest(to="p", text="t"),
        enqueued_at=1,
    )
    await rig.storage.enqueue_send(message, item, max_depth=10)
    head = await rig.storage.next_queued(SID)
    assert head is not None
    await rig.storage.finish_send(head, "sent", engine_message_id="msg_1", reason=None, event=None)
    await rig.runtime.on_message_status("msg_1", "read", 10)
    await rig.runtime.on_message_status("msg_1", "delivered", 11)
    await rig.runtime.on_message_status("msg_1", "sent", 12)
    await rig.runtime.on_message_status("unknown", "read", 13)
    read = await rig.storage.get_message(SID, "msg_1")
    assert read is not None and read.status == "read"
    # The storage writes the receipt's time into the event too.
    assert [e.data for e in await rig.events()] == [
        {"id": "msg_1", "status": "read", "timestamp": 10}
    ]
    assert rig.wakes == 1


async def test_statuses_are_recorded_with_their_event(rig: Rig) -> None:

    class Engine:
        user_id = "user-42"

    rig.runtime.engine = Engine()  # type: ignore[assignment]
    await rig.runtime.on_status("connected", None)
    await rig.runtime.on_status("failed", "5 connection attempts failed")
    record = await stored(rig.storage, SID)
    assert (record.status, record.status_reason, record.user_id) == (
        "failed",
        "5 connection attempts failed",
        "user-42",
    )
    assert [e.data for e in await rig.events()] == [
        {"status": "connected", "reason": None},
        {"status": "failed", "reason": "5 connection attempts failed"},
    ]
    assert rig.seen == [(SID, "connected"), (SID, "failed")]


class IdleEngine:
    name = "fake"
    connected = False

    def __init__(self) -> None:
        self.started = self.stopped = 0

    async def start(self) -> None:
        self.started += 1

    async def stop(self) -> None:
        self.stopped += 1

    async def erase(self) -> None:
        return None


class Factory:
    name = "fake"

    def __init__(self) -> None:
        self.engines: list[IdleEngine] = []
        self.broken = False

    def validate(self, spec: Mapping[str, object]) -> tuple[dict[str, str], bytes]:
        return {}, b""

    def build(
        self,
        session_id: str,
        config: Mapping[str, str],
        credentials: bytes,
        directory: Path,
        listener: EngineListener,
        *,
        register: bool,
    ) -> IdleEngine:
        if self.broken:
            raise RuntimeError("cannot build")
        engine = IdleEngine()
        self.engines.append(engine)
        return engine


async def test_restore_starts_running_sessions_and_sweeps_deleted_ones(tmp_path: Path) -> None:
    storage = await open_storage(tmp_path)
    try:
        await restore_and_restart(storage, tmp_path)
    finally:
        await storage.close()


async def restore_and_restart(storage: SqliteStorage, tmp_path: Path) -> None:
    for record in (
        session("ses_a"),
        session("ses_b", running=False),
        session("ses_c", engine="gone"),
    ):
        await storage.create_session(record, b"", [])
    orphan = tmp_path / "sessions" / "ses_deleted"
    orphan.mkdir(parents=True)
    (orphan / "keys").write_bytes(b"x")
    factory = Factory()
    manager = SessionManager(
        storage,
        MediaStore(tmp_path / "media", make_vault()),
        GatewaySettings(),
        GatewayMetrics(),
        {"fake": factory},  # type: ignore[dict-item]
        wake=lambda: None,
        data_dir=tmp_path,
    )
    await manager.restore()
    assert not orphan.exists()
    assert manager.runtime("ses_a") is not None and manager.runtime("ses_b") is None
    assert [e.started for e in factory.engines] == [1]
    gone = await stored(storage, "ses_c")
    assert gone.status == "failed"
    assert "unknown engine" in (gone.status_reason or "")
    await manager.close()
    assert [e.stopped for e in factory.engines] == [1]
    # Closing the gateway is not stopping a session.
    assert (await stored(storage, "ses_a")).running
    factory.broken = True
    await manager.restart("ses_b")
    assert manager.runtime("ses_b") is None
    record = await stored(storage, "ses_b")
    assert (record.status, record.status_reason) == ("failed", "could not be started: cannot build")
    assert record.running


async def test_a_failing_storage_never_reaches_the_engine(
    tmp_path: Path, rig: Rig, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    # The real storage with just its event-writing methods made to fail.

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise OSError("database is locked")

    for name in (
        "set_session_status",
        "record_inbound",
        "set_message_status",
        "add_events",
        "save_media",
    ):
        monkeypatch.setattr(rig.storage, name, broken)
    await rig.runtime.on_status("connected", None)
    msg = inbound(tmp_path, "m1", b"\x89PNG" + b"y" * 100)
    await rig.runtime.on_message(msg)
    await rig.runtime.on_message_status("msg_1", "delivered", 1)
    await rig.runtime.on_error("x", "y", {})
    assert rig.wakes == 0
    assert msg.media is not None and not msg.media.path.exists()
    assert list((tmp_path / "media" / SID).iterdir()) == []
    for logged in (
        "cannot record status connected",
        "cannot record received message",
        "cannot record a delivered receipt",
        "cannot record an error event (x)",
    ):
        assert logged in caplog.text
    assert "cannot store received media" in caplog.text


async def test_plaintext_left_by_a_crash_is_removed_at_start(tmp_path: Path) -> None:
    storage = await open_storage(tmp_path)
    try:
        await crash_leftover_is_removed(storage, tmp_path)
    finally:
        await storage.close()


async def crash_leftover_is_removed(storage: SqliteStorage, tmp_path: Path) -> None:
    await storage.create_session(session("ses_a"), b"", [])
    leftover = tmp_path / "sessions" / "ses_a" / "tmp" / "send-med_x"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"plaintext")
    manager = SessionManager(
        storage,
        MediaStore(tmp_path / "media", make_vault()),
        GatewaySettings(),
        GatewayMetrics(),
        {"fake": Factory()},  # type: ignore[dict-item]
        wake=lambda: None,
        data_dir=tmp_path,
    )
    await manager.restore()
    assert not leftover.exists()
    await manager.close()

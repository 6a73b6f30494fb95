"""Record factories and the ``backend`` fixture of the storage tests.

Test modules register the fixture by importing ``backend_fixture`` (it is named
``backend``): each test runs on SQLite (a fresh data directory) and on PostgreSQL (a fresh
database of the session's throwaway server, ``pg_database`` in conftest).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pytest

from whatsapp_client.gateway._ids import new_id, now_ms
from whatsapp_client.gateway._models import (
    Event,
    EventType,
    IdempotentAnswer,
    MediaInfo,
    MessageRecord,
    OutboundRequest,
    QueueItem,
    SessionRecord,
    WebhookEndpoint,
)
from whatsapp_client.gateway._pg import PostgresStorage
from whatsapp_client.gateway._sqlite import SqliteStorage
from whatsapp_client.gateway._storage import Storage
from whatsapp_client.gateway._vault import Vault

KEY = bytes(range(32))

ALL_EVENTS: list[EventType] = ["message.received", "message.status", "session.status", "error"]


def session(name: Optional[str] = None, **kw: object) -> SessionRecord:
    sid = new_id("ses")
    fields: dict[str, object] = {
        "id": sid,
        "name": name or f"name-{sid}",
        "engine": "wac1",
        "config": {"server_url": "http://127.0.0.1:1", "username": "alice"},
        "status": "connecting",
        "created_at": now_ms(),
    }
    fields.update(kw)
    return SessionRecord(**fields)  # type: ignore[arg-type]


def endpoint(
    session_id: str, events: Optional[list[EventType]] = None, secret: str = "whsec_c2VjcmV0"
) -> WebhookEndpoint:
    return WebhookEndpoint(
        id=new_id("whk"),
        session_id=session_id,
        url="http://127.0.0.1:9/hook",
        events=list(ALL_EVENTS if events is None else events),
        secrets=[secret],
        created_at=now_ms(),
    )


def outbound(session_id: str, text: str = "hello", ts: Optional[int] = None) -> MessageRecord:
    return MessageRecord(
        id=new_id("msg"),
        session_id=session_id,
        direction="outbound",
        peer="u_bob",
        type="text",
        text=text,
        status="queued",
        timestamp=now_ms() if ts is None else ts,
    )


def queue_item(message: MessageRecord) -> QueueItem:
    return QueueItem(
        seq=0,
        session_id=message.session_id,
        message_id=message.id,
        request=OutboundRequest(to=message.peer, text=message.text),
        enqueued_at=message.timestamp,
    )


def inbound(
    session_id: str,
    engine_id: str,
    *,
    peer: str = "u_carol",
    sender: Optional[str] = None,
    group_id: Optional[str] = None,
    text: str = "hi",
    ts: Optional[int] = None,
) -> MessageRecord:
    return MessageRecord(
        id=new_id("msg"),
        session_id=session_id,
        direction="inbound",
        peer=peer,
        sender=sender,
        group_id=group_id,
        type="text",
        text=text,
        status="received",
        timestamp=now_ms() if ts is None else ts,
        engine_message_id=engine_id,
    )


def event(session_id: str, type_: EventType = "message.received", **data: object) -> Event:
    return Event(
        id=new_id("evt"), type=type_, session_id=session_id, timestamp=now_ms(), data=dict(data)
    )


# --- the backend fixture and helpers over the Storage protocol ------------------------------


@dataclass
class Backend:
    storage: Storage
    # Closes and opens the storage again (a restart), optionally with another vault.
    reopen: Callable[..., Awaitable[Storage]]
    # Everything the backend wrote to disk, for "never in clear" checks.
    raw: Callable[[], bytes]
    # Another storage opened on the same database (another gateway process's), closed
    # with the fixture.
    another: Callable[[], Awaitable[Storage]]


def _sqlite_files(data_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(data_dir.iterdir()) if p.is_file())


BACKENDS = ["sqlite", "postgres"]


async def pg_tables_raw(dsn: str) -> bytes:
    """Every value of every table of the database, byte strings as they are stored (not
    hex-escaped), the rest as text: what "never in clear" checks look through."""
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        names = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        )
        parts: list[bytes] = []
        for (name,) in names:
            for row in await conn.fetch(f'SELECT * FROM "{name}"'):
                for value in row.values():
                    parts.append(value if isinstance(value, bytes) else str(value).encode())
        return b"\n".join(parts)
    finally:
        await conn.close()


async def open_storage(kind: str, where: str, key: bytes = KEY) -> Storage:
    """An opened storage of ``kind`` on the data directory or DSN ``where``."""
    vault = Vault.from_key(key)
    storage: Storage = (
        PostgresStorage(where, vault) if kind == "postgres" else SqliteStorage(where, vault)
    )
    await storage.open()
    return storage


@pytest.fixture(params=BACKENDS, name="backend")
async def backend_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    kind: str = request.param
    where = str(tmp_path)
    if kind == "postgres":
        where = request.getfixturevalue("pg_database")
    raw_copy: list[bytes] = []
    current: list[Storage] = [await open_storage(kind, where)]

    async def reopen(key: bytes = KEY) -> Storage:
        await current[0].close()
        current[0] = await open_storage(kind, where, key)
        box.storage = current[0]
        if kind == "postgres":  # read while nothing is being written
            raw_copy[:] = [await pg_tables_raw(where)]
        return current[0]

    def raw() -> bytes:
        if kind == "postgres":
            assert raw_copy, "reopen() first: it reads the tables"
            return raw_copy[0]
        return _sqlite_files(tmp_path)

    others: list[Storage] = []

    async def another() -> Storage:
        others.append(await open_storage(kind, where))
        return others[-1]

    box = Backend(current[0], reopen, raw, another)
    yield box
    for other in others:
        await other.close()
    await current[0].close()


async def make_session(s: Storage, *hooks: list[str] | None) -> tuple[str, list[str]]:
    rec = session()
    endpoints = [endpoint(rec.id, h) for h in hooks]  # type: ignore[arg-type]
    await s.create_session(rec, b"credentials", endpoints)
    return rec.id, [e.id for e in endpoints]


async def enqueue(s: Storage, sid: str, text: str = "hello", **kw: object) -> tuple[str, int]:
    m = outbound(sid, text)
    position = await s.enqueue_send(m, queue_item(m), max_depth=100, **kw)  # type: ignore[arg-type]
    return m.id, position


def pair(sid: str) -> tuple:  # type: ignore[type-arg]
    m = outbound(sid)
    return m, queue_item(m)


def answer(ttl_ms: int = 60_000) -> IdempotentAnswer:
    return IdempotentAnswer(status=202, body=b'{"id":"msg_x"}', expires_at=now_ms() + ttl_ms)


def media_info(media_id: str) -> MediaInfo:
    return MediaInfo(media_id=media_id, mime="image/png", size=10, filename="cat.png", sha256="00")

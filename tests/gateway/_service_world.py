"""A world for the Gateway service tests: a reference server, a gateway on SQLite with the
wac1 engine, and helpers to read what it stored."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import msgspec

from tests.gateway._runtime_support import PASSWORD, make_vault, unique_name, wac1_factory
from tests.support import eventually_async
from whatsapp_client.gateway._metrics import GatewayMetrics
from whatsapp_client.gateway._models import Event, MessageFilter, MessageRecord, SessionRecord
from whatsapp_client.gateway._requests import (
    CreateSession,
    WebhookSpec,
)
from whatsapp_client.gateway._service import Gateway
from whatsapp_client.gateway._settings import GatewaySettings
from whatsapp_client.gateway._sqlite import SqliteStorage
from whatsapp_client.server.testing import ServerHandle


class World:
    def __init__(self, server: ServerHandle, tmp: Path) -> None:
        self.server = server
        self.tmp = tmp
        self.vault = make_vault()
        self.storage = SqliteStorage(tmp / "db", self.vault)
        self.wakes = 0
        self.settings = GatewaySettings(data_dir=str(tmp / "gw"), max_file_bytes=300_000)
        self.max_failures = 3
        self.gateway = self.make()

    def make(self) -> Gateway:
        def wake() -> None:
            self.wakes += 1

        self.metrics = GatewayMetrics()
        return Gateway(
            self.settings,
            self.storage,
            self.vault,
            self.metrics,
            engines={"wac1": wac1_factory(max_failures=self.max_failures)},
            wake=wake,
        )

    async def session(self, prefix: str, *, hooked: bool = False, **extra: Any) -> SessionRecord:
        """``hooked``: with an endpoint taking every event (nothing posts in these tests), so
        the session's events can be read back as its deliveries."""
        if hooked:
            extra["webhooks"] = [WebhookSpec(url="http://127.0.0.1:9/events")]
        spec = CreateSession(
            name=unique_name(prefix),
            engine="wac1",
            server_url=self.server.url,
            username=unique_name(prefix),
            password=PASSWORD,
            register=True,
            **extra,
        )
        record, _ = await self.gateway.create_session(spec)
        await eventually_async(lambda: self.has_status(record.id, "connected"), what="connected")
        return await self.gateway.get_session(record.id)

    async def has_status(self, session_id: str, status: str) -> bool:
        record = await self.storage.get_session(session_id)
        assert record is not None
        return record.status == status

    async def history(self, session_id: str) -> list[MessageRecord]:
        """The session's messages, oldest first."""
        found, _ = await self.storage.list_messages(session_id, MessageFilter(), limit=1000)
        return found[::-1]

    async def history_has(self, session_id: str, count: int) -> bool:
        return len(await self.history(session_id)) == count

    async def message(self, session_id: str, message_id: str) -> MessageRecord:
        found = await self.storage.get_message(session_id, message_id)
        assert found is not None
        return found

    async def message_has(self, session_id: str, message_id: str, status: str) -> bool:
        return (await self.message(session_id, message_id)).status == status

    async def events(self, session_id: str) -> list[Event]:
        """The events of a ``hooked`` session, in order."""
        deliveries = await self.storage.list_deliveries(session_id, limit=1000)
        return [d.event for d in sorted(deliveries, key=lambda d: d.seq)]

    def media_records(self) -> int:
        """Media records of every session. The storage has no listing of them, so this one
        count is read from its database file directly (read-only)."""
        conn = sqlite3.connect(f"file:{self.storage.path}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT count(*) FROM media").fetchone()
        finally:
            conn.close()
        return int(row[0])


def stored_files(folder: Path) -> list[bytes]:
    return [p.read_bytes() for p in folder.rglob("*") if p.is_file()]


def accepted(answer: tuple[int, bytes]) -> dict[str, Any]:
    status, body = answer
    assert status == 202
    data: dict[str, Any] = msgspec.json.decode(body)
    assert data["status"] == "queued"
    return data

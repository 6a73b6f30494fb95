"""What the API tests share: a gateway run in-process on a loopback port with an admin key,
HTTP helpers that return the status and decoded JSON, and a webhook receiver."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Optional

import aiohttp
import pytest
from aiohttp import web

from whatsapp_client.gateway._app import Components, create_app
from whatsapp_client.gateway._settings import GatewaySettings
from whatsapp_client.gateway._wiring import build_components

ADMIN_KEY = "wag_test-admin-Kq8vZ2mT5rW9xN3bL7cH1dF4gJ6"

# Short delays and no throttling surprises; each test overrides what it checks.
GATEWAY_SETTINGS: dict[str, Any] = {
    "host": "127.0.0.1",
    "port": 0,
    "api_keys": ADMIN_KEY,
    "reconnect_base_delay": 0.02,
    "reconnect_max_delay": 0.2,
    "rate_limit_per_minute": 6000,
    "log_level": "WARNING",
}


# The storage of the gateways this test starts: empty for SQLite in the data directory, or
# {"database": dsn}; set for one test by the ``gateway_backend`` fixture (conftest), so
# every gateway a test starts, and restarts, uses the same database.
BACKEND: dict[str, Any] = {}


# Marks a test that starts gateways itself (not through the ``gateway`` fixture) to run on
# both storage backends.
ON_BOTH_BACKENDS = pytest.mark.usefixtures("gateway_backend")


async def query_store(data_dir: Path, sql: str) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` (plain SQL both backends accept) read from the records of the test's
    gateway: its PostgreSQL database, or the SQLite file in ``data_dir``."""
    if "database" in BACKEND:
        import asyncpg

        conn = await asyncpg.connect(BACKEND["database"])
        try:
            return [tuple(r) for r in await conn.fetch(sql)]
        finally:
            await conn.close()
    import sqlite3

    db = sqlite3.connect(data_dir / "gateway.sqlite3")
    try:
        return [tuple(r) for r in db.execute(sql).fetchall()]
    finally:
        db.close()


async def stored_bytes(data_dir: Path) -> bytes:
    """Everything the test's gateway keeps: the files of ``data_dir`` and, on PostgreSQL,
    every value of its tables (see ``_store_support.pg_tables_raw``)."""
    from tests.gateway._store_support import pg_tables_raw

    parts = await asyncio.to_thread(
        lambda: [p.read_bytes() for p in sorted(data_dir.rglob("*")) if p.is_file()]
    )
    if "database" in BACKEND:
        parts.append(await pg_tables_raw(BACKEND["database"]))
    return b"\n".join(parts)


@dataclasses.dataclass
class Answer:
    status: int
    body: Any
    headers: Any
    raw: bytes

    @property
    def code(self) -> Optional[str]:
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
            code = self.body["error"].get("code")
            return code if isinstance(code, str) else None
        return None


# Every session's client: cheap key derivation and short delays.
CLIENT_OPTIONS: dict[str, Any] = {
    "kdf_memory_kib": 64,
    "kdf_iterations": 1,
    "durability": "fast",
    "reconnect_jitter": 0.1,
    "http_retry_backoff": 0.05,
    "send_timeout": 5.0,
    "connect_timeout": 5.0,
}


class GatewayHandle:
    """A running gateway: ``url``, ``settings``; ``call`` makes a request with a key
    (the admin key unless given) and returns an :class:`Answer`; ``restart`` keeps the
    data directory and port. ``components`` None: the real ones, made at each start."""

    def __init__(self, settings: GatewaySettings, components: Optional[Components] = None) -> None:
        self.settings = settings
        self.fixed_components = components
        self.components: Optional[Components] = None
        self.announced: list[str] = []
        # The first admin's (email, password) when the gateway made one up.
        self.announced_admin: list[tuple[str, str]] = []
        self.runner: Optional[web.AppRunner] = None
        self.port = settings.port
        self.http = aiohttp.ClientSession()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        settings = dataclasses.replace(self.settings, port=self.port)
        self.components = self.fixed_components or build_components(
            settings, Path(settings.data_dir), client_options=CLIENT_OPTIONS
        )
        app = create_app(
            settings,
            components=self.components,
            announce=self.announced.append,
            announce_password=lambda email, password: self.announced_admin.append(
                (email, password)
            ),
        )
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", self.port)
        await site.start()
        if self.port == 0:
            server = site._server
            assert isinstance(server, asyncio.base_events.Server)
            self.port = int(server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        runner, self.runner = self.runner, None
        if runner is not None:
            await runner.cleanup()

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def close(self) -> None:
        await self.stop()
        await self.http.close()

    async def call(
        self,
        method: str,
        path: str,
        *,
        key: Optional[str] = ADMIN_KEY,
        json_body: Any = None,
        data: Any = None,
        headers: Optional[dict[str, str]] = None,
        params: Optional[dict[str, str]] = None,
    ) -> Answer:
        sent = dict(headers or {})
        if key is not None:
            sent["X-API-Key"] = key
        async with self.http.request(
            method, self.url + path, json=json_body, data=data, headers=sent, params=params
        ) as response:
            raw = await response.read()
            body: Any = None
            if response.content_type == "application/json" and raw:
                body = json.loads(raw)
            return Answer(response.status, body, response.headers, raw)


@asynccontextmanager
async def running_gateway(
    data_dir: Path, components: Optional[Components] = None, **settings: Any
) -> AsyncIterator[GatewayHandle]:
    values = {**GATEWAY_SETTINGS, **BACKEND, **settings, "data_dir": str(data_dir)}
    handle = GatewayHandle(GatewaySettings(**values), components)
    try:
        await handle.start()
        yield handle
    finally:
        await handle.close()


class Receiver:
    """A webhook receiver on loopback: records every request; answers ``status`` (a
    test may change it, or set ``statuses`` to answer one after the other)."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.status = 200
        self.statuses: list[int] = []
        self.arrived = asyncio.Event()
        self.runner: Optional[web.AppRunner] = None
        self.url = ""

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.requests.append((dict(request.headers), body))
        self.arrived.set()
        status = self.statuses.pop(0) if self.statuses else self.status
        return web.Response(status=status)

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.requests]

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.base_events.Server)
        self.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hook"

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


_names = itertools.count()
PASSWORD = "correct horse battery"


def unique_name(prefix: str = "gw") -> str:
    return f"{prefix}{os.getpid() % 1000}_{next(_names)}"


async def create_session(
    gw: GatewayHandle,
    chat_url: str,
    *,
    username: Optional[str] = None,
    webhooks: Optional[list[dict[str, Any]]] = None,
    **extra: Any,
) -> dict[str, Any]:
    """Creates (and registers) a session on the chat server; returns the 201 answer."""
    name = username or unique_name()
    body: dict[str, Any] = {
        "name": name,
        "engine": "wac1",
        "server_url": chat_url,
        "username": name,
        "password": PASSWORD,
        "register": True,
        **extra,
    }
    if webhooks is not None:
        body["webhooks"] = webhooks
    answer = await gw.call("POST", "/api/v1/sessions", json_body=body)
    assert answer.status == 201, answer.body
    assert isinstance(answer.body, dict)
    return answer.body


async def wait_status(
    gw: GatewayHandle, session_id: str, status: str, timeout: float = 20.0
) -> dict[str, Any]:
    """Polls the session until it has ``status``; returns it."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        answer = await gw.call("GET", f"/api/v1/sessions/{session_id}")
        assert answer.status == 200, answer.body
        if answer.body["status"] == status:
            return dict(answer.body)
        if loop.time() > end:
            raise AssertionError(f"session {session_id} is {answer.body['status']}, not {status}")
        await asyncio.sleep(0.05)


async def wait_for(cond: Any, timeout: float = 20.0, what: str = "condition") -> None:
    """Polls an async ``cond()`` until it is true."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not await cond():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def snapshot(gw: GatewayHandle, session_ids: list[str]) -> Any:
    """What a refused request must not change: sessions, keys, each session's history and
    queue depth."""
    sessions = await gw.call("GET", "/api/v1/sessions")
    keys = await gw.call("GET", "/api/v1/keys")
    state: list[Any] = [
        sorted(
            (s["id"], s["name"], s["rate_limit_per_minute"], s["running"])
            for s in sessions.body["sessions"]
        ),
        sorted(k["id"] for k in keys.body["keys"]),
    ]
    for sid in session_ids:
        one = await gw.call("GET", f"/api/v1/sessions/{sid}")
        history = await gw.call("GET", f"/api/v1/sessions/{sid}/messages")
        state.append(
            (
                one.body.get("queue_depth"),
                [w["url"] for w in one.body.get("webhooks", [])],
                [(m["id"], m["status"]) for m in history.body["messages"]],
            )
        )
    return state

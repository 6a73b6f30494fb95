"""What the API tests share: a gateway run in-process on a loopback port with an admin key,
HTTP helpers that return the status and decoded JSON, and a webhook receiver."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Optional

import aiohttp
from aiohttp import web

from whatsapp_client.gateway._app import Components, create_app
from whatsapp_client.gateway._settings import GatewaySettings

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


class GatewayHandle:
    """A running gateway: ``url``, ``settings``; ``call`` makes a request with a key
    (the admin key unless given) and returns an :class:`Answer`; ``restart`` keeps the
    data directory and port."""

    def __init__(self, settings: GatewaySettings, components: Optional[Components] = None) -> None:
        self.settings = settings
        self.components = components
        self.announced: list[str] = []
        self.runner: Optional[web.AppRunner] = None
        self.port = settings.port
        self.http = aiohttp.ClientSession()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        app = create_app(
            dataclasses.replace(self.settings, port=self.port),
            components=self.components,
            announce=self.announced.append,
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
    values = {**GATEWAY_SETTINGS, **settings, "data_dir": str(data_dir)}
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

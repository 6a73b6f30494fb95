"""The dashboard tests' world: the reference chat server and the gateway (with its dashboard)
on loopback ports, run in-process on a background loop, plus a webhook receiver.

The chat server can be stopped and started again on the same port (``stop_chat`` /
``start_chat``): the sessions' clients reconnect to the address they were given. The
gateway's first-start admin password is read from what the gateway prints on the terminal
(it is printed once, never logged); ``Stack.admin_password`` holds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
import re
from pathlib import Path
from typing import Any, Optional

from aiohttp import web

from tests.dashboard._loop import LoopThread
from tests.gateway._api_support import CLIENT_OPTIONS, Receiver
from tests.support import SERVER_SETTINGS
from whatsapp_client.gateway._app import create_app
from whatsapp_client.gateway._settings import GatewaySettings
from whatsapp_client.gateway._wiring import build_components
from whatsapp_client.server.settings import Settings
from whatsapp_client.server.testing import TEST_DEFAULTS, ServerHandle

ADMIN_EMAIL = "admin@localhost"

# The sessions reconnect every 0.25 to 0.5 s and give up only after 60 failures in a row,
# so a chat server stopped for a few seconds finds them coming back. Webhook deliveries
# are given up after 2 s (one fast retry), so that a failing receiver soon shows a failed
# delivery to redeliver.
GATEWAY_SETTINGS: dict[str, Any] = {
    "host": "127.0.0.1",
    "port": 0,
    "reconnect_base_delay": 0.25,
    "reconnect_max_delay": 0.5,
    "max_reconnect_failures": 60,
    "rate_limit_per_minute": 6000,
    "webhook_max_age_seconds": 2,
    "log_level": "INFO",
}

# What the gateway prints once at first start (``_app.announce_admin``).
_SHOWN_EMAIL = re.compile(r"(?m)^\s*email:\s+(\S+)\s*$")
_SHOWN_PASSWORD = re.compile(r"(?m)^\s*password:\s+(\S+)\s*$")


def admin_password_in(printed: str) -> str:
    """The first-start admin password in what the gateway printed on the terminal."""
    emails = _SHOWN_EMAIL.findall(printed)
    passwords = _SHOWN_PASSWORD.findall(printed)
    if emails != [ADMIN_EMAIL] or len(passwords) != 1:
        raise AssertionError(f"no single admin account in the first-start output:\n{printed}")
    return str(passwords[0])


class GatewayRunner:
    """The real gateway app (real storage, engines, dispatcher) on a loopback port."""

    def __init__(self, data_dir: Path, **settings: Any) -> None:
        values = {**GATEWAY_SETTINGS, **settings, "data_dir": str(data_dir)}
        self.settings = GatewaySettings(**values)
        self.port = 0
        self.printed = ""
        self.announced: list[str] = []
        self._runner: Optional[web.AppRunner] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        settings = dataclasses.replace(self.settings, port=self.port)
        components = build_components(
            settings, Path(settings.data_dir), client_options=CLIENT_OPTIONS
        )
        app = create_app(settings, components=components, announce=self.announced.append)
        runner = web.AppRunner(app, access_log=None)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            await runner.setup()
        self.printed += out.getvalue()
        self._runner = runner
        site = web.TCPSite(runner, "127.0.0.1", self.port)
        await site.start()
        if self.port == 0:
            server = site._server
            assert isinstance(server, asyncio.base_events.Server)
            self.port = int(server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()


class Stack:
    """The chat server, the gateway and a webhook receiver, on a background loop."""

    def __init__(self, root: Path, **gateway_settings: Any) -> None:
        self.root = root
        self.loop = LoopThread()
        values = {**TEST_DEFAULTS, **SERVER_SETTINGS, "data": str(root / "chat")}
        self.chat = ServerHandle(Settings(**values))
        self.gateway = GatewayRunner(root / "gateway", **gateway_settings)
        self.receiver = Receiver()
        self.admin_password = ""

    def start(self) -> None:
        async def start() -> None:
            await self.chat.start()
            await self.gateway.start()
            await self.receiver.start()

        self.run(start())
        self.admin_password = admin_password_in(self.gateway.printed)

    def run(self, coro: Any, timeout: float = 60.0) -> Any:
        return self.loop.run(coro, timeout)

    @property
    def url(self) -> str:
        """The gateway's address (its dashboard is at ``url + "/"``)."""
        return self.gateway.url

    @property
    def chat_url(self) -> str:
        return self.chat.url

    def stop_chat(self) -> None:
        self.run(self.chat.stop())

    def start_chat(self) -> None:
        """Starts the chat server again, on the port it had."""
        self.run(self.chat.start())

    def receiver_fails(self, failing: bool) -> None:
        """The webhook receiver answers 500 while ``failing``, else 200."""
        self.receiver.status = 500 if failing else 200

    def close(self) -> None:
        async def stop() -> None:
            await self.gateway.stop()
            await self.receiver.stop()
            await self.chat.stop()

        try:
            self.run(stop())
        finally:
            self.loop.close()

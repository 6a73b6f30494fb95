"""Test helpers: the real server on an ephemeral loopback port, in-process.

Usage::

    async with running_server() as server:
        async with aiohttp.ClientSession() as http:
            await http.post(server.url + "/api/auth/register", json={...})
        await server.restart()  # same data, same port

Defaults suit tests (low bcrypt cost, no access log); pass any
:class:`~whatsapp_client.server.settings.Settings` field as a keyword to override it.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

from whatsapp_client.server.runner import StartedServer, start
from whatsapp_client.server.settings import Settings

TEST_DEFAULTS: dict[str, Any] = {
    "host": "127.0.0.1",
    "port": 0,
    "bcrypt_cost": 4,
    "access_log": False,
    "log_level": "WARNING",
}


class ServerHandle:
    """A running server: ``url``, ``ws_url``, ``data_dir``; ``stop``/``start``/``restart``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._started: StartedServer | None = None
        self.port = settings.port

    @property
    def data_dir(self) -> str:
        assert self.settings.data is not None
        return self.settings.data

    @property
    def url(self) -> str:
        return f"http://{self.settings.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.settings.host}:{self.port}/ws"

    @property
    def running(self) -> bool:
        return self._started is not None

    async def start(self) -> None:
        """Start (again), on the same port as before once one was picked."""
        if self._started is not None:
            return
        self._started = await start(self.settings.replace(port=self.port))
        self.port = self._started.port

    async def stop(self) -> None:
        """Graceful stop: sockets closed with 1001, pending writes committed."""
        started, self._started = self._started, None
        if started is not None:
            await started.stop()

    async def restart(self) -> None:
        await self.stop()
        await self.start()


@contextlib.asynccontextmanager
async def running_server(
    data_dir: str | None = None, **settings: Any
) -> AsyncIterator[ServerHandle]:
    """Start the real server; stop it (and delete a temporary data dir) on exit."""
    with contextlib.ExitStack() as stack:
        if data_dir is None:
            data_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="wac-test-"))
        values = {**TEST_DEFAULTS, **settings, "data": data_dir}
        handle = ServerHandle(Settings(**values))
        await handle.start()
        try:
            yield handle
        finally:
            await handle.stop()


@contextlib.contextmanager
def server_in_thread(data_dir: str | None = None, **settings: Any) -> Iterator[ServerHandle]:
    """The same server on its own event loop in a background thread, for synchronous tests."""
    ready = threading.Event()
    handle_box: list[ServerHandle] = []
    errors: list[BaseException] = []
    loop = asyncio.new_event_loop()
    stop_event: asyncio.Event | None = None

    async def main() -> None:
        nonlocal stop_event
        stop_event = asyncio.Event()
        try:
            async with running_server(data_dir, **settings) as handle:
                handle_box.append(handle)
                ready.set()
                await stop_event.wait()
        except BaseException as exc:
            errors.append(exc)
            ready.set()

    thread = threading.Thread(target=lambda: loop.run_until_complete(main()), daemon=True)
    thread.start()
    ready.wait()
    try:
        if errors:
            raise errors[0]
        yield handle_box[0]
    finally:
        if stop_event is not None:
            loop.call_soon_threadsafe(stop_event.set)
        thread.join()
        loop.close()

"""Running the server until SIGINT/SIGTERM, then shutting down gracefully."""

from __future__ import annotations

import asyncio
import contextlib
import signal

from aiohttp import web

from whatsapp_client.server.app import create_app
from whatsapp_client.server.listener import ConnectionGuard, GuardedSite, bind
from whatsapp_client.server.logs import get_logger
from whatsapp_client.server.settings import Settings
from whatsapp_client.server.state import STATE

log = get_logger("runner")

SHUTDOWN_TIMEOUT = 15.0


class StartedServer:
    """A started AppRunner and the address it actually listens on."""

    def __init__(self, runner: web.AppRunner, host: str, port: int) -> None:
        self.runner = runner
        self.host = host
        self.port = port

    async def stop(self) -> None:
        await self.runner.cleanup()


async def start(settings: Settings, *, reuse_port: bool | None = None) -> StartedServer:
    # Bind first: a port in use is reported before the data directory or database is made.
    sock = bind(settings.host, settings.port, reuse_port=reuse_port)
    port = int(sock.getsockname()[1])
    try:
        app = create_app(settings)
        runner = web.AppRunner(
            app,
            access_log=None,
            shutdown_timeout=SHUTDOWN_TIMEOUT,
            keepalive_timeout=settings.keepalive_timeout,
        )
        await runner.setup()
    except BaseException:
        sock.close()
        raise
    assert runner.server is not None
    guard = ConnectionGuard(
        runner.server, settings.max_anonymous_connections, settings.header_timeout
    )
    app[STATE].guard = guard
    site = GuardedSite(runner, sock, guard)
    try:
        await site.start()
    except BaseException:
        sock.close()
        await runner.cleanup()
        raise
    return StartedServer(runner, settings.host, port)


async def serve(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        # Windows has no loop signal handlers: Ctrl+C then arrives as KeyboardInterrupt.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    started = await start(settings)
    log.info(
        "listening",
        extra={
            "host": started.host,
            "port": started.port,
            "url": f"http://{started.host}:{started.port}",
            "data": settings.data,
        },
    )
    try:
        await stop.wait()
    finally:
        log.info("shutting down")
        await started.stop()
        log.info("stopped")

"""Running the server until SIGINT/SIGTERM, then shutting down gracefully."""

from __future__ import annotations

import asyncio
import contextlib
import signal

from aiohttp import web

from whatsapp_client.server.app import create_app
from whatsapp_client.server.logs import get_logger
from whatsapp_client.server.settings import Settings

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
    app = create_app(settings)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port, reuse_port=reuse_port)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    port = settings.port
    server = site._server  # the only way aiohttp exposes the bound port for port 0
    if isinstance(server, asyncio.base_events.Server) and server.sockets:
        port = int(server.sockets[0].getsockname()[1])
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

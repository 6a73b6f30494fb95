"""Several real ``serve`` processes sharing one PostgreSQL and one Redis, a TCP load
balancer in front of them, and SDK clients of either process or of the balancer."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

from tests.server.process import ServerProcess, server_process
from tests.support import CLIENT_OPTIONS, PASSWORD, unique_name
from whatsapp_client.client import Message, WhatsAppClient

# The test machine is one address for every client: lift the per-address and per-sender
# budgets, which are tested elsewhere.
LOOSE_LIMITS = (
    "--messages-per-second",
    "100000",
    "--message-burst",
    "100000",
    "--registrations-per-address",
    "100000",
    "--login-attempts-per-address",
    "10000",
    "--bundle-fetches-per-requester",
    "100000",
    "--prekeys-per-target",
    "100000",
    "--prekeys-per-requester-and-target",
    "100000",
)
PRESENCE_TTL = "2"  # seconds: a killed process's users go offline this fast
CONNECT_PAUSE = 0.05  # seconds between attempts while no backend accepts


@contextlib.asynccontextmanager
async def shared_servers(
    tmp_path: Path, database: str, redis: str, count: int = 2
) -> AsyncIterator[list[ServerProcess]]:
    """``count`` server processes on one database and one Redis (their own ``--data``
    directories hold only attachment blobs)."""
    flags = ("--database", database, "--redis", redis, "--redis-presence-ttl", PRESENCE_TTL)
    async with contextlib.AsyncExitStack() as stack:
        servers = []
        for index in range(count):
            data = str(tmp_path / f"server{index}")
            servers.append(
                await stack.enter_async_context(server_process(data, *flags, *LOOSE_LIMITS))
            )
        yield servers


class Balancer:
    """A TCP load balancer: each new connection goes to the first backend that accepts it,
    bytes are copied both ways, and when either side closes both are closed (so a killed
    backend drops its clients, who reconnect through here to the next one)."""

    def __init__(self, ports: Sequence[int]) -> None:
        self.ports = list(ports)
        self.url = ""
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()
        self.routed: list[int] = []  # the backend port of each accepted connection

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._pipes):
            task.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._pipes.add(task)
        try:
            backend = await self._open_backend()
            if backend is None:
                return
            up_reader, up_writer = backend
            try:
                await _pump_both(reader, writer, up_reader, up_writer)
            finally:
                up_writer.close()
        finally:
            writer.close()
            self._pipes.discard(task)

    async def _open_backend(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        for port in self.ports:
            try:
                opened = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                continue
            self.routed.append(port)
            return opened
        await asyncio.sleep(CONNECT_PAUSE)
        return None


async def _pump_both(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    up_reader: asyncio.StreamReader,
    up_writer: asyncio.StreamWriter,
) -> None:
    pumps = [
        asyncio.ensure_future(_pump(reader, up_writer)),
        asyncio.ensure_future(_pump(up_reader, writer)),
    ]
    try:
        await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for pump in pumps:
            pump.cancel()
        await asyncio.gather(*pumps, return_exceptions=True)


async def _pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        while chunk := await source.read(65536):
            sink.write(chunk)
            await sink.drain()


@contextlib.asynccontextmanager
async def balancer(ports: Sequence[int]) -> AsyncIterator[Balancer]:
    front = Balancer(ports)
    await front.start()
    try:
        yield front
    finally:
        await front.close()


Factory = Callable[..., Any]


@contextlib.asynccontextmanager
async def sdk_clients(tmp_path: Path) -> AsyncIterator[Factory]:
    """``await make(url, prefix)``: a registered, connected client of ``url``."""
    clients: list[WhatsAppClient] = []

    async def make(url: str, prefix: str = "user", **options: Any) -> WhatsAppClient:
        store = str(tmp_path / f"store{len(clients)}")
        client = WhatsAppClient(storage_path=store, server_url=url, **{**CLIENT_OPTIONS, **options})
        clients.append(client)
        await client.register(unique_name(prefix), PASSWORD)
        return client

    try:
        yield make
    finally:
        for client in clients:
            await client.close()


def inbox(client: WhatsAppClient) -> list[Message]:
    """Every message handed to ``client``'s message handler, in order."""
    got: list[Message] = []
    client.on_message(got.append)
    return got

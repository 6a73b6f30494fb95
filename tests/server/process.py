"""The server as a separate process, for tests that kill it or signal it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import AsyncIterator


class ServerProcess:
    def __init__(self, proc: asyncio.subprocess.Process, port: int) -> None:
        self.proc = proc
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.ws_url = f"ws://127.0.0.1:{port}/ws"
        self.log: list[str] = []
        self._drain = asyncio.ensure_future(self._read_rest())

    async def _read_rest(self) -> None:
        assert self.proc.stderr is not None
        async for line in self.proc.stderr:
            self.log.append(line.decode())

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    async def wait(self) -> int:
        code = await self.proc.wait()
        await self._drain
        return code


@contextlib.asynccontextmanager
async def server_process(data_dir: str, *extra: str) -> AsyncIterator[ServerProcess]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "whatsapp_client.server",
        "--port",
        "0",
        "--data",
        data_dir,
        "--bcrypt-cost",
        "4",
        "--no-access-log",
        *extra,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env={k: v for k, v in os.environ.items() if k != "PYTHONASYNCIODEBUG"},
    )
    assert proc.stderr is not None
    port = 0
    seen: list[str] = []
    while not port:
        line = await proc.stderr.readline()
        if not line:
            raise RuntimeError("server exited before listening:\n" + "".join(seen))
        seen.append(line.decode())
        entry = json.loads(line)
        if entry.get("msg") == "listening":
            port = int(entry["port"])
    server = ServerProcess(proc, port)
    server.log.extend(seen)
    try:
        yield server
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGKILL)
        await server.wait()

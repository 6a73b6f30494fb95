"""Real ``whatsapp-client gateway`` processes for the multi-process tests and benches: each
on its own loopback port, with an explicit process id, all sharing one data directory (the
master key, session stores, media) and one PostgreSQL database, as in a real deployment.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any, Optional

import aiohttp

ROOT = Path(__file__).resolve().parents[2]
ADMIN_KEY = "wag_processes-admin-Kq8vZ2mT5rW9xN3bL7cH1dF4"
# The sessions' clients derive their store keys cheaply (as the in-process tests do).
CHEAP_CLIENTS = {
    "WHATSAPP_KDF_MEMORY_KIB": "64",
    "WHATSAPP_KDF_ITERATIONS": "1",
    "WHATSAPP_DURABILITY": "fast",
}


class GatewayProcess:
    """One gateway subprocess; ``call`` talks to its API with the admin key."""

    def __init__(self, name: str, proc: asyncio.subprocess.Process, url: str) -> None:
        self.name = name
        self.proc = proc
        self.url = url
        self.http = aiohttp.ClientSession(headers={"X-API-Key": ADMIN_KEY})
        assert proc.stderr is not None
        # Keep reading stderr so the process never blocks on a full pipe.
        self._drain = asyncio.ensure_future(_drain(proc.stderr))

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        async with self.http.request(method, self.url + path, json=body) as response:
            return response.status, await response.json(content_type=None)

    @property
    def alive(self) -> bool:
        return self.proc.returncode is None

    async def kill(self) -> None:
        """SIGKILL: nothing is released, flushed or recorded."""
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def close(self) -> None:
        """Stops the process (SIGTERM, a clean shutdown) if it still runs."""
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 30)
            except asyncio.TimeoutError:
                self.proc.send_signal(signal.SIGKILL)
                await self.proc.wait()
        await self._drain
        await self.http.close()


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.readline():
        pass


async def start_gateway(
    name: str,
    data_dir: Path,
    database: str,
    *,
    extra_env: Optional[dict[str, str]] = None,
    args: tuple[str, ...] = (),
) -> GatewayProcess:
    """Starts ``python -m whatsapp_client gateway`` with process id ``name`` on a free port;
    returns once it listens."""
    env = {
        **{k: v for k, v in os.environ.items() if k != "PYTHONASYNCIODEBUG"},
        "PYTHONPATH": str(ROOT / "python"),
        "WHATSAPP_GATEWAY_API_KEYS": ADMIN_KEY,
        "WHATSAPP_GATEWAY_DATABASE": database,
        "WHATSAPP_GATEWAY_PROCESS_ID": name,
        "WHATSAPP_GATEWAY_RECONNECT_BASE_DELAY": "0.05",
        **CHEAP_CLIENTS,
        **(extra_env or {}),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "whatsapp_client",
        "gateway",
        "--port",
        "0",
        "--data-dir",
        str(data_dir),
        *args,
        stdout=asyncio.subprocess.DEVNULL,  # the first admin's password is printed there
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    assert proc.stderr is not None
    while True:
        line = await asyncio.wait_for(proc.stderr.readline(), 60)
        if not line:
            await proc.wait()
            raise AssertionError(f"gateway {name} exited before listening ({proc.returncode})")
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("msg") == "listening":
            return GatewayProcess(name, proc, f"http://127.0.0.1:{entry['port']}")


async def lease_owners(database: str) -> dict[str, Optional[str]]:
    """Every session's lease holder, as the database has it (expired or not)."""
    import asyncpg

    conn = await asyncpg.connect(database)
    try:
        rows = await conn.fetch("SELECT id, lease_owner FROM sessions")
        return {r["id"]: r["lease_owner"] for r in rows}
    finally:
        await conn.close()


async def poll(check: Any, what: str, timeout: float = 60.0, every: float = 0.1) -> Any:
    """Awaits ``check()`` until it returns something true; returns it."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(every)

"""A gateway process beside a reference server process, and what the benchmarks measure of it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Optional

import aiohttp

API_KEY = "gwbench_" + secrets.token_urlsafe(24)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class Process:
    """CPU and memory of a child process, read from /proc (Linux)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def cpu_seconds(self) -> float:
        with open(f"/proc/{self.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_bytes(self) -> int:
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0


class Gateway:
    """A ``whatsapp-client gateway`` process on a free loopback port, restartable on the
    same data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: Optional[asyncio.subprocess.Process] = None
        self._log = open(data_dir.parent / "gateway.log", "ab")  # noqa: SIM115

    @property
    def process(self) -> Process:
        assert self.proc is not None
        return Process(self.proc.pid)

    async def start(self) -> None:
        env = dict(os.environ)
        env["WHATSAPP_GATEWAY_API_KEYS"] = API_KEY
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "whatsapp_client",
            "gateway",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
            "--log-level",
            "WARNING",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=self._log,
            stderr=self._log,
            env=env,
        )
        async with aiohttp.ClientSession() as http:
            for _ in range(600):
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(self.url + "/health") as resp:
                        if resp.status == 200:
                            return
                if self.proc.returncode is not None:
                    raise RuntimeError("the gateway exited; see gateway.log")
                await asyncio.sleep(0.05)
        raise RuntimeError("the gateway did not answer /health")

    async def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(sig)
            await self.proc.wait()

    def close(self) -> None:
        self._log.close()


@contextlib.asynccontextmanager
async def api() -> AsyncIterator[aiohttp.ClientSession]:
    connector = aiohttp.TCPConnector(limit=256)
    async with aiohttp.ClientSession(connector=connector, headers={"X-API-Key": API_KEY}) as http:
        yield http


async def call(
    http: aiohttp.ClientSession, method: str, url: str, body: Any = None, expect: int = 200
) -> Any:
    async with http.request(method, url, json=body) as resp:
        data = await resp.json(content_type=None)
        if resp.status != expect:
            raise RuntimeError(f"{method} {url}: {resp.status} {data}")
        return data


async def create_sessions(
    http: aiohttp.ClientSession,
    gateway_url: str,
    server_url: str,
    count: int,
    webhooks: Optional[list[dict[str, Any]]] = None,
) -> list[dict[str, Any]]:
    sem = asyncio.Semaphore(16)

    async def one(index: int) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": f"bench-{index}-{secrets.token_hex(3)}",
            "engine": "wac1",
            "server_url": server_url,
            "username": f"gw{secrets.token_hex(6)}",
            "password": "benchmark password",
            "register": True,
        }
        if webhooks is not None:
            body["webhooks"] = webhooks
        async with sem:
            created: dict[str, Any] = await call(
                http, "POST", gateway_url + "/api/v1/sessions", body, expect=201
            )
        return created

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def wait_connected(
    http: aiohttp.ClientSession, gateway_url: str, count: int, timeout: float = 300.0
) -> float:
    """Seconds until ``count`` sessions report ``connected``."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        with contextlib.suppress(aiohttp.ClientError):
            listing = await call(http, "GET", gateway_url + "/api/v1/sessions")
            sessions = listing["sessions"] if isinstance(listing, dict) else listing
            if sum(1 for s in sessions if s["status"] == "connected") >= count:
                return time.perf_counter() - start
        await asyncio.sleep(0.2)
    raise RuntimeError(f"fewer than {count} sessions connected after {timeout} s")

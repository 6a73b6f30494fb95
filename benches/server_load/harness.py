"""Shared pieces: a server process, fast registration, authenticated sockets, RSS."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any, Optional

import aiohttp
import msgspec

encode = msgspec.json.Encoder().encode
decode = msgspec.json.Decoder().decode


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far, from /proc (Linux)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Server:
    def __init__(self, url: str, pid: Optional[int]) -> None:
        self.url = url
        self.ws_url = url.replace("http://", "ws://") + "/ws"
        self.pid = pid

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far (Linux), 0 if not ours."""
        return 0.0 if self.pid is None else process_cpu_seconds(self.pid)

    def rss_bytes(self) -> int:
        """Resident memory of the server process (Linux), 0 when it is not ours."""
        if self.pid is None:
            return 0
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0


@contextlib.asynccontextmanager
async def server(url: Optional[str], extra: Sequence[str] = ()) -> AsyncIterator[Server]:
    """An existing server at ``url``, or a fresh process on a free loopback port (``extra``
    flags, e.g. ``--database``/``--redis``, are passed on)."""
    if url:
        yield Server(url.rstrip("/"), None)
        return
    with tempfile.TemporaryDirectory(prefix="wac-bench-") as data:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "whatsapp_client.server",
            "--port",
            "0",
            "--data",
            data,
            "--bcrypt-cost",
            "4",
            "--no-access-log",
            "--registrations-per-address",
            "1000000",
            "--login-attempts-per-address",
            "1000000",
            "--max-unauthenticated",
            "100000",
            "--messages-per-second",
            "100000",
            "--message-burst",
            "100000",
            *extra,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            env={k: v for k, v in os.environ.items() if k != "PYTHONASYNCIODEBUG"},
        )
        assert proc.stderr is not None
        port = 0
        while not port:
            line = await proc.stderr.readline()
            if not line:
                raise RuntimeError("server did not start")
            entry = json.loads(line)
            if entry.get("msg") == "listening":
                port = int(entry["port"])

        async def drain() -> None:
            assert proc.stderr is not None
            async for _ in proc.stderr:
                pass

        drainer = asyncio.ensure_future(drain())
        try:
            yield Server(f"http://127.0.0.1:{port}", proc.pid)
        finally:
            proc.send_signal(signal.SIGTERM)
            await proc.wait()
            await drainer


class User:
    def __init__(self, user_id: str, token: str) -> None:
        self.id = user_id
        self.token = token


async def register_many(http: aiohttp.ClientSession, url: str, count: int) -> list[User]:
    sem = asyncio.Semaphore(64)

    async def one() -> User:
        async with sem:
            name = "b" + uuid.uuid4().hex[:20]
            async with http.post(
                f"{url}/api/auth/register", json={"username": name, "password": "benchmark!"}
            ) as resp:
                body: Any = await resp.json()
                if resp.status != 201:
                    raise RuntimeError(f"register failed: {resp.status} {body}")
        return User(body["user"]["id"], body["token"])

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def open_socket(
    http: aiohttp.ClientSession, ws_url: str, user: User
) -> aiohttp.ClientWebSocketResponse[bool]:
    ws = await http.ws_connect(ws_url, max_msg_size=0, autoping=True)
    await ws.send_frame(encode({"type": "auth", "token": user.token}), aiohttp.WSMsgType.TEXT)
    msg = await ws.receive()
    frame: Any = decode(msg.data)
    if frame.get("type") != "auth_ok":
        raise RuntimeError(f"auth failed: {frame}")
    return ws


def spread(ws_urls: Sequence[str], pairs: int) -> tuple[list[str], list[str]]:
    """The socket URL of each pair's sender and recipient. With several processes, senders
    go round-robin and half of the pairs have their recipient on another process."""
    n = len(ws_urls)
    senders = [ws_urls[i % n] for i in range(pairs)]
    recipients = [ws_urls[(i + i // n) % n] for i in range(pairs)]
    return senders, recipients


def percentile(sorted_values: Sequence[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]

"""Slow and silent connections (issue 10 item 8): bounded in time and in number."""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sys

import aiohttp
import pytest

from tests.server.helpers import connect, register, serving
from tests.server.rawhttp import closed_by_server, exchange, json_error_code, open_raw

# Every server here runs on SQLite and on PostgreSQL.
pytestmark = pytest.mark.usefixtures("serving_backend")


async def test_silent_connections_are_closed_after_the_header_timeout() -> None:
    async with serving(header_timeout=0.3, keepalive_timeout=0.3) as (server, http):
        sockets = [await open_raw(server.port) for _ in range(20)]
        results = await asyncio.gather(*(closed_by_server(r) for r, _ in sockets))
        assert all(results)
        async with http.get(f"{server.url}/health") as resp:
            assert resp.status == 200
        for _, writer in sockets:
            writer.close()


async def test_a_request_head_sent_slowly_is_cut_off() -> None:
    async with serving(header_timeout=0.5, keepalive_timeout=30) as (server, _):
        reader, writer = await open_raw(server.port)
        writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n")

        async def dribble() -> None:
            try:
                for i in range(10_000):
                    writer.write(f"X-Slow-{i}: y\r\n".encode())
                    await writer.drain()
                    await asyncio.sleep(0.05)
            except (ConnectionError, RuntimeError):
                return

        task = asyncio.ensure_future(dribble())
        assert await closed_by_server(reader)
        task.cancel()
        writer.close()


async def test_a_body_sent_slowly_gets_408_in_the_error_shape() -> None:
    async with serving(request_timeout=0.3) as (server, _):
        head = (
            b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"username"'
        )
        status, headers, body = await exchange(server.port, head)
        assert status == 408
        assert json_error_code(headers, body) == "request_timeout"


async def test_idle_keepalive_connection_is_closed() -> None:
    async with serving(keepalive_timeout=0.3) as (server, _):
        reader, writer = await open_raw(server.port)
        writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        head = await reader.readuntil(b"\r\n\r\n")
        assert b" 200 " in head.split(b"\r\n")[0]
        assert await closed_by_server(reader)
        writer.close()


async def test_anonymous_connections_are_capped_oldest_first() -> None:
    async with serving(max_anonymous_connections=8, header_timeout=120) as (server, http):
        owner = await register(http, server.url)
        ws = await connect(http, server.ws_url, owner)  # authenticated: never evicted
        silent = [await open_raw(server.port) for _ in range(30)]
        # The newest ones are still open while the oldest were closed to make room.
        oldest = await asyncio.gather(*(closed_by_server(r) for r, _ in silent[:22]))
        assert all(oldest)
        async with aiohttp.ClientSession() as fresh, fresh.get(f"{server.url}/health") as resp:
            assert resp.status == 200
        await ws.roundtrip()
        for _, writer in silent:
            writer.close()
        await ws.close()


_SERVE_WITH_256_FILES = """
import resource, sys
resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
from whatsapp_client.server.cli import main
sys.exit(main(sys.argv[1:]))
"""


async def test_300_silent_sockets_do_not_take_a_256_file_server_down(tmp_path: object) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1024 <= hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _SERVE_WITH_256_FILES,
        "--port",
        "0",
        "--data",
        str(tmp_path) + "/data",
        "--bcrypt-cost",
        "4",
        "--no-access-log",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env={k: v for k, v in os.environ.items() if k != "PYTHONASYNCIODEBUG"},
    )
    assert proc.stderr is not None
    port = 0
    while not port:
        line = await asyncio.wait_for(proc.stderr.readline(), 60)
        assert line, "server exited"
        entry = json.loads(line)
        if entry.get("msg") == "listening":
            port = int(entry["port"])
    silent = []
    try:
        for _ in range(300):
            silent.append(await open_raw(port))
        status, headers, body = await exchange(
            port, b"GET /api/users/me HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        assert status == 401
        assert json_error_code(headers, body) == "unauthorized"
    finally:
        for _, writer in silent:
            writer.close()
        proc.kill()
        await proc.wait()

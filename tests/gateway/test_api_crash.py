"""The gateway as its own process, killed with SIGKILL while messages wait in a session's
queue and webhook events wait for a receiver that is down: after a restart every queued
message goes out once, in order, and every event arrives."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

from tests.gateway._api_support import (
    ADMIN_KEY,
    BACKEND,
    ON_BOTH_BACKENDS,
    PASSWORD,
    Receiver,
    unique_name,
)
from whatsapp_client.server.testing import ServerHandle

ROOT = Path(__file__).resolve().parents[2]


class Process:
    def __init__(
        self, proc: asyncio.subprocess.Process, url: str, drain: asyncio.Task[None]
    ) -> None:
        self.proc = proc
        self.drain = drain
        self.url = url
        self.http = aiohttp.ClientSession(headers={"X-API-Key": ADMIN_KEY})

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        async with self.http.request(method, self.url + path, json=body) as response:
            return response.status, await response.json()

    async def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()
        await self.drain
        await self.http.close()

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(self.proc.wait(), 30)
        await self.drain
        await self.http.close()


async def _start(data_dir: Path) -> Process:
    env = {
        **{k: v for k, v in os.environ.items() if k != "PYTHONASYNCIODEBUG"},
        "PYTHONPATH": str(ROOT / "python"),
        "WHATSAPP_GATEWAY_API_KEYS": ADMIN_KEY,
        "WHATSAPP_GATEWAY_RECONNECT_BASE_DELAY": "0.05",
        # The test's storage: PostgreSQL when the backend is, else SQLite in data_dir.
        **({"WHATSAPP_GATEWAY_DATABASE": BACKEND["database"]} if "database" in BACKEND else {}),
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
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    assert proc.stderr is not None
    while True:
        line = await asyncio.wait_for(proc.stderr.readline(), 60)
        assert line, "the gateway exited before listening"
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("msg") == "listening":
            # Keep draining stderr so the process never blocks on a full pipe.
            drain = asyncio.ensure_future(_drain(proc.stderr))
            return Process(proc, f"http://127.0.0.1:{entry['port']}", drain)


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.readline():
        pass


@asynccontextmanager
async def gateway_process(data_dir: Path) -> AsyncIterator[list[Process]]:
    """Yields a list holding the running process (replaced on restart); stops it at exit."""
    box = [await _start(data_dir)]
    try:
        yield box
    finally:
        await box[0].stop()


async def _poll(check: Any, what: str, timeout: float = 60.0) -> Any:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def _session(gw: Process, chat_url: str, webhooks: list[dict[str, str]]) -> dict[str, Any]:
    name = unique_name("crash")
    status, body = await gw.call(
        "POST",
        "/api/v1/sessions",
        {
            "name": name,
            "engine": "wac1",
            "server_url": chat_url,
            "username": name,
            "password": PASSWORD,
            "register": True,
            "webhooks": webhooks,
        },
    )
    assert status == 201, body

    async def connected() -> Any:
        _, one = await gw.call("GET", f"/api/v1/sessions/{body['id']}")
        return one if one["status"] == "connected" else None

    return dict(await _poll(connected, "connected"))


@ON_BOTH_BACKENDS
async def test_sigkill_with_queued_sends_and_pending_webhooks_loses_nothing(
    tmp_path: Path, chat_server: ServerHandle, receiver: Receiver
) -> None:
    receiver.status = 503  # down: every event stays pending
    async with gateway_process(tmp_path / "gw") as box:
        gw = box[0]
        alice = await _session(gw, chat_server.url, [])
        bob = await _session(gw, chat_server.url, [{"url": receiver.url}])
        # One send a minute: the first goes out, the rest wait in the durable queue.
        status, _ = await gw.call(
            "PATCH", f"/api/v1/sessions/{alice['id']}", {"rate_limit_per_minute": 1}
        )
        assert status == 200
        texts = [f"queued {n}" for n in range(6)]
        for text in texts:
            status, body = await gw.call(
                "POST",
                f"/api/v1/sessions/{alice['id']}/messages",
                {"to": bob["config"]["username"], "text": text},
            )
            assert status == 202, body
        _, one = await gw.call("GET", f"/api/v1/sessions/{alice['id']}")
        assert one["queue_depth"] >= 4  # still queued when the process dies
        await gw.kill()

        receiver.status = 200
        box[0] = gw = await _start(tmp_path / "gw")
        status, _ = await gw.call(
            "PATCH", f"/api/v1/sessions/{alice['id']}", {"rate_limit_per_minute": 6000}
        )
        assert status == 200

        async def all_received() -> Any:
            _, page = await gw.call(
                "GET", f"/api/v1/sessions/{bob['id']}/messages?direction=inbound&limit=100"
            )
            return page["messages"] if len(page["messages"]) >= len(texts) else None

        inbound = await _poll(all_received, "every queued message")
        assert [m["text"] for m in reversed(inbound)] == texts  # once each, in order

        def delivered_texts() -> list[str]:
            seen: dict[str, str] = {}
            for headers, raw in receiver.requests:
                event = json.loads(raw)
                if event["type"] == "message.received":
                    seen.setdefault(headers["webhook-id"], event["data"]["text"])
            return list(seen.values())

        async def all_posted() -> Any:
            return len(delivered_texts()) >= len(texts)

        # The pending events keep their retry schedule (up to 30 s after the first tries).
        await _poll(all_posted, "every message.received event", timeout=120)
        assert delivered_texts() == texts

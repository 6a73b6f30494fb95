"""``python -m whatsapp_client.cloud.testing``: the simulator as a process."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[2]


async def test_module_runs_the_simulator_until_terminated() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "python"), str(ROOT)])}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "whatsapp_client.cloud.testing",
        "--access-token",
        "given-token",
        "--template",
        "hello_world:en_US:0",
        stdout=asyncio.subprocess.PIPE,
        env=env,
    )
    try:
        assert process.stdout is not None
        lines: dict[str, str] = {}
        while True:
            line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode().strip()
            assert line, "the simulator exited before it was ready"
            if line == "ready":
                break
            key, _, value = line.partition(" ")
            lines[key] = value.strip()
        assert "access_token" not in lines  # given by the caller: not echoed
        assert "app_secret" in lines  # generated: shown so it can be used
        url = f"{lines['base_url']}/{lines['api_version']}/{lines['phone_number_id']}/messages"
        body = {
            "messaging_product": "whatsapp",
            "to": "15551234567",
            "type": "template",
            "template": {"name": "hello_world", "language": {"code": "en_US"}},
        }
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            headers = {"Authorization": "Bearer given-token"}
            async with session.post(url, json=body, headers=headers) as response:
                assert response.status == 200
                assert (await response.json())["messages"][0]["message_status"] == "accepted"
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

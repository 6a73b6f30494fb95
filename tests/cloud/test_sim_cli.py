"""``python -m whatsapp_client.cloud.testing``: the simulator as a process."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from whatsapp_client.cloud.testing import GraphSimulator
from whatsapp_client.cloud.testing import __main__ as sim_main

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


async def test_serve_in_process_registers_templates(capsys: pytest.CaptureFixture[str]) -> None:
    args = sim_main.parse_args(
        ["--template", "promo:pt_BR:2", "--template", "hi", "--rate-limit", "5"]
    )
    stop = asyncio.Event()
    ready: asyncio.Future[GraphSimulator] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(sim_main.serve(args, stop, ready.set_result))
    try:
        sim = await asyncio.wait_for(ready, 30)
        assert sim.rate_limit_per_second == 5
        url = f"{sim.graph_url}/{sim.phone_number_id}/messages"
        template = {"name": "promo", "language": {"code": "pt_BR"}, "components": []}
        body = {
            "messaging_product": "whatsapp",
            "to": "1555123",
            "type": "template",
            "template": template,
        }
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            headers = {"Authorization": f"Bearer {sim.access_token}"}
            async with session.post(url, json=body, headers=headers) as response:
                assert (await response.json())["error"]["code"] == 132000  # 2 expected, 0 given
            body["template"] = {"name": "hi", "language": {"code": "en_US"}}
            async with session.post(url, json=body, headers=headers) as response:
                assert response.status == 200
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    out = capsys.readouterr().out
    assert f"access_token    {sim.access_token}" in out
    assert out.rstrip().endswith("ready")


@pytest.mark.parametrize("spec", ["", ":en", "x:en:two", "x:en:-1"])
def test_bad_template_spec_is_a_usage_error(spec: str) -> None:
    with pytest.raises(SystemExit) as exited:
        sim_main.parse_args(["--template", spec])
    assert exited.value.code == 2

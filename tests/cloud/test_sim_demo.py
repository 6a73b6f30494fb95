"""``whatsapp-client cloud-demo``: in-process, and as the real command in a subprocess."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from whatsapp_client.cloud import _demo

ROOT = Path(__file__).resolve().parents[2]


async def test_run_demo_walks_every_step() -> None:
    lines: list[str] = []
    await _demo.run_demo(lines.append)
    assert [line.split(".", 1)[0] for line in lines] == [str(n) for n in range(1, 10)]
    assert "downloaded: 16390 bytes" in lines[4]
    assert lines[-1] == "9. The simulator received: text, template and 1 read receipt"


def test_main_reports_a_failed_step(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def broken(say: object = None) -> None:
        raise _demo.DemoError("the voice note's sha256 does not match")

    monkeypatch.setattr(_demo, "run_demo", broken)
    assert _demo.main([]) == 1
    assert "sha256 does not match" in capsys.readouterr().err


async def test_cloud_demo_command_exits_0() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "python"), str(ROOT)])}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "whatsapp_client",
        "cloud-demo",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), 120)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, err.decode()
    text = out.decode()
    for needle in (
        "answered the verification handshake",
        "Signed webhook delivered a text",
        "Voice note",
        "Replied with a text: wamid.",
        "Sent template 'order_ready'",
        "forged signature was refused (401)",
        "every step checked out",
    ):
        assert needle in text

"""Runs the example bots as real processes against the in-process reference server."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from tests.client_features.conftest import (  # noqa: F401 - fixtures re-exported
    Registered,
    registered,
    server,
    unique_name,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
READY_TIMEOUT = 60.0


@contextlib.asynccontextmanager
async def run_example(script: str, server_url: str, data_dir: Path) -> AsyncIterator[str]:
    """Starts ``examples/<script>`` as its own process, waits for its ``ready:`` line and
    yields the bot's user id; on exit stops it with SIGTERM and checks it exits 0."""
    username = unique_name(script.split("_")[0])
    env = {
        **{k: v for k, v in os.environ.items() if k != "PYTHONASYNCIODEBUG"},
        "WHATSAPP_SERVER_URL": server_url,
        "BOT_USERNAME": username,
        "BOT_PASSWORD": "example bot password",
        "WHATSAPP_STORAGE_PATH": str(data_dir / username),
        "WHATSAPP_KDF_MEMORY_KIB": "64",
        "WHATSAPP_KDF_ITERATIONS": "1",
        "WHATSAPP_DURABILITY": "fast",
        "WHATSAPP_PREKEY_COUNT": "10",
        "WHATSAPP_PREKEY_REFILL_THRESHOLD": "2",
        "PYTHONIOENCODING": "utf-8",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(EXAMPLES / script),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None and proc.stderr is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), READY_TIMEOUT)
        text = line.decode("utf-8")
        if not text.startswith("ready: "):
            err = await proc.stderr.read()
            raise AssertionError(f"{script} did not start: {text!r} {err.decode()[-2000:]}")
        _, name, user_id = text.split()[:3]
        assert name == username
        yield user_id
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, f"{script} exited {proc.returncode}: {err.decode()[-2000:]}"

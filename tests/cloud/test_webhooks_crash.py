"""A receiver process killed mid-dispatch loses nothing: the next process on the same
SQLite file dispatches the event once, and Meta's redelivery of it is then a duplicate."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Callable

import aiohttp
import pytest

from ._webhooks_samples import encode, sign, text_payload

WORKER = Path(__file__).with_name("_inbox_worker.py")
_WITHIN = 60.0  # liveness bound for a process to start or a line to appear, not a timing check


class Worker:
    def __init__(self, tmp: Path, name: str, mode: str) -> None:
        self.port_file = tmp / f"{name}.port"
        self.log = tmp / "handled.log"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(WORKER),
                str(tmp / "inbox.sqlite"),
                str(self.log),
                str(self.port_file),
                mode,
            ],
            env=os.environ.copy(),
        )
        wait_until(self.port_file.exists, self.proc, "the receiver to listen")
        self.url = f"http://127.0.0.1:{self.port_file.read_text()}/webhooks/whatsapp"

    def lines(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def wait_until(cond: Callable[[], bool], proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + _WITHIN
    while not cond():
        assert proc.poll() is None, f"the receiver exited ({proc.returncode}) waiting for {what}"
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.02)


async def post(url: str, body: bytes) -> int:
    async with aiohttp.ClientSession() as http:
        headers = {"X-Hub-Signature-256": sign(body), "Content-Type": "application/json"}
        async with http.post(url, data=body, headers=headers) as resp:
            return resp.status


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[list[Worker]]:
    started: list[Worker] = []
    yield started
    for w in started:
        w.stop()


async def test_an_event_whose_dispatch_was_killed_is_dispatched_once_by_the_next_process(
    tmp_path: Path, workers: list[Worker]
) -> None:
    body = encode(text_payload("wamid.crash1", "kept across a crash"))
    first = Worker(tmp_path, "first", "block")
    workers.append(first)
    assert await post(first.url, body) == 200
    await asyncio.to_thread(
        wait_until, lambda: len(first.lines()) == 1, first.proc, "the handler to be entered"
    )
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait()
    assert first.lines() == [f"{first.proc.pid} wamid.crash1"]

    second = Worker(tmp_path, "second", "record")
    workers.append(second)
    await asyncio.to_thread(wait_until, lambda: len(second.lines()) == 2, second.proc, "the replay")
    assert second.lines()[1] == f"{second.proc.pid} wamid.crash1"

    # Meta's redelivery of the same payload is a duplicate; a new message after it is not.
    assert await post(second.url, body) == 200
    assert await post(second.url, encode(text_payload("wamid.after", "next"))) == 200
    await asyncio.to_thread(
        wait_until, lambda: len(second.lines()) >= 3, second.proc, "the next message"
    )
    assert second.lines()[1:] == [
        f"{second.proc.pid} wamid.crash1",
        f"{second.proc.pid} wamid.after",
    ]

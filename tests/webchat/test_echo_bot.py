"""The issue's definition of done: a person chats with ``examples/echo_bot.py`` from the web
app, against ``whatsapp-client serve`` started as its own process, the bot as another."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, expect

from tests.webchat._app import WAIT_MS, WebUser

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def environment() -> dict[str, str]:
    python_path = os.pathsep.join(
        filter(None, [str(ROOT / "python"), os.environ.get("PYTHONPATH")])
    )
    return {**os.environ, "PYTHONPATH": python_path, "PYTHONIOENCODING": "utf-8"}


def stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[str]:
    """``whatsapp-client serve`` on a free port; its URL once /ready answers."""
    port = free_port()
    command = [sys.executable, "-m", "whatsapp_client", "serve", "--port", str(port)]
    command += ["--data", str(tmp_path / "server"), "--bcrypt-cost", "4", "--log-level", "WARNING"]
    process = subprocess.Popen(command, env=environment(), text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                if requests.get(f"{url}/ready", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert process.poll() is None, "the server exited"
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
        yield url
    finally:
        stop(process)


@pytest.fixture
def echo_bot(serve: str, tmp_path: Path) -> Iterator[str]:
    """``examples/echo_bot.py`` against the server; its username once it says ready."""
    env = {
        **environment(),
        "WHATSAPP_SERVER_URL": serve,
        "BOT_USERNAME": "echo_bot",
        "WHATSAPP_STORAGE_PATH": str(tmp_path / "bot"),
        "WHATSAPP_KDF_MEMORY_KIB": "64",
        "WHATSAPP_KDF_ITERATIONS": "1",
    }
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "examples" / "echo_bot.py")],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("ready: echo_bot"), line
        yield "echo_bot"
    finally:
        stop(process)
        if process.stdout is not None:
            process.stdout.close()


def test_a_person_chats_with_the_echo_bot(browser: Browser, serve: str, echo_bot: str) -> None:
    person = WebUser(browser, serve, "human", width=1100)
    try:
        person.register()
        person.find(echo_bot)
        person.send("Hello, bot! 👋")
        person.expect_message("Echo: Hello, bot! 👋")
        person.expect_status("Hello, bot! 👋", "read")

        gif = bytes.fromhex(
            "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"
        )
        person.attach("pixel.gif", "image/gif", gif)
        echoed = (
            person.messages().filter(has_text="Echo").filter(has=person.page.get_by_role("img"))
        )
        expect(echoed).to_have_count(1, timeout=WAIT_MS)
        expect(echoed.get_by_role("img")).to_have_attribute("src", re.compile("^blob:"))

        # 100 kB: above the inline limit, so an encrypted attachment both ways.
        document = os.urandom(100_000)
        person.attach("notes.bin", "application/octet-stream", document)
        back = person.messages().filter(has_text="Echo").filter(has_text="notes.bin")
        expect(back).to_have_count(1, timeout=WAIT_MS)
        with person.page.expect_download(timeout=WAIT_MS) as download:
            back.get_by_role("button", name="Save notes.bin").click()
        saved = download.value.path()
        assert Path(saved).read_bytes() == document
    finally:
        person.close()

"""The demo of the README: it runs, narrates every feature and exits 0."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

from whatsapp_client.cli import main as cli_main
from whatsapp_client.demo import run_demo, tiny_png

EXPECTED = [
    "[1] Accounts and keys",
    "[2] Session set-up (X3DH) and a first message with emoji",
    "bob's one-time prekeys on the server: 100 -> 99",
    "Hi Bob! 👋 This message is end-to-end encrypted 🔒",
    "on the wire       E2EE:",
    "bob       decrypted 'Hi Bob! 👋",
    "status at alice   sent -> delivered -> read",
    "alice     sees: bob is typing…",
    "alice     sees: bob stopped typing",
    "image (image/png, ",
    "the bytes are identical",
    "alice     sees bob online",
    "bob       goes offline; alice sees it",
    "alice_bot (owner), bob_bot (member)",
    "bob    -> Demo Crew   'Happy to be here 😊'",
    "the same 60 digits on both sides",
    "sender_verified=True",
    "[pending: kept in her encrypted outbox]",
    "bob       received all 3, in order, each exactly once",
    "[10] A large file as an encrypted attachment",
    "upload    [####################] 100%  8.0 of 8.0 MiB",
    "download  [####################] 100%  8.0 of 8.0 MiB",
    "the digests match",
    "All checks passed",
]


async def test_demo_transcript() -> None:
    asyncio.get_running_loop().set_debug(True)
    lines: list[str] = []
    assert await run_demo(lines.append) == 0
    text = "\n".join(lines)
    position = 0
    for expected in EXPECTED:
        found = text.find(expected, position)
        assert found >= 0, f"missing or out of order: {expected!r}\n\n{text}"
        position = found
    alice_number = next(
        line for line in lines if line.startswith("  alice     ") and line[12:13].isdigit()
    )
    bob_number = next(
        line for line in lines if line.startswith("  bob       ") and line[12:13].isdigit()
    )
    assert alice_number[12:] == bob_number[12:]
    assert len(alice_number[12:].replace(" ", "")) == 60


def test_demo_command_exits_zero() -> None:
    # As a user runs it: without the asyncio debug mode the test suite turns on.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONASYNCIODEBUG"}
    env["PYTHONIOENCODING"] = "utf-8"
    done = subprocess.run(
        [sys.executable, "-m", "whatsapp_client", "demo"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "All checks passed" in done.stdout
    assert "[9] A dropped connection, recovered with nothing lost" in done.stdout
    assert done.stderr == ""


def test_demo_usage_and_bad_arguments() -> None:
    assert cli_main(["demo", "--help"]) == 0
    assert cli_main(["demo", "extra"]) == 2


def test_tiny_png_is_a_png() -> None:
    data = tiny_png(3, 2)
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and data.endswith(b"IEND\xaeB`\x82")

"""drain() must yield to the loop: a dispatch that has just finished stays in the
receiver's set until its done-callback runs, and awaiting a finished task never yields, so a
drain() that only awaited tasks would spin forever and freeze the event loop. Run in a
child process, since a frozen loop cannot time itself out."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import asyncio
from tests.cloud._webhooks_samples import APP_SECRET, VERIFY_TOKEN, encode, sign, text_payload
from whatsapp_client.cloud import WebhookHandlers, WebhookReceiver

async def main() -> None:
    handlers = WebhookHandlers()
    receiver = WebhookReceiver(app_secret=APP_SECRET, verify_token=VERIFY_TOKEN, handlers=handlers)
    drains = []

    @handlers.on_message
    async def handler(event) -> None:
        # drain() starts in the loop step right after this dispatch finishes, before the
        # dispatch's done-callback takes it out of the receiver's set.
        drains.append(asyncio.ensure_future(receiver.drain()))

    body = encode(text_payload("wamid.drain"))
    assert (await receiver.handle_post(body, sign(body)))[0] == 200
    while not drains:
        await asyncio.sleep(0.01)
    await asyncio.wait_for(drains[0], 5)
    print("drained")

asyncio.run(main())
"""


def test_drain_returns_when_the_last_dispatch_has_just_finished() -> None:
    try:
        done = subprocess.run(
            [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=60
        )
    except subprocess.TimeoutExpired:
        raise AssertionError("drain() froze the event loop") from None
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "drained"

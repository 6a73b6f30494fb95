"""``whatsapp-client cloud-demo``: the Cloud API client end to end, against the local Graph
simulator, narrated.

Starts a :class:`~whatsapp_client.cloud.testing.GraphSimulator`, a webhook receiver
(``webhook_app`` on a loopback port) and a ``CloudClient`` pointed at the simulator. It
checks the phone number, answers the verification handshake, receives a signed inbound text
and a voice note, downloads the audio (sha256 checked), replies with a text and a template,
and shows that a payload with a bad signature is refused. Exit code 0 when every step
checked out. Nothing leaves 127.0.0.1; every credential is random and thrown away.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import logging
import secrets
import sys
from collections.abc import Sequence
from typing import Callable, Optional

from aiohttp import ClientSession, ClientTimeout, web

from whatsapp_client._waits import wait_for
from whatsapp_client.cloud._client import CloudClient
from whatsapp_client.cloud._events import MessageEvent
from whatsapp_client.cloud._limiter import LocalLimiter
from whatsapp_client.cloud._templates import Body, Text
from whatsapp_client.cloud._webhook_app import webhook_app
from whatsapp_client.cloud.testing import GraphSimulator

__all__ = ["DemoError", "main", "run_demo"]

CUSTOMER = "15557654321"
TEMPLATE = ("order_ready", "en_US")
STEP_TIMEOUT = 15.0
# A small Ogg/Opus-like voice note: the simulator stores bytes, it does not decode them.
VOICE_NOTE = b"OggS\x00\x02" + bytes(range(256)) * 64


class DemoError(Exception):
    """A step did not do what it should."""


def _check(condition: bool, what: str) -> None:
    if not condition:
        raise DemoError(what)


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = int(runner.addresses[0][1])
    return runner, f"http://127.0.0.1:{port}/webhooks/whatsapp"


async def run_demo(say: Callable[[str], None] = print) -> None:
    """Runs every step; raises :class:`DemoError` (or the client's error) on the first
    that fails."""
    verify_token = secrets.token_urlsafe(16)
    async with GraphSimulator() as sim:
        sim.add_template(*TEMPLATE, body_params=1)
        say(f"1. Graph API simulator on {sim.base_url} (phone number id {sim.phone_number_id})")
        # No 6 s spacing between the two replies to the same customer: this is a demo.
        cloud = CloudClient(
            sim.access_token,
            sim.phone_number_id,
            app_secret=sim.app_secret,
            verify_token=verify_token,
            base_url=sim.base_url,
            api_version=sim.api_version,
            timeout=STEP_TIMEOUT,
            limiter=LocalLimiter(pair_spacing=0),
        )
        texts: asyncio.Queue[MessageEvent] = asyncio.Queue()
        voices: asyncio.Queue[tuple[MessageEvent, bytes]] = asyncio.Queue()

        @cloud.on_message(type="text")
        async def on_text(event: MessageEvent) -> None:
            await texts.put(event)

        @cloud.on_message(type="audio")
        async def on_audio(event: MessageEvent) -> None:
            assert event.media_id is not None
            data = await cloud.download_media(event.media_id)
            assert isinstance(data, bytes)
            await voices.put((event, data))

        runner, hook_url = await _serve(webhook_app(cloud))
        try:
            await _steps(sim, cloud, hook_url, verify_token, texts, voices, say)
        finally:
            await cloud.close()
            await runner.cleanup()


async def _steps(
    sim: GraphSimulator,
    cloud: CloudClient,
    hook_url: str,
    verify_token: str,
    texts: asyncio.Queue[MessageEvent],
    voices: asyncio.Queue[tuple[MessageEvent, bytes]],
    say: Callable[[str], None],
) -> None:
    info = await cloud.check()
    say(f"2. Phone number checks out: {info.display_phone_number} ({info.verified_name})")

    challenge = secrets.token_hex(8)
    params = {"hub.mode": "subscribe", "hub.verify_token": verify_token, "hub.challenge": challenge}
    async with (
        ClientSession(timeout=ClientTimeout(total=STEP_TIMEOUT)) as http,
        http.get(hook_url, params=params) as response,
    ):
        answer = await response.text()
    _check(response.status == 200 and answer == challenge, "verification handshake failed")
    say(f"3. Webhook {hook_url} answered the verification handshake")

    status = await sim.deliver(hook_url, sim.inbound_text(CUSTOMER, "Hi! Is my order ready?"))
    _check(status == 200, f"signed text webhook answered {status}")
    text = await wait_for(texts.get(), STEP_TIMEOUT)
    say(f"4. Signed webhook delivered a text from +{text.from_}: {text.text!r}")
    read = await cloud.mark_as_read(text.message_id)
    _check(read.success, "mark as read failed")

    media_id = sim.add_media(VOICE_NOTE, "audio/ogg; codecs=opus")
    payload = sim.inbound_media(CUSTOMER, "audio", media_id, "audio/ogg; codecs=opus")
    status = await sim.deliver(hook_url, payload)
    _check(status == 200, f"signed audio webhook answered {status}")
    voice, data = await wait_for(voices.get(), STEP_TIMEOUT)
    digest = hashlib.sha256(data).hexdigest()
    _check(digest == voice.sha256, "the voice note's sha256 does not match")
    say(f"5. Voice note {voice.media_id} downloaded: {len(data)} bytes, sha256 {digest[:16]}...")

    sent = await cloud.send_text(CUSTOMER, "Thanks! Your order is ready.", reply_to=text.message_id)
    say(f"6. Replied with a text: {sent.message_id}")
    sent = await cloud.send_template(CUSTOMER, *TEMPLATE, [Body([Text("#1042")])])
    say(f"7. Sent template {TEMPLATE[0]!r} ({TEMPLATE[1]}): {sent.message_id}")

    forged = await sim.deliver(
        hook_url, sim.inbound_text(CUSTOMER, "forged"), signature="sha256=" + "0" * 64
    )
    _check(forged == 401, f"a forged signature was answered {forged}, not 401")
    say("8. A webhook with a forged signature was refused (401)")

    kinds = [body.get("type") for body in sim.sent]
    _check(kinds == ["text", "template"], f"the simulator received {kinds}")
    _check(sim.read_receipts == [text.message_id], "the read receipt did not arrive")
    say(f"9. The simulator received: {', '.join(str(k) for k in kinds)} and 1 read receipt")


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="whatsapp-client cloud-demo",
        description="Run the Cloud API client against the local Graph API simulator: "
        "signed webhooks in, a voice note downloaded, a text and a template out.",
    )
    parser.parse_args(argv)
    # The package's warnings (such as the refused forged webhook) in line with the steps.
    handler = logging.StreamHandler(sys.stdout)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("   log: %(message)s"))
    logger = logging.getLogger("whatsapp.cloud")
    logger.addHandler(handler)
    try:
        asyncio.run(run_demo())
    except Exception as exc:  # every failure is reported, exit 1
        print(f"cloud-demo failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        logger.removeHandler(handler)
    print("cloud-demo: every step checked out.")
    return 0

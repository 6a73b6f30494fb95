"""Cloud API client against pywa (installed from PyPI), in the same run.

* **webhooks** — verify + parse + dispatch of a realistic batched delivery (2 entries x 2
  changes, each with 3 texts, an image and 2 statuses: 24 events), per event, by our
  ``WebhookReceiver`` (signature, msgspec parsing, duplicate record, handlers). pywa handles
  only the first item of a delivery, so it gets each event in its own delivery
  (``webhook_update_validator`` + ``webhook_update_handler``) and is timed per event that
  way. Our single-event deliveries are reported too.
* **send** — ``send_text`` against the local Graph simulator on loopback, one at a time, by
  our ``CloudClient`` (validation, pacing, breaker, retries, typed result) and by pywa's
  async client; also a bare ``aiohttp`` POST of the same JSON, the floor both stand on. The
  client overhead is a client's time per send minus that floor.

Full run (figures in docs/benchmarks-cloud.md)::

    python benches/bench_cloud.py --events 24000 --sends 3000 --rounds 5

Under pytest the same code runs at toy sizes as a smoke benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import time
from collections.abc import Awaitable
from typing import Any, Callable

import aiohttp

from whatsapp_client.cloud import (
    CloudClient,
    LocalLimiter,
    MemoryDedupStore,
    WebhookHandlers,
    WebhookReceiver,
)
from whatsapp_client.cloud.testing import Business, GraphSimulator, batch, sign
from whatsapp_client.cloud.testing._webhooks import (
    business_scoped_id,
    encode,
    envelope,
    media_message,
    status_object,
    text_message,
    value,
)

APP_SECRET = "bench-app-secret-0123456789abcdef"
VERIFY_TOKEN = "bench-verify-token"
TOKEN = "bench-access-token"
PHONE = "106540352242922"
BUSINESS = Business(PHONE, "15550783881", "102290129340398")
RECIPIENT = "15551234567"
STATUS_RECIPIENT = "15550001111"


# --- payloads ----------------------------------------------------------------------------


def _with_recipient(change: dict[str, Any]) -> dict[str, Any]:
    # Status deliveries name their recipient in `contacts` too (pywa 4.5 requires it).
    contact = {"wa_id": STATUS_RECIPIENT, "user_id": business_scoped_id(STATUS_RECIPIENT)}
    change.setdefault("contacts", []).append(contact)
    return change


def _change(tag: str) -> dict[str, Any]:
    texts = [
        text_message(f"1555000{i:04d}", f"hello {i}", message_id=f"wamid.{tag}.t{i}")
        for i in range(3)
    ]
    image = media_message(
        "15550009999",
        "image",
        f"{tag}9",
        "image/jpeg",
        sha256="a" * 44,
        caption="a photo",
        message_id=f"wamid.{tag}.i",
    )
    statuses = [status_object(f"wamid.{tag}.s{i}", "delivered", STATUS_RECIPIENT) for i in range(2)]
    return _with_recipient(value(BUSINESS, messages=[*texts, image], statuses=statuses))


def batched_delivery(n: int) -> dict[str, Any]:
    """Delivery ``n``: 2 entries x 2 changes x (3 texts + 1 image + 2 statuses) = 24 events."""
    entries = [envelope(BUSINESS, [_change(f"{n}.{e}.{c}") for c in range(2)]) for e in range(2)]
    return batch(*entries)


def single_deliveries(n: int) -> list[dict[str, Any]]:
    """The events of :func:`batched_delivery` ``n``, each alone in its own delivery."""
    out: list[dict[str, Any]] = []
    for entry in batched_delivery(n)["entry"]:
        for change in entry["changes"]:
            v = change["value"]
            for m in v.get("messages", []):
                out.append(envelope(BUSINESS, [value(BUSINESS, messages=[m])]))
            for s in v.get("statuses", []):
                status_value = _with_recipient(value(BUSINESS, statuses=[s]))
                out.append(envelope(BUSINESS, [status_value]))
    return out


EVENTS_PER_DELIVERY = 24


# --- webhooks ----------------------------------------------------------------------------


def _receiver(counter: list[int], sync_handlers: bool) -> WebhookReceiver:
    handlers = WebhookHandlers()
    if sync_handlers:

        def count_sync(_event: Any) -> None:
            counter[0] += 1

        handlers.on_message(count_sync)
        handlers.on_status(count_sync)
    else:

        async def count(_event: Any) -> None:
            counter[0] += 1

        handlers.on_message(count)
        handlers.on_status(count)
    return WebhookReceiver(
        app_secret=APP_SECRET,
        verify_token=VERIFY_TOKEN,
        handlers=handlers,
        dedup=MemoryDedupStore(),
    )


async def ours_webhooks(deliveries: int, *, batched: bool, sync_handlers: bool = False) -> float:
    """Seconds per event through our receiver."""
    counter = [0]
    receiver = _receiver(counter, sync_handlers)
    if batched:
        bodies = [encode(batched_delivery(i)) for i in range(deliveries)]
    else:
        bodies = [encode(p) for i in range(deliveries) for p in single_deliveries(i)]
    signed = [(b, sign(b, APP_SECRET)) for b in bodies]
    start = time.perf_counter()
    for body, signature in signed:
        status, _ = await receiver.handle_post(body, signature)
        await receiver.drain()
        assert status == 200
    elapsed = time.perf_counter() - start
    assert counter[0] == deliveries * EVENTS_PER_DELIVERY, counter
    return elapsed / counter[0]


def pywa_webhooks(deliveries: int) -> float:
    """Seconds per event through pywa, one event per delivery (all it handles of one)."""
    from pywa import handlers as pywa_handlers
    from pywa.client import WhatsApp

    wa = WhatsApp(
        phone_id=PHONE,
        token=TOKEN,
        server=None,
        verify_token=VERIFY_TOKEN,
        app_secret=APP_SECRET,
        validate_updates=True,
    )
    counter = [0]

    def count(_client: Any, _update: Any) -> None:
        counter[0] += 1

    wa.add_handlers(pywa_handlers.MessageHandler(count), pywa_handlers.MessageStatusHandler(count))
    bodies = [encode(p) for i in range(deliveries) for p in single_deliveries(i)]
    signed = [(b, sign(b, APP_SECRET)) for b in bodies]
    start = time.perf_counter()
    for body, signature in signed:
        assert wa.webhook_update_validator(body, signature) is None
        wa.webhook_update_handler(body)
    elapsed = time.perf_counter() - start
    assert counter[0] == len(bodies), counter
    return elapsed / counter[0]


def pywa_on_batch() -> int:
    """How many of one batched delivery's 24 events pywa hands to its handlers."""
    from pywa import handlers as pywa_handlers
    from pywa.client import WhatsApp

    wa = WhatsApp(
        phone_id=PHONE,
        token=TOKEN,
        server=None,
        verify_token=VERIFY_TOKEN,
        app_secret=APP_SECRET,
        validate_updates=True,
    )
    seen = [0]

    def count(_client: Any, _update: Any) -> None:
        seen[0] += 1

    wa.add_handlers(pywa_handlers.MessageHandler(count), pywa_handlers.MessageStatusHandler(count))
    wa.webhook_update_handler(encode(batched_delivery(0)))
    return seen[0]


# --- sending -----------------------------------------------------------------------------


async def _per_call(n: int, call: Callable[[int], Awaitable[Any]]) -> float:
    for i in range(min(20, n)):  # warm connections and caches
        await call(i)
    start = time.perf_counter()
    for i in range(n):
        await call(i)
    return (time.perf_counter() - start) / n


async def floor_send(sim: GraphSimulator, n: int) -> float:
    url = f"{sim.base_url}/{sim.api_version}/{PHONE}/messages"
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    async with aiohttp.ClientSession() as session:

        async def call(i: int) -> Any:
            body = {
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": RECIPIENT,
                "type": "text",
                "text": {"body": f"m{i}"},
            }
            async with session.post(url, data=json.dumps(body), headers=headers) as resp:
                assert resp.status == 200
                return await resp.json()

        return await _per_call(n, call)


async def ours_send(sim: GraphSimulator, n: int) -> float:
    limiter = LocalLimiter(rate_per_second=1_000_000, pair_spacing=0)
    async with CloudClient(TOKEN, PHONE, base_url=sim.base_url, limiter=limiter) as cloud:

        async def call(i: int) -> Any:
            return await cloud.send_text(RECIPIENT, f"m{i}")

        return await _per_call(n, call)


async def pywa_send(sim: GraphSimulator, n: int) -> float:
    from pywa_async.client import WhatsApp

    wa = WhatsApp(phone_id=PHONE, token=TOKEN)
    wa.api._session.base_url = f"{sim.base_url}/{sim.api_version}"

    async def call(i: int) -> Any:
        return await wa.send_message(to=RECIPIENT, text=f"m{i}")

    try:
        return await _per_call(n, call)
    finally:
        await wa.api._session.aclose()


# --- the run -----------------------------------------------------------------------------


async def run(events: int, sends: int, rounds: int) -> dict[str, Any]:
    logging.disable(logging.CRITICAL)  # pywa logs every update at INFO
    deliveries = max(1, events // EVENTS_PER_DELIVERY)
    hooks: dict[str, list[float]] = {
        "ours_batched": [],
        "ours_batched_sync": [],
        "ours_single": [],
        "pywa": [],
    }
    sending: dict[str, list[float]] = {"floor": [], "ours": [], "pywa": []}
    async with GraphSimulator(
        access_token=TOKEN, phone_number_id=PHONE, app_secret=APP_SECRET
    ) as sim:
        for _ in range(rounds):  # interleaved, so drift on a shared machine hits all alike
            hooks["pywa"].append(pywa_webhooks(deliveries))
            hooks["ours_batched"].append(await ours_webhooks(deliveries, batched=True))
            hooks["ours_batched_sync"].append(
                await ours_webhooks(deliveries, batched=True, sync_handlers=True)
            )
            hooks["ours_single"].append(await ours_webhooks(deliveries, batched=False))
            sending["floor"].append(await floor_send(sim, sends))
            sending["ours"].append(await ours_send(sim, sends))
            sending["pywa"].append(await pywa_send(sim, sends))
            sim.sent.clear()
    logging.disable(logging.NOTSET)
    h = {k: statistics.median(v) for k, v in hooks.items()}
    s = {k: statistics.median(v) for k, v in sending.items()}
    ours_overhead, pywa_overhead = s["ours"] - s["floor"], s["pywa"] - s["floor"]
    return {
        "webhooks_us_per_event": {k: round(v * 1e6, 2) for k, v in h.items()},
        "webhooks_ratio_batched": round(h["ours_batched"] / h["pywa"], 3),
        "webhooks_ratio_batched_sync_handlers": round(h["ours_batched_sync"] / h["pywa"], 3),
        "webhooks_ratio_single": round(h["ours_single"] / h["pywa"], 3),
        "pywa_events_handled_of_a_24_event_batch": pywa_on_batch(),
        "send_us_per_call": {k: round(v * 1e6, 1) for k, v in s.items()},
        "send_overhead_us": {
            "ours": round(ours_overhead * 1e6, 1),
            "pywa": round(pywa_overhead * 1e6, 1),
        },
        "send_overhead_ratio": round(ours_overhead / pywa_overhead, 3),
        "send_total_ratio": round(s["ours"] / s["pywa"], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=24_000)
    parser.add_argument("--sends", type=int, default=3_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.events, args.sends, args.rounds)), indent=2))


def test_cloud_bench_smoke() -> None:
    result = asyncio.run(run(events=48, sends=10, rounds=1))
    assert result["pywa_events_handled_of_a_24_event_batch"] < EVENTS_PER_DELIVERY
    assert result["webhooks_ratio_batched"] > 0 and result["send_overhead_us"]["pywa"] != 0


if __name__ == "__main__":
    main()

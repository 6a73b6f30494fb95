"""Helpers of the client tests: a CloudClient pointed at a running GraphSimulator."""

from __future__ import annotations

from typing import Any

from whatsapp_client.cloud._client import CloudClient
from whatsapp_client.cloud._limiter import LocalLimiter
from whatsapp_client.cloud.testing import GraphSimulator

TO = "+15551234567"
WA_ID = "15551234567"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


class SleepRecorder:
    """Stands in for asyncio.sleep in the transport: records each backoff wait, waits 0."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def make_client(sim: GraphSimulator, **options: Any) -> tuple[CloudClient, SleepRecorder]:
    """A client on the simulator with no pair spacing (``limiter=None``: the client's
    default) and a recorded (instant) backoff."""
    if "limiter" not in options:
        options["limiter"] = LocalLimiter(pair_spacing=0)
    options.setdefault("backoff_base", 0.01)
    options.setdefault("timeout", 10.0)
    token = options.pop("access_token", sim.access_token)
    client = CloudClient(token, sim.phone_number_id, base_url=sim.base_url, **options)
    recorder = SleepRecorder()
    client.transport.sleep = recorder
    return client, recorder

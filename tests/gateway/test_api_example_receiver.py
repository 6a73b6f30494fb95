"""examples/gateway_webhook_receiver.py: a signed request is accepted and printed once (a
redelivery with the same webhook-id is dropped); a forged one, or one signed with another
secret, is refused; during a rotation either secret verifies."""

from __future__ import annotations

import datetime
import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from standardwebhooks import Webhook

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "gateway_webhook_receiver.py"
OLD = "whsec_" + "b2xkIHNlY3JldCBmb3IgdGhlIHRlc3Rz"
NEW = "whsec_" + "bmV3IHNlY3JldCBmb3IgdGhlIHRlc3Rz"


def _example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gateway_webhook_receiver", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _signed(secret: str, webhook_id: str, event: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(event).encode()
    now = datetime.datetime.now(datetime.timezone.utc)
    signature = Webhook(secret).sign(webhook_id, now, body.decode())
    headers = {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
        "Content-Type": "application/json",
    }
    return body, headers


async def test_the_example_receiver_verifies_and_drops_duplicates(
    capsys: pytest.CaptureFixture[str],
) -> None:
    app = _example().make_app([NEW, OLD])
    event = {"type": "message.received", "session_id": "ses_1", "timestamp": 1, "data": {}}
    async with TestClient(TestServer(app)) as client:
        for n, secret in enumerate((NEW, OLD)):
            body, headers = _signed(secret, f"evt_rotation_{n}", event)
            assert (await client.post("/hook", data=body, headers=headers)).status == 204
        body, headers = _signed(NEW, "evt_same", event)
        for _ in range(2):
            assert (await client.post("/hook", data=body, headers=headers)).status == 204
        other = "whsec_" + "YW5vdGhlciBzZWNyZXQgZW50aXJlbHk="
        body, headers = _signed(other, "evt_forged", event)
        assert (await client.post("/hook", data=body, headers=headers)).status == 401
        tampered = body.replace(b"ses_1", b"ses_2")
        _, headers = _signed(NEW, "evt_tampered", event)
        assert (await client.post("/hook", data=tampered, headers=headers)).status == 401
    printed = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")
    ]
    assert len(printed) == 3  # two rotated secrets, and the duplicate once

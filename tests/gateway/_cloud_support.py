"""What the cloud engine tests share: the Graph API simulator (a real aiohttp server), a
cloud session of the gateway pointed at it, and the session's webhook URL on the gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Optional

from tests.gateway._api_support import GatewayHandle, unique_name, wait_for
from whatsapp_client.cloud.testing import GraphSimulator

ACCESS_TOKEN = "EAAGsim-access-token-Zq81vLm2"
APP_SECRET = "sim-app-secret-Rt5wQ0xK"
VERIFY_TOKEN = "sim-verify-token-Hn3Cp7"
SECRETS = (ACCESS_TOKEN, APP_SECRET, VERIFY_TOKEN)
CUSTOMER = "14155550123"  # a valid US number (phonenumbers), Graph's wa_id form
OTHER_CUSTOMER = "447700900123"


@asynccontextmanager
async def simulator(**options: Any) -> AsyncIterator[GraphSimulator]:
    async with GraphSimulator(app_secret=APP_SECRET, access_token=ACCESS_TOKEN, **options) as sim:
        yield sim


def cloud_body(sim: GraphSimulator, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": unique_name("cloud"),
        "engine": "cloud",
        "phone_number_id": sim.phone_number_id,
        "access_token": ACCESS_TOKEN,
        "app_secret": APP_SECRET,
        "verify_token": VERIFY_TOKEN,
        "base_url": sim.base_url,
        "pair_spacing": 0,
    }
    body.update(extra)
    return body


async def create_cloud_session(
    gw: GatewayHandle,
    sim: GraphSimulator,
    *,
    webhooks: Optional[list[dict[str, Any]]] = None,
    **extra: Any,
) -> dict[str, Any]:
    body = cloud_body(sim, **extra)
    if webhooks is not None:
        body["webhooks"] = webhooks
    answer = await gw.call("POST", "/api/v1/sessions", json_body=body)
    assert answer.status == 201, answer.body
    assert isinstance(answer.body, dict)
    return answer.body


def hook_path(session_id: str) -> str:
    return f"/api/v1/sessions/{session_id}/cloud/webhook"


def hook_url(gw: GatewayHandle, session_id: str) -> str:
    return gw.url + hook_path(session_id)


async def history(gw: GatewayHandle, session_id: str, **params: str) -> list[dict[str, Any]]:
    answer = await gw.call("GET", f"/api/v1/sessions/{session_id}/messages", params=params)
    assert answer.status == 200, answer.body
    return list(answer.body["messages"])


async def message(gw: GatewayHandle, session_id: str, message_id: str) -> dict[str, Any]:
    answer = await gw.call("GET", f"/api/v1/sessions/{session_id}/messages/{message_id}")
    assert answer.status == 200, answer.body
    return dict(answer.body)


async def wait_message(
    gw: GatewayHandle, session_id: str, message_id: str, status: str
) -> dict[str, Any]:
    """Polls a message until it has ``status``; returns it."""

    async def reached() -> bool:
        return bool((await message(gw, session_id, message_id))["status"] == status)

    await wait_for(reached, what=f"message {message_id} {status}")
    return await message(gw, session_id, message_id)

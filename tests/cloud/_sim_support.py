"""Helpers of the simulator tests: a session pointed at a running simulator."""

from __future__ import annotations

from typing import Any, Optional

import aiohttp

from whatsapp_client.cloud.testing import GraphSimulator


def auth(sim: GraphSimulator, token: Optional[str] = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {sim.access_token if token is None else token}"}


async def post_message(
    session: aiohttp.ClientSession,
    sim: GraphSimulator,
    body: dict[str, Any],
    *,
    token: Optional[str] = None,
) -> tuple[int, dict[str, Any]]:
    """POST /{v}/{phone_number_id}/messages; returns (status, JSON answer)."""
    url = f"{sim.graph_url}/{sim.phone_number_id}/messages"
    async with session.post(url, json=body, headers=auth(sim, token)) as response:
        answer: dict[str, Any] = await response.json()
        return response.status, answer


def text(to: str = "15551234567", body: str = "hello") -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": {"body": body},
    }

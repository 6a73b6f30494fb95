"""Webhook routes against the real dispatcher and a real receiver: endpoints listed without
secrets, deliveries listed with their outcome, a redelivery arrives again with the same
``webhook-id``, and a rotated secret signs with both."""

from __future__ import annotations

import asyncio
from typing import Any

from standardwebhooks import Webhook

from tests.gateway._api_support import (
    GatewayHandle,
    Receiver,
    create_session,
    wait_for,
    wait_status,
)
from whatsapp_client.server.testing import ServerHandle


async def _connected_session(
    gw: GatewayHandle, chat: ServerHandle, receiver: Receiver
) -> tuple[dict[str, Any], str]:
    created = await create_session(gw, chat.url, webhooks=[{"url": receiver.url}])
    session = await wait_status(gw, created["id"], "connected")
    return session, created["webhooks"][0]["secret"]


async def test_deliveries_are_listed_and_can_be_redelivered(
    gateway: GatewayHandle, chat_server: ServerHandle, receiver: Receiver
) -> None:
    session, secret = await _connected_session(gateway, chat_server, receiver)
    sid = session["id"]
    endpoints = await gateway.call("GET", f"/api/v1/sessions/{sid}/webhooks")
    [endpoint] = endpoints.body["webhooks"]
    assert endpoint["url"] == receiver.url and endpoint["enabled"] is True
    assert "secret" not in endpoint and secret not in endpoints.raw.decode()

    async def delivered() -> bool:
        answer = await gateway.call(
            "GET", f"/api/v1/sessions/{sid}/deliveries", params={"state": "delivered"}
        )
        return bool(answer.body["deliveries"])

    await wait_for(delivered, what="a delivered session.status event")
    listed = await gateway.call("GET", f"/api/v1/sessions/{sid}/deliveries")
    first = listed.body["deliveries"][-1]  # newest first: the oldest is last
    assert first["endpoint_id"] == endpoint["id"] and first["last_status"] == 200
    count = len(receiver.requests)
    redelivered = await gateway.call(
        "POST", f"/api/v1/sessions/{sid}/deliveries/{first['seq']}/redeliver"
    )
    assert redelivered.status == 202, redelivered.body
    assert redelivered.body["event_id"] == first["event_id"]

    async def again() -> bool:
        return len(receiver.requests) > count

    await wait_for(again, what="the redelivery")
    ids = [h["webhook-id"] for h, _ in receiver.requests if h["webhook-id"] == first["event_id"]]
    assert len(ids) >= 2  # the same id: a receiver drops the duplicate
    headers, body = receiver.requests[-1]
    Webhook(secret).verify(body, headers)

    for seq in ("0", "abc", "99999999"):
        answer = await gateway.call("POST", f"/api/v1/sessions/{sid}/deliveries/{seq}/redeliver")
        expected = (404, "not_found") if seq == "99999999" else (400, "invalid_request")
        assert (answer.status, answer.code) == expected, seq
    for params in ({"state": "lost"}, {"limit": "0"}, {"colour": "red"}):
        answer = await gateway.call("GET", f"/api/v1/sessions/{sid}/deliveries", params=params)
        assert (answer.status, answer.code) == (400, "invalid_request"), params


async def test_a_rotated_secret_signs_with_both(
    gateway: GatewayHandle, chat_server: ServerHandle, receiver: Receiver
) -> None:
    session, old = await _connected_session(gateway, chat_server, receiver)
    sid = session["id"]
    new = "whsec_" + "bmV3IHNlY3JldCBmb3Igcm90YXRpb24h"
    patched = await gateway.call(
        "PATCH",
        f"/api/v1/sessions/{sid}",
        json_body={"webhooks": [{"url": receiver.url, "secret": new, "previous_secret": old}]},
    )
    assert patched.status == 200, patched.body
    assert patched.body["webhooks"][0]["secret"] == new
    count = len(receiver.requests)
    # Endpoints are cached by the dispatcher for a moment: the rotation shows on the events
    # posted after that; stop and restart make new ones until a doubly signed one arrives.

    def doubly_signed() -> list[tuple[dict[str, str], bytes]]:
        return [
            (h, b) for h, b in receiver.requests[count:] if len(h["webhook-signature"].split()) == 2
        ]

    async def rotated() -> bool:
        if doubly_signed():
            return True
        for action in ("stop", "restart"):
            assert (await gateway.call("POST", f"/api/v1/sessions/{sid}/{action}")).status == 200
        await asyncio.sleep(0.3)
        return bool(doubly_signed())

    await wait_for(rotated, what="an event signed with both secrets")
    headers, body = doubly_signed()[0]
    Webhook(new).verify(body, headers)
    Webhook(old).verify(body, headers)

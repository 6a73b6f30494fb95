"""The basic path: register, connect, send, deliver, acknowledge."""

from __future__ import annotations

import aiohttp

from tests.server.helpers import Account, connect, message
from whatsapp_client.server.testing import ServerHandle


async def test_message_roundtrip(
    server: ServerHandle, http: aiohttp.ClientSession, alice: Account, bob: Account
) -> None:
    a = await connect(http, server.ws_url, alice)
    b = await connect(http, server.ws_url, bob)
    frame = message(bob.id, "hi bob")
    await a.send(frame)
    sent = await a.expect("sent", id=frame["id"])
    got = await b.expect("message", id=frame["id"])
    assert got["from"] == alice.id
    assert got["to"] == bob.id
    assert got["content"] == "hi bob"
    assert got["timestamp"] == sent["timestamp"]
    await b.send({"type": "ack", "ids": [frame["id"]]})
    status = await a.expect("status")
    assert status == {
        "type": "status",
        "message_ids": [frame["id"]],
        "status": "delivered",
        "by": bob.id,
    }
    await a.close()
    await b.close()

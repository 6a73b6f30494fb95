"""One gateway runs a ``wac1`` session (on the reference chat server) and a ``cloud``
session (on the Graph API simulator) side by side: each sends, each receives, and each
session's events reach its webhook, signed (verified with ``standardwebhooks``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.gateway._api_support import (
    CLIENT_OPTIONS,
    PASSWORD,
    GatewayHandle,
    create_session,
    unique_name,
    wait_for,
    wait_status,
)
from tests.gateway._cloud_support import (
    CUSTOMER,
    create_cloud_session,
    history,
    hook_url,
    simulator,
    wait_message,
)
from tests.gateway._hooks_support import receiver
from whatsapp_client import WhatsAppClient
from whatsapp_client.server.testing import ServerHandle


async def _status(gw: GatewayHandle, sid: str, mid: str, wanted: str) -> None:
    await wait_message(gw, sid, mid, wanted)


async def test_one_wac1_and_one_cloud_session_side_by_side(
    gateway: GatewayHandle, chat_server: ServerHandle, tmp_path: Path
) -> None:
    peer = WhatsAppClient(
        server_url=chat_server.url, storage_path=str(tmp_path / "peer"), **CLIENT_OPTIONS
    )
    async with simulator() as sim, receiver([]) as rec:
        try:
            peer_user = await peer.register(unique_name("peer"), PASSWORD)
            wac1 = await create_session(gateway, chat_server.url, webhooks=[{"url": rec.url}])
            cloud = await create_cloud_session(gateway, sim, webhooks=[{"url": rec.url}])
            rec.secrets += [wac1["webhooks"][0]["secret"], cloud["webhooks"][0]["secret"]]
            w_id, c_id = wac1["id"], cloud["id"]
            wac1_user = (await wait_status(gateway, w_id, "connected"))["user_id"]
            await wait_status(gateway, c_id, "connected")

            # Send on both.
            w_sent = await gateway.call(
                "POST",
                f"/api/v1/sessions/{w_id}/messages",
                json_body={"to": peer_user.username, "text": "from wac1"},
            )
            c_sent = await gateway.call(
                "POST",
                f"/api/v1/sessions/{c_id}/messages",
                json_body={"to": CUSTOMER, "text": "from cloud"},
            )
            assert w_sent.status == c_sent.status == 202, (w_sent.body, c_sent.body)
            await _status(gateway, w_id, w_sent.body["id"], "delivered")  # the peer has it
            await _status(gateway, c_id, c_sent.body["id"], "sent")
            assert [m["text"]["body"] for m in sim.sent] == ["from cloud"]

            # Receive on both.
            await peer.send_message(wac1_user, "to wac1")
            assert (
                await sim.deliver(hook_url(gateway, c_id), sim.inbound_text(CUSTOMER, "to cloud"))
                == 200
            )

            async def both_in() -> bool:
                w_in = await history(gateway, w_id, direction="inbound")
                c_in = await history(gateway, c_id, direction="inbound")
                return bool(w_in) and bool(c_in)

            await wait_for(both_in, what="a message in on each session")
            [w_in] = await history(gateway, w_id, direction="inbound")
            [c_in] = await history(gateway, c_id, direction="inbound")
            assert (w_in["text"], w_in["peer"]) == ("to wac1", peer_user.id)
            assert (c_in["text"], c_in["peer"]) == ("to cloud", CUSTOMER)
            # Each session's history holds only its own messages.
            assert {m["text"] for m in await history(gateway, w_id)} == {"from wac1", "to wac1"}
            assert {m["text"] for m in await history(gateway, c_id)} == {"from cloud", "to cloud"}

            # Webhooks for both, each event under its own session, signed.
            def received() -> list[dict[str, Any]]:
                return [
                    r.payload
                    for r in rec.received
                    if r.payload and r.payload["type"] == "message.received"
                ]

            async def hooks() -> bool:
                return len(received()) >= 2

            await wait_for(hooks, what="a message.received webhook per session")
            got = {(e["session_id"], e["data"]["text"]) for e in received()}
            assert got == {(w_id, "to wac1"), (c_id, "to cloud")}
        finally:
            await peer.close()

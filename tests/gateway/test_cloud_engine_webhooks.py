"""Inbound on a cloud session: Meta's calls to the session's webhook route on the gateway
(no API key; the verify token on GET, the app secret's signature on POST), turned into the
gateway's own events and webhooks (verified here with ``standardwebhooks``), media stored
like ``wac1``'s, statuses moving sent messages forward; and a restart keeps the session."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pytest

from tests.gateway._api_support import (
    ON_BOTH_BACKENDS,
    GatewayHandle,
    running_gateway,
    wait_for,
    wait_status,
)
from tests.gateway._cloud_support import (
    CUSTOMER,
    SECRETS,
    VERIFY_TOKEN,
    create_cloud_session,
    history,
    hook_path,
    hook_url,
    message,
    simulator,
    wait_message,
)
from tests.gateway._hooks_support import Receiver, receiver

OGG = b"OggS\x00\x02" + bytes(range(200)) * 20


def _events(rec: Receiver, type_: str) -> list[dict[str, Any]]:
    return [r.payload for r in rec.received if r.payload and r.payload["type"] == type_]


async def test_verification_handshake_needs_the_verify_token_not_an_api_key(
    gateway: GatewayHandle, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with simulator() as sim:
        sid = (await create_cloud_session(gateway, sim))["id"]
        ok = await gateway.call(
            "GET",
            hook_path(sid),
            key=None,
            params={
                "hub.mode": "subscribe",
                "hub.verify_token": VERIFY_TOKEN,
                "hub.challenge": "1158201444",
            },
        )
        assert (ok.status, ok.raw) == (200, b"1158201444")
        for token in ("wrong", ""):
            refused = await gateway.call(
                "GET",
                hook_path(sid),
                key=None,
                params={"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "7"},
            )
            assert (refused.status, refused.code) == (403, "forbidden")
            assert b"7" not in refused.raw.replace(b"403", b"")
        unknown = await gateway.call("GET", hook_path("ses_nope"), key=None)
        assert (unknown.status, unknown.code) == (404, "not_found")
        # The other routes of the session still need a key.
        assert (await gateway.call("GET", f"/api/v1/sessions/{sid}", key=None)).status == 401
        payload = sim.inbound_text(CUSTOMER, "hi")
        assert await sim.deliver(hook_url(gateway, sid), payload) == 200
        assert await sim.deliver(hook_url(gateway, sid), payload, signature="sha256=00") == 401
    names = {r.name for r in caplog.records}
    assert any("cloud" in n for n in names), names
    for secret in SECRETS:
        assert secret not in caplog.text


async def test_inbound_text_media_and_statuses_become_gateway_events(
    gateway: GatewayHandle,
) -> None:
    async with simulator() as sim, receiver([]) as rec:
        created = await create_cloud_session(gateway, sim, webhooks=[{"url": rec.url}])
        rec.secrets.append(created["webhooks"][0]["secret"])
        sid = created["id"]
        await wait_status(gateway, sid, "connected")
        url = hook_url(gateway, sid)

        assert await sim.deliver(url, sim.inbound_text(CUSTOMER, "where is my order?")) == 200
        media_id = sim.add_media(OGG, "audio/ogg")
        payload = sim.inbound_media(CUSTOMER, "audio", media_id, "audio/ogg; codecs=opus")
        assert await sim.deliver(url, payload) == 200
        # Meta delivers again what it is not sure arrived: recorded once.
        assert await sim.deliver(url, payload) == 200

        inbound = await history(gateway, sid, direction="inbound")
        assert [(m["type"], m["peer"]) for m in inbound] == [
            ("audio", CUSTOMER),
            ("text", CUSTOMER),
        ]
        audio, text = inbound
        assert text["text"] == "where is my order?" and text["status"] == "received"
        got = await gateway.call("GET", audio["media"]["url"])
        assert got.status == 200 and got.raw == OGG
        assert audio["media"]["mime"] == "audio/ogg" and audio["media"]["size"] == len(OGG)

        # Statuses of a sent message move it forward; a failure says why.
        sent = await gateway.call(
            "POST", f"/api/v1/sessions/{sid}/messages", json_body={"to": CUSTOMER, "text": "soon"}
        )
        mid = sent.body["id"]
        await wait_message(gateway, sid, mid, "sent")
        assert gateway.components is not None
        record = await gateway.components.storage.get_message(sid, mid)
        assert record is not None and record.engine_message_id is not None
        wamid = record.engine_message_id
        assert wamid.startswith("wamid.")
        for status in ("sent", "delivered", "read"):
            payload = sim.status_payload(wamid, status, CUSTOMER)
            assert await sim.deliver(url, payload) == 200
        assert (await message(gateway, sid, mid))["status"] == "read"

        failing = await gateway.call(
            "POST", f"/api/v1/sessions/{sid}/messages", json_body={"to": CUSTOMER, "text": "x"}
        )
        fid = failing.body["id"]
        await wait_message(gateway, sid, fid, "sent")
        f_record = await gateway.components.storage.get_message(sid, fid)
        assert f_record is not None and f_record.engine_message_id is not None
        failed = sim.status_payload(
            f_record.engine_message_id, "failed", CUSTOMER, error_code=131026
        )
        assert await sim.deliver(url, failed) == 200
        assert (await message(gateway, sid, fid))["status"] == "failed"

        # An account-level error of Graph's becomes an error event.
        assert await sim.deliver(url, sim.error_payload(131000, "Something went wrong")) == 200

        async def all_arrived() -> bool:
            return len(_events(rec, "error")) >= 2 and len(_events(rec, "message.status")) >= 5

        await wait_for(all_arrived, what="the webhooks")
        received = _events(rec, "message.received")
        assert [e["data"]["type"] for e in received] == ["text", "audio"]
        assert received[0]["data"]["from"] == CUSTOMER
        assert received[0]["data"]["text"] == "where is my order?"
        assert received[1]["data"]["media"]["url"].endswith(audio["media"]["id"])
        statuses = [(e["data"]["id"], e["data"]["status"]) for e in _events(rec, "message.status")]
        assert [s for i, s in statuses if i == mid] == ["sent", "delivered", "read"]
        assert [s for i, s in statuses if i == fid] == ["sent", "failed"]
        error, account = _events(rec, "error")
        assert error["data"]["code"] == "message_failed" and error["data"]["message_id"] == fid
        assert "131026" in error["data"]["message"]
        assert (
            account["data"]["code"] == "cloud_error" and account["data"]["graph_code"] == "131000"
        )
        assert "Something went wrong" in account["data"]["message"]


async def test_a_bad_signature_is_refused_and_records_nothing(gateway: GatewayHandle) -> None:
    async with simulator() as sim, receiver([]) as rec:
        created = await create_cloud_session(gateway, sim, webhooks=[{"url": rec.url}])
        rec.secrets.append(created["webhooks"][0]["secret"])
        sid = created["id"]
        await wait_status(gateway, sid, "connected")
        url = hook_url(gateway, sid)
        payload = sim.inbound_text(CUSTOMER, "forged")
        raw = json.dumps(payload).encode()
        forged = "sha256=" + "0" * 64
        for signature in (forged, "", "sha1=abc", sim.sign(raw).upper()):
            assert await sim.deliver(url, payload, signature=signature) == 401, signature
        # Signed with the right secret but for another body.
        assert await sim.deliver(url, payload, signature=sim.sign(raw + b" ")) == 401
        not_json = await gateway.call(
            "POST",
            hook_path(sid),
            key=None,
            data=b"not json",
            headers={"X-Hub-Signature-256": sim.sign(b"not json")},
        )
        assert (not_json.status, not_json.code) == (400, "invalid_request")
        huge = b"{" + b" " * (1024 * 1024) + b"}"
        too_big = await gateway.call(
            "POST",
            hook_path(sid),
            key=None,
            data=io.BytesIO(huge),
            headers={"X-Hub-Signature-256": sim.sign(huge)},
        )
        assert (too_big.status, too_big.code) == (413, "request_too_large")
        assert await history(gateway, sid) == []
        # Only the session.status events reached the receiver.
        assert {r.payload["type"] for r in rec.received if r.payload} <= {"session.status"}
        # The real one still goes through afterwards.
        assert await sim.deliver(url, sim.inbound_text(CUSTOMER, "real")) == 200
        assert [m["text"] for m in await history(gateway, sid)] == ["real"]


@ON_BOTH_BACKENDS
async def test_restart_keeps_the_cloud_session_and_reconnects(tmp_path: Any) -> None:
    async with simulator() as sim, running_gateway(tmp_path / "gw") as gw:
        # One message a minute: the second waits in the queue across the restart.
        sid = (await create_cloud_session(gw, sim, rate_limit_per_minute=1))["id"]
        await wait_status(gw, sid, "connected")
        path = f"/api/v1/sessions/{sid}/messages"
        first = await gw.call("POST", path, json_body={"to": CUSTOMER, "text": "first"})
        second = await gw.call("POST", path, json_body={"to": CUSTOMER, "text": "second"})
        await wait_message(gw, sid, first.body["id"], "sent")
        assert (await message(gw, sid, second.body["id"]))["status"] == "queued"
        await gw.restart()
        await wait_status(gw, sid, "connected")
        await wait_message(gw, sid, second.body["id"], "sent")
        assert [m["text"]["body"] for m in sim.sent] == ["first", "second"]
        assert await sim.deliver(hook_url(gw, sid), sim.inbound_text(CUSTOMER, "hello")) == 200
        assert [m["text"] for m in await history(gw, sid, direction="inbound")] == ["hello"]
        # Stopped: Meta is told to retry later; restarted: it goes through.
        assert (await gw.call("POST", f"/api/v1/sessions/{sid}/stop")).status == 200
        assert await sim.deliver(hook_url(gw, sid), sim.inbound_text(CUSTOMER, "later")) == 503
        assert (await gw.call("POST", f"/api/v1/sessions/{sid}/restart")).status == 200
        await wait_status(gw, sid, "connected")
        assert await sim.deliver(hook_url(gw, sid), sim.inbound_text(CUSTOMER, "later")) == 200
        # Deleted: the route is gone with the session.
        assert (await gw.call("DELETE", f"/api/v1/sessions/{sid}")).status == 204
        assert await sim.deliver(hook_url(gw, sid), sim.inbound_text(CUSTOMER, "gone")) == 404
        assert not (tmp_path / "gw" / "sessions" / sid).exists()

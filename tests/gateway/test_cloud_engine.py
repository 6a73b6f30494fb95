"""The gateway's ``cloud`` engine against the Graph API simulator, on the real gateway app:
a session connects once its token checks out (a refused one fails with the reason), sends
text and media through the queue, refuses what is not an E.164 number, and keeps its
secrets out of every answer, the OpenAPI document, the logs and the disk."""

from __future__ import annotations

import base64
import logging
from pathlib import Path
from typing import Any

import pytest

from tests.gateway._api_support import GatewayHandle, snapshot, wait_status
from tests.gateway._cloud_support import (
    ACCESS_TOKEN,
    CUSTOMER,
    SECRETS,
    cloud_body,
    create_cloud_session,
    message,
    simulator,
    wait_message,
)

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


async def _sent(gw: GatewayHandle, sid: str, mid: str, status: str = "sent") -> dict[str, Any]:
    return await wait_message(gw, sid, mid, status)


async def test_a_cloud_session_connects_sends_text_and_media_and_hides_its_secrets(
    gateway: GatewayHandle, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with simulator() as sim:
        created = await create_cloud_session(gateway, sim)
        sid = created["id"]
        session = await wait_status(gateway, sid, "connected")
        assert session["engine"] == "cloud" and session["user_id"] == sim.phone_number_id
        assert session["config"]["phone_number_id"] == sim.phone_number_id

        text = await gateway.call(
            "POST",
            f"/api/v1/sessions/{sid}/messages",
            json_body={"to": "+" + CUSTOMER, "text": "hi"},
        )
        assert text.status == 202, text.body
        media = await gateway.call(
            "POST",
            f"/api/v1/sessions/{sid}/messages",
            json_body={
                "to": CUSTOMER,
                "media": {"data": base64.b64encode(PNG).decode(), "mime": "image/png"},
                "caption": "the chart",
            },
        )
        assert media.status == 202, media.body
        sent_text = await _sent(gateway, sid, text.body["id"])
        sent_media = await _sent(gateway, sid, media.body["id"])
        assert sent_text["peer"] == CUSTOMER and sent_media["type"] == "image"
        [first, second] = sim.sent
        assert first["to"] == CUSTOMER and first["text"]["body"] == "hi"
        assert second["type"] == "image" and second["image"]["caption"] == "the chart"
        assert second["image"]["id"]  # uploaded first, then sent by id

        # Nothing secret in the creation answer, a read, the list or the OpenAPI document.
        listed = await gateway.call("GET", "/api/v1/sessions")
        one = await gateway.call("GET", f"/api/v1/sessions/{sid}")
        document = await gateway.call("GET", "/api/v1/openapi.json", key=None)
        for answer in (listed, one, document):
            for secret in SECRETS:
                assert secret.encode() not in answer.raw
        assert any("cloud" in r.name for r in caplog.records)  # the logs are captured
        for secret in SECRETS:
            assert secret not in str(created)
            assert secret not in caplog.text
    # Sealed at rest: no secret in clear anywhere under the data directory.
    assert _files_holding(Path(gateway.settings.data_dir), SECRETS) == []


def _files_holding(root: Path, secrets: tuple[str, ...]) -> list[Path]:
    return [
        path
        for path in root.rglob("*")
        if path.is_file() and any(s.encode() in path.read_bytes() for s in secrets)
    ]


async def test_recipients_must_be_e164_numbers(gateway: GatewayHandle) -> None:
    async with simulator() as sim:
        sid = (await create_cloud_session(gateway, sim))["id"]
        await wait_status(gateway, sid, "connected")
        before = await snapshot(gateway, [sid])
        for to in ("alice", "12345", "+1415555012", "+999123456789", "0044770090012x", ""):
            answer = await gateway.call(
                "POST", f"/api/v1/sessions/{sid}/messages", json_body={"to": to, "text": "x"}
            )
            assert (answer.status, answer.code) == (
                400,
                "invalid_recipient" if to else "invalid_request",
            ), to
        group = await gateway.call(
            "POST", f"/api/v1/sessions/{sid}/messages", json_body={"group_id": "g1", "text": "x"}
        )
        assert (group.status, group.code) == (400, "invalid_request")
        assert await snapshot(gateway, [sid]) == before
        assert sim.sent == []


async def test_a_refused_token_fails_the_session_with_the_reason(gateway: GatewayHandle) -> None:
    async with simulator() as sim:
        body = cloud_body(sim, access_token="EAAG-not-the-token")
        created = await gateway.call("POST", "/api/v1/sessions", json_body=body)
        assert created.status == 201, created.body
        failed = await wait_status(gateway, created.body["id"], "failed")
        assert "refused the access token" in failed["status_reason"]
        assert "EAAG-not-the-token" not in str(failed)


async def test_graph_unreachable_then_back_connects_after_retries(gateway: GatewayHandle) -> None:
    async with simulator() as sim:
        sim.fail_next(sim.phone_number_id, status=503, code=2, times=4)
        sid = (await create_cloud_session(gateway, sim))["id"]
        await wait_status(gateway, sid, "connected")


async def test_send_errors_are_final_or_retried_as_graph_says(gateway: GatewayHandle) -> None:
    async with simulator() as sim:
        sid = (await create_cloud_session(gateway, sim))["id"]
        await wait_status(gateway, sid, "connected")
        path = f"/api/v1/sessions/{sid}/messages"
        # A recipient Graph refuses: failed for good, with the reason.
        sim.fail_next(
            "/messages", code=131030, message="Recipient phone number not in allowed list"
        )
        refused = await gateway.call("POST", path, json_body={"to": CUSTOMER, "text": "one"})
        failed = await _sent(gateway, sid, refused.body["id"], "failed")
        assert "131030" in str(failed["reason"]) or "allowed list" in str(failed["reason"])
        # A rate limit: retried until Graph accepts it.
        sim.fail_next("/messages", code=130429, times=2, retry_after=0.05)
        paced = await gateway.call("POST", path, json_body={"to": CUSTOMER, "text": "two"})
        await _sent(gateway, sid, paced.body["id"])
        assert [m["text"]["body"] for m in sim.sent] == ["two"]
        # A revoked token: the session fails and the message stays queued.
        sim.fail_next("/messages", status=401, code=190, times=50)
        held = await gateway.call("POST", path, json_body={"to": CUSTOMER, "text": "three"})
        failed_session = await wait_status(gateway, sid, "failed")
        assert "refused the access token" in failed_session["status_reason"]
        assert (await message(gateway, sid, held.body["id"]))["status"] == "queued"


async def test_creation_is_validated_and_one_number_runs_once(gateway: GatewayHandle) -> None:
    async with simulator() as sim:
        before = await snapshot(gateway, [])
        bad: list[dict[str, Any]] = [
            {"phone_number_id": "abc"},
            {"app_secret": ""},
            {"verify_token": None},
            {"access_token": 42},
            {"api_version": "23"},
            {"base_url": "ftp://example.org"},
            {"rate_per_second": 0},
            {"pair_spacing": -1},
            {"username": "alice"},
        ]
        for change in bad:
            answer = await gateway.call(
                "POST", "/api/v1/sessions", json_body=cloud_body(sim, **change)
            )
            assert (answer.status, answer.code) == (400, "invalid_request"), change
        assert await snapshot(gateway, []) == before
        await create_cloud_session(gateway, sim)
        again = await gateway.call("POST", "/api/v1/sessions", json_body=cloud_body(sim))
        assert (again.status, again.code) == (409, "conflict")
        assert ACCESS_TOKEN.encode() not in again.raw


async def test_cloud_metrics_and_the_breaker_show_on_the_gateway_metrics(
    gateway: GatewayHandle,
) -> None:
    async with simulator() as sim:
        sid = (await create_cloud_session(gateway, sim))["id"]
        await wait_status(gateway, sid, "connected")
        path = f"/api/v1/sessions/{sid}/messages"
        ok = await gateway.call("POST", path, json_body={"to": CUSTOMER, "text": "one"})
        await _sent(gateway, sid, ok.body["id"])
        # A policy block: the message fails with Graph's reason and the breaker opens.
        sim.fail_next("/messages", code=368, message="Temporarily blocked for policy violations")
        blocked = await gateway.call("POST", path, json_body={"to": CUSTOMER, "text": "two"})
        failed = await _sent(gateway, sid, blocked.body["id"], "failed")
        assert "policy" in str(failed["reason"]) or "368" in str(failed["reason"])
        metrics = (await gateway.call("GET", "/metrics")).raw.decode()
        assert 'whatsapp_messages_sent_total{type="text"} 1.0' in metrics
        assert f'whatsapp_breaker_state{{phone_number_id="{sim.phone_number_id}"}} 2.0' in metrics
        assert 'whatsapp_api_latency_seconds_count{endpoint="messages"}' in metrics

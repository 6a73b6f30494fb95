"""How the cloud engine records what Graph's webhooks carry: each kind of inbound message
parsed by ``parse_webhook`` from Graph's own shapes, into the gateway's record (media kinds
by type, everything else as text), and the reason of a failed status."""

from __future__ import annotations

import json
from typing import Any

from whatsapp_client.cloud._events import MessageEvent, StatusEvent, parse_webhook
from whatsapp_client.gateway._cloud_inbound import failure_reason, inbound_of, media_kind_of

SENDER = "16505551234"


def _event(message: dict[str, Any]) -> MessageEvent:
    body = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550100001",
                                "phone_number_id": "106540352242922",
                            },
                            "contacts": [{"profile": {"name": "Sheena"}, "wa_id": SENDER}],
                            "messages": [
                                {"from": SENDER, "id": "wamid.X1", "timestamp": "1749416383"}
                                | message
                            ],
                        },
                    }
                ],
            }
        ],
    }
    [event] = parse_webhook(json.dumps(body).encode())
    assert isinstance(event, MessageEvent)
    return event


def test_text_keeps_sender_name_and_time_in_ms() -> None:
    record = inbound_of(_event({"type": "text", "text": {"body": "hello"}}), None)
    assert (record.type, record.text, record.sender, record.sender_name) == (
        "text",
        "hello",
        SENDER,
        "Sheena",
    )
    assert record.timestamp == 1_749_416_383_000 and record.engine_message_id == "wamid.X1"


def test_media_kinds_and_a_sticker_as_an_image() -> None:
    for kind, expected in (
        ("image", "image"),
        ("video", "video"),
        ("audio", "audio"),
        ("document", "document"),
        ("sticker", "image"),
    ):
        event = _event({"type": kind, kind: {"id": "m1", "mime_type": "x/y", "sha256": "00"}})
        assert media_kind_of(event) == expected, kind
        record = inbound_of(event, None)  # media that could not be stored: still recorded
        assert record.type == expected and record.media is None and record.text is None


def test_replies_reactions_and_locations_are_recorded_as_text() -> None:
    button = _event(
        {
            "type": "interactive",
            "interactive": {"type": "button_reply", "button_reply": {"id": "y", "title": "Yes"}},
        }
    )
    reaction = _event({"type": "reaction", "reaction": {"message_id": "wamid.A", "emoji": "👍"}})
    place = _event(
        {
            "type": "location",
            "location": {"latitude": 52.52, "longitude": 13.405, "name": "Office"},
        }
    )
    unknown = _event({"type": "unsupported", "errors": [{"code": 131051, "title": "Unsupported"}]})
    assert inbound_of(button, None).text == "Yes"
    assert inbound_of(reaction, None).text == "👍"
    text = inbound_of(place, None).text
    assert text is not None and "Office" in text and "52.52" in text
    assert inbound_of(unknown, None).text == "[unsupported message]"
    for event in (button, reaction, place, unknown):
        assert media_kind_of(event) is None and inbound_of(event, None).type == "text"


def test_failure_reason_names_graph_s_code() -> None:
    failed = StatusEvent(
        phone_number_id="1",
        timestamp=1,
        message_id="wamid.X",
        recipient_id=SENDER,
        status="failed",
    )
    assert "failed" in failure_reason(failed)
    raw = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "1",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"display_phone_number": "1", "phone_number_id": "1"},
                            "statuses": [
                                {
                                    "id": "wamid.X",
                                    "status": "failed",
                                    "timestamp": "1",
                                    "recipient_id": SENDER,
                                    "errors": [
                                        {
                                            "code": 131026,
                                            "title": "Message undeliverable",
                                            "error_data": {"details": "not on WhatsApp"},
                                        }
                                    ],
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }
    [event] = parse_webhook(json.dumps(raw).encode())
    assert isinstance(event, StatusEvent)
    reason = failure_reason(event)
    assert "131026" in reason and "not on WhatsApp" in reason

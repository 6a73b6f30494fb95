"""Realistic Cloud API webhook bodies for the webhook tests (shapes from Meta's ``messages``
webhook reference; ids and numbers are made up)."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

APP_SECRET = "test-app-secret-6f1e"
VERIFY_TOKEN = "test-verify-token-93ab"
PHONE_A = "106540352242922"
PHONE_B = "106540352242999"


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _msg(mid: str, sender: str, kind: str, content: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "from": sender,
        "id": mid,
        "timestamp": "1749416383",
        "type": kind,
        kind: content,
        **extra,
    }


def messages_value(phone: str, display: str) -> dict[str, Any]:
    """Every message type Meta documents, in one ``value``."""
    s = "16505551234"
    return {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": display, "phone_number_id": phone},
        "contacts": [
            {"profile": {"name": "Sheena Nelson"}, "wa_id": s, "user_id": "US.13491208655302741918"}
        ],
        "messages": [
            _msg("wamid.text1", s, "text", {"body": "Does it come in another color?"}),
            _msg(
                "wamid.img1",
                s,
                "image",
                {
                    "caption": "look",
                    "mime_type": "image/jpeg",
                    "sha256": "aa" * 32,
                    "id": "1003383421387256",
                },
            ),
            _msg(
                "wamid.aud1",
                s,
                "audio",
                {
                    "mime_type": "audio/ogg; codecs=opus",
                    "sha256": "bb" * 32,
                    "id": "1003383421387257",
                    "voice": True,
                },
            ),
            _msg(
                "wamid.vid1",
                s,
                "video",
                {"mime_type": "video/mp4", "sha256": "cc" * 32, "id": "1003383421387258"},
            ),
            _msg(
                "wamid.doc1",
                s,
                "document",
                {
                    "caption": "invoice",
                    "filename": "inv.pdf",
                    "mime_type": "application/pdf",
                    "sha256": "dd" * 32,
                    "id": "1003383421387259",
                },
            ),
            _msg(
                "wamid.stk1",
                s,
                "sticker",
                {
                    "mime_type": "image/webp",
                    "sha256": "ee" * 32,
                    "id": "1003383421387260",
                    "animated": False,
                },
            ),
            _msg(
                "wamid.loc1",
                s,
                "location",
                {
                    "latitude": 37.483,
                    "longitude": -122.148,
                    "name": "Philz",
                    "address": "1 Hacker Way",
                },
            ),
            {
                "from": s,
                "id": "wamid.con1",
                "timestamp": "1749416384",
                "type": "contacts",
                "contacts": [
                    {
                        "name": {"formatted_name": "Barbara J. Johnson"},
                        "phones": [{"phone": "+16505559999", "type": "MOBILE"}],
                    }
                ],
            },
            _msg(
                "wamid.btn1",
                s,
                "interactive",
                {"type": "button_reply", "button_reply": {"id": "yes-1", "title": "Yes"}},
                context={"from": display, "id": "wamid.ours1"},
            ),
            _msg(
                "wamid.lst1",
                s,
                "interactive",
                {
                    "type": "list_reply",
                    "list_reply": {"id": "row-2", "title": "Blue", "description": "Navy"},
                },
            ),
            _msg(
                "wamid.tbtn1",
                s,
                "button",
                {"payload": "STOP", "text": "Stop promotions"},
                context={"from": display, "id": "wamid.tmpl1"},
            ),
            _msg("wamid.rea1", s, "reaction", {"message_id": "wamid.ours1", "emoji": "👍"}),
            _msg(
                "wamid.sys1",
                s,
                "system",
                {
                    "body": "User changed number",
                    "type": "user_changed_number",
                    "new_wa_id": "16505550000",
                },
            ),
            {
                "from": s,
                "id": "wamid.uns1",
                "timestamp": "1749416385",
                "type": "unsupported",
                "errors": [
                    {
                        "code": 131051,
                        "title": "Message type unknown",
                        "message": "Message type unknown",
                        "error_data": {"details": "Message type is currently not supported."},
                    }
                ],
            },
            _msg("wamid.fwd1", s, "text", {"body": "fwd"}, context={"forwarded": True}),
        ],
    }


def statuses_value(phone: str, display: str) -> dict[str, Any]:
    r = "16505551234"
    conv = {
        "id": "a75d17ad06104c51166f948319b03c6a",
        "expiration_timestamp": "1750943820",
        "origin": {"type": "service"},
    }
    pricing = {"billable": True, "pricing_model": "CBP", "category": "service"}
    return {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": display, "phone_number_id": phone},
        "statuses": [
            {
                "id": f"wamid.{phone[-3:]}.out1",
                "status": "sent",
                "timestamp": "1750857384",
                "recipient_id": r,
                "conversation": conv,
                "pricing": pricing,
            },
            {
                "id": f"wamid.{phone[-3:]}.out1",
                "status": "delivered",
                "timestamp": "1750857385",
                "recipient_id": r,
                "conversation": conv,
                "pricing": pricing,
            },
            {
                "id": f"wamid.{phone[-3:]}.out1",
                "status": "read",
                "timestamp": "1750857386",
                "recipient_id": r,
            },
            {
                "id": f"wamid.{phone[-3:]}.out2",
                "status": "failed",
                "timestamp": "1750857387",
                "recipient_id": r,
                "errors": [
                    {
                        "code": 131047,
                        "title": "Re-engagement message",
                        "message": "Re-engagement message",
                        "error_data": {"details": "More than 24 hours have passed"},
                        "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
                    }
                ],
            },
        ],
    }


def errors_value(phone: str, display: str) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": display, "phone_number_id": phone},
        "errors": [
            {
                "code": 131000,
                "title": "Something went wrong",
                "message": "Something went wrong",
                "error_data": {"details": "Unknown error"},
            }
        ],
    }


def batch_payload() -> dict[str, Any]:
    """Two entries (two accounts), several changes each, including one of another field."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {"field": "messages", "value": messages_value(PHONE_A, "15550783881")},
                    {"field": "messages", "value": statuses_value(PHONE_A, "15550783881")},
                ],
            },
            {
                "id": "102290129340399",
                "time": 1750857390,
                "changes": [
                    {"field": "account_update", "value": {"event": "VERIFIED_ACCOUNT"}},
                    {"field": "messages", "value": errors_value(PHONE_B, "15550783882")},
                    {"field": "messages", "value": statuses_value(PHONE_B, "15550783882")},
                ],
            },
        ],
    }


def text_payload(
    mid: str = "wamid.single", body: str = "hi", sender: str = "16505551234"
) -> dict[str, Any]:
    value = messages_value(PHONE_A, "15550783881")
    value["messages"] = [_msg(mid, sender, "text", {"body": body})]
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": value}]}],
    }


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()

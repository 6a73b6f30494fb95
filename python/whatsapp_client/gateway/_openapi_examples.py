"""Example bodies for the OpenAPI document (one per request and answer)."""

from __future__ import annotations

from typing import Any

JSON = dict[str, Any]

SESSION_ID = "ses_3m9Qk2X8bV1tLr5Wc0aN7e"
MESSAGE_ID = "msg_Hq2v9ZtK4nW8xR1cP6sL0d"
MEDIA_ID = "med_Yb7Tn3Kq9vX2mR5wL8cJ1a"
ENDPOINT_ID = "whk_Pz4Rk8Nt2vQ6wX9bM1cL5f"
KEY_ID = "key_Lw5Qm8Rt1vN3xK7bP2cZ9h"
NOW = 1_764_500_000_000

WEBHOOK: JSON = {
    "id": ENDPOINT_ID,
    "url": "https://example.org/hooks/whatsapp",
    "events": ["message.received", "message.status", "session.status", "error"],
    "enabled": True,
    "created_at": NOW,
}

SESSION: JSON = {
    "id": SESSION_ID,
    "name": "support",
    "engine": "wac1",
    "status": "connected",
    "running": True,
    "config": {"server_url": "http://127.0.0.1:8080", "username": "support_bot"},
    "rate_limit_per_minute": 50,
    "user_id": "u_5f2c9a",
    "created_at": NOW,
    "last_activity_at": NOW + 60_000,
    "counters": {"sent": 12, "received": 30, "failed": 0},
    "queue_depth": 0,
    "webhooks": [WEBHOOK],
}

CREATE_SESSION: JSON = {
    "name": "support",
    "engine": "wac1",
    "server_url": "http://127.0.0.1:8080",
    "username": "support_bot",
    "password": "a long password for the account",
    "register": True,
    "webhooks": [{"url": "https://example.org/hooks/whatsapp"}],
}

CREATED_SESSION: JSON = {
    **SESSION,
    "status": "connecting",
    "counters": {"sent": 0, "received": 0, "failed": 0},
    "last_activity_at": None,
    "queue_depth": None,
    "webhooks": [{**WEBHOOK, "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}],
}
CREATED_SESSION = {k: v for k, v in CREATED_SESSION.items() if v is not None}

PATCH_SESSION: JSON = {"name": "support-eu", "rate_limit_per_minute": 30}

SEND_TEXT: JSON = {"to": "alice", "text": "Your order has shipped."}
SEND_MEDIA: JSON = {
    "to": "alice",
    "media": {"data": "JVBERi0xLjQK...", "mime": "application/pdf", "filename": "invoice.pdf"},
    "caption": "Your invoice",
}
SEND_GROUP: JSON = {"group_id": "g_7d1e4b", "text": "Standup in 5 minutes"}
ACCEPTED: JSON = {"id": MESSAGE_ID, "status": "queued", "position": 1}

MESSAGE: JSON = {
    "id": MESSAGE_ID,
    "direction": "inbound",
    "peer": "u_a1b2c3",
    "peer_name": "alice",
    "type": "image",
    "caption": "the receipt",
    "status": "received",
    "timestamp": NOW,
    "media": {
        "id": MEDIA_ID,
        "mime": "image/jpeg",
        "size": 48213,
        "filename": "receipt.jpg",
        "url": f"/api/v1/sessions/{SESSION_ID}/media/{MEDIA_ID}",
    },
}
MESSAGES: JSON = {"messages": [MESSAGE], "next_cursor": "MTc2NDUwMDAwMDAwMDo0Mg"}

DELIVERY: JSON = {
    "seq": 42,
    "endpoint_id": ENDPOINT_ID,
    "event_id": "evt_Kc8Wq1Zn5tR3vX7bL2mP9d",
    "event_type": "message.received",
    "state": "delivered",
    "attempts": 1,
    "next_attempt_at": NOW,
    "last_status": 200,
    "created_at": NOW,
    "finished_at": NOW + 35,
}
REDELIVERY: JSON = {**DELIVERY, "seq": 57, "state": "pending", "attempts": 0}
REDELIVERY = {k: v for k, v in REDELIVERY.items() if k not in ("last_status", "finished_at")}

CREATE_KEY: JSON = {"name": "crm (read only)", "scope": "read", "session_ids": [SESSION_ID]}
KEY: JSON = {
    "id": KEY_ID,
    "name": "crm (read only)",
    "scope": "read",
    "prefix": "wag_q3Rt9x",
    "session_ids": [SESSION_ID],
    "created_at": NOW,
}
CREATED_KEY: JSON = {**KEY, "key": "wag_q3Rt9xVb2LmN8pK4wZ1cT6yH0sJ5fD7gA9eU3rQ2iO"}

HEALTH: JSON = {"status": "ok"}
READY: JSON = {"status": "ready"}


def error(code: str, message: str) -> JSON:
    return {"error": {"code": code, "message": message}}


# A cloud session: the secrets in a creation request are placeholders (they are sealed and
# never shown again); the session's config holds only the rest.
CREATE_CLOUD_SESSION: JSON = {
    "name": "shop",
    "engine": "cloud",
    "phone_number_id": "106540352242922",
    "access_token": "(the system user's access token)",
    "app_secret": "(the Meta app's secret)",
    "verify_token": "(a random string you also give Meta)",
    "api_version": "v23.0",
    "rate_per_second": 80,
    "webhooks": [{"url": "https://example.org/hooks/whatsapp"}],
}

CLOUD_SESSION: JSON = {
    **SESSION,
    "name": "shop",
    "engine": "cloud",
    "config": {
        "phone_number_id": "106540352242922",
        "api_version": "v23.0",
        "base_url": "https://graph.facebook.com",
        "rate_per_second": "80.0",
        "pair_spacing": "6.0",
    },
    "user_id": "106540352242922",
}

CLOUD_WEBHOOK_BODY: JSON = {
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
                            "display_phone_number": "15550783881",
                            "phone_number_id": "106540352242922",
                        },
                        "contacts": [{"profile": {"name": "Sheena"}, "wa_id": "16505551234"}],
                        "messages": [
                            {
                                "from": "16505551234",
                                "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAz",
                                "timestamp": "1749416383",
                                "type": "text",
                                "text": {"body": "Does it come in another color?"},
                            }
                        ],
                    },
                }
            ],
        }
    ],
}

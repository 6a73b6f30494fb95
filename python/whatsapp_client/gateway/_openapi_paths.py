"""The paths of the OpenAPI document: every route with its parameters and examples."""

from __future__ import annotations

from typing import Any

from whatsapp_client.gateway import _openapi_examples as ex
from whatsapp_client.gateway._openapi_cloud import cloud_webhook_path
from whatsapp_client.gateway._openapi_ops import op as _op
from whatsapp_client.gateway._openapi_ops import path_param as _path
from whatsapp_client.gateway._openapi_ops import query_param as _query

JSON = dict[str, Any]
API = "/api/v1"

_SID = _path("session_id", "session id", ex.SESSION_ID)
_MID = _path("message_id", "message id", ex.MESSAGE_ID)
_MEDIA = _path("media_id", "media id", ex.MEDIA_ID)
_KID = _path("key_id", "API key id", ex.KEY_ID)
_SEQ = _path("seq", "delivery number", 42, {"type": "integer", "minimum": 1})
_IDEMPOTENCY: JSON = {
    "name": "Idempotency-Key",
    "in": "header",
    "description": "A retried request with the same key gets the first answer (24 h).",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    "example": "order-1042-shipped",
}
_RANGE: JSON = {
    "name": "Range",
    "in": "header",
    "description": "One byte range, e.g. bytes=0-1023 or bytes=-500.",
    "schema": {"type": "string"},
    "example": "bytes=0-1023",
}
_HISTORY_QUERY = (
    _query("direction", "inbound or outbound", {"enum": ["inbound", "outbound"]}, "inbound"),
    _query("peer", "user id (or group id)", {"type": "string"}, "u_a1b2c3"),
    _query(
        "status",
        "message status",
        {"enum": ["queued", "sent", "delivered", "read", "failed", "received"]},
        "read",
    ),
    _query(
        "type", "message type", {"enum": ["text", "image", "video", "audio", "document"]}, "image"
    ),
    _query(
        "since", "timestamp >= since (ms)", {"type": "integer", "minimum": 0}, ex.NOW - 86_400_000
    ),
    _query("until", "timestamp < until (ms)", {"type": "integer", "minimum": 0}, ex.NOW),
    _query(
        "limit", "page size", {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}, 50
    ),
    _query(
        "cursor", "next_cursor of the previous page", {"type": "string"}, "MTc2NDUwMDAwMDAwMDo0Mg"
    ),
)
_DELIVERY_QUERY = (
    _query("endpoint_id", "one endpoint only", {"type": "string"}, ex.ENDPOINT_ID),
    _query(
        "state", "pending, delivered or dead", {"enum": ["pending", "delivered", "dead"]}, "dead"
    ),
    _query(
        "limit",
        "at most this many",
        {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
        100,
    ),
)


def _send_operation() -> JSON:
    op = _op(
        "sendMessage",
        "Queue a text or media message to a user or a group",
        "messages",
        ok=202,
        answer=("AcceptedOut", ex.ACCEPTED),
        body=("SendBody", ex.SEND_TEXT),
        errors=(404, 413, 503, 507),
        params=(_SID, _IDEMPOTENCY),
        scope="write",
    )
    content = op["requestBody"]["content"]
    content["application/json"]["examples"] = {
        "text": {"value": ex.SEND_TEXT},
        "media": {"value": ex.SEND_MEDIA},
        "group": {"value": ex.SEND_GROUP},
    }
    del content["application/json"]["example"]
    content["multipart/form-data"] = {
        "schema": {
            "type": "object",
            "properties": {
                "to": {"type": "string"},
                "group_id": {"type": "string"},
                "caption": {"type": "string"},
                "filename": {"type": "string"},
                "mime": {"type": "string"},
                "file": {"type": "string", "format": "binary"},
            },
            "required": ["file"],
        },
        "example": {"to": "alice", "caption": "the report", "file": "(binary)"},
    }
    return op


def _create_operation() -> JSON:
    op = _op(
        "createSession",
        "Create a session (and start it)",
        "sessions",
        ok=201,
        answer=("SessionOut", ex.CREATED_SESSION),
        body=("CreateSession", ex.CREATE_SESSION),
        errors=(409,),
        scope="admin",
    )
    content = op["requestBody"]["content"]["application/json"]
    content["examples"] = {
        "wac1": {"value": ex.CREATE_SESSION},
        "cloud": {"value": ex.CREATE_CLOUD_SESSION},
    }
    del content["example"]
    return op


def paths() -> JSON:
    se, me, wh, ke, op = "sessions", "messages", "webhooks", "keys", "operations"
    sid = f"{API}/sessions/{{session_id}}"
    session = ("SessionOut", ex.SESSION)
    return {
        f"{API}/sessions": {
            "post": _create_operation(),
            "get": _op(
                "listSessions",
                "List sessions",
                se,
                answer=("SessionList", {"sessions": [ex.SESSION]}),
            ),
        },
        sid: {
            "get": _op(
                "getSession",
                "One session, with its webhooks",
                se,
                answer=session,
                errors=(404,),
                params=(_SID,),
            ),
            "patch": _op(
                "updateSession",
                "Rename, replace webhooks, change the rate limit",
                se,
                answer=session,
                body=("SessionPatch", ex.PATCH_SESSION),
                errors=(404, 409),
                params=(_SID,),
                scope="admin",
            ),
            "delete": _op(
                "deleteSession",
                "Disconnect and erase everything of a session",
                se,
                ok=204,
                errors=(404,),
                params=(_SID,),
                scope="admin",
            ),
        },
        f"{sid}/stop": {
            "post": _op(
                "stopSession",
                "Stop (status stopped)",
                se,
                answer=("SessionOut", {**ex.SESSION, "status": "stopped", "running": False}),
                errors=(404,),
                params=(_SID,),
                scope="admin",
            )
        },
        f"{sid}/restart": {
            "post": _op(
                "restartSession",
                "Start again (also after failed)",
                se,
                answer=("SessionOut", {**ex.SESSION, "status": "connecting"}),
                errors=(404,),
                params=(_SID,),
                scope="admin",
            )
        },
        f"{sid}/messages": {
            "post": _send_operation(),
            "get": _op(
                "listMessages",
                "History, newest first, with filters and a cursor",
                me,
                answer=("MessagesPage", ex.MESSAGES),
                errors=(400, 404),
                params=(_SID, *_HISTORY_QUERY),
            ),
        },
        f"{sid}/messages/{{message_id}}": {
            "get": _op(
                "getMessage",
                "One message",
                me,
                answer=("MessageOut", ex.MESSAGE),
                errors=(404,),
                params=(_SID, _MID),
            )
        },
        f"{sid}/media/{{media_id}}": {"get": _media_operation()},
        f"{sid}/cloud/webhook": cloud_webhook_path(),
        f"{sid}/webhooks": {
            "get": _op(
                "listWebhooks",
                "The session's webhook endpoints (no secrets)",
                wh,
                answer=("WebhookList", {"webhooks": [ex.WEBHOOK]}),
                errors=(404,),
                params=(_SID,),
            )
        },
        f"{sid}/deliveries": {
            "get": _op(
                "listDeliveries",
                "Webhook deliveries with their outcome, newest first",
                wh,
                answer=("DeliveryList", {"deliveries": [ex.DELIVERY]}),
                errors=(400, 404),
                params=(_SID, *_DELIVERY_QUERY),
            )
        },
        f"{sid}/deliveries/{{seq}}/redeliver": {
            "post": _op(
                "redeliver",
                "Send a delivery's event again (same webhook-id)",
                wh,
                ok=202,
                answer=("DeliveryOut", ex.REDELIVERY),
                errors=(400, 404),
                params=(_SID, _SEQ),
                scope="write",
            )
        },
        f"{API}/keys": {
            "post": _op(
                "createKey",
                "Create an API key (shown once)",
                ke,
                ok=201,
                answer=("KeyOut", ex.CREATED_KEY),
                body=("KeyCreate", ex.CREATE_KEY),
                scope="admin",
            ),
            "get": _op(
                "listKeys",
                "List API keys (never the keys themselves)",
                ke,
                answer=("KeyList", {"keys": [ex.KEY]}),
                scope="admin",
            ),
        },
        f"{API}/keys/{{key_id}}": {
            "get": _op(
                "getKey",
                "One API key",
                ke,
                answer=("KeyOut", ex.KEY),
                errors=(404,),
                params=(_KID,),
                scope="admin",
            ),
            "delete": _op(
                "deleteKey",
                "Revoke an API key",
                ke,
                ok=204,
                errors=(404,),
                params=(_KID,),
                scope="admin",
            ),
        },
        "/health": {
            "get": _op(
                "health", "The process answers", op, answer=("Health", ex.HEALTH), auth=False
            )
        },
        "/ready": {
            "get": _op(
                "ready",
                "Storage and data directory writable",
                op,
                answer=("Health", ex.READY),
                errors=(503,),
                auth=False,
            )
        },
        "/metrics": {"get": _metrics_operation()},
        f"{API}/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "tags": [op],
                "security": [],
                "responses": {
                    "200": {
                        "description": "OpenAPI 3.1",
                        "content": {
                            "application/json": {
                                "schema": {"type": "object"},
                                "example": {"openapi": "3.1.0"},
                            }
                        },
                    }
                },
            }
        },
    }


def _media_operation() -> JSON:
    op = _op(
        "getMedia",
        "Download a media file, whole or one byte range",
        "messages",
        errors=(404, 416),
        params=(_SID, _MEDIA, _RANGE),
    )
    binary = {
        "*/*": {"schema": {"type": "string", "format": "binary"}, "example": "(the file's bytes)"}
    }
    op["responses"]["200"]["content"] = binary
    op["responses"]["206"] = {
        "description": "The range asked for (Content-Range)",
        "content": binary,
    }
    return op


def _metrics_operation() -> JSON:
    op = _op("metrics", "Prometheus metrics (a key not restricted to sessions)", "operations")
    op["responses"]["200"]["content"] = {
        "text/plain": {
            "schema": {"type": "string"},
            "example": 'gateway_sessions{status="connected"} 2.0\n',
        }
    }
    return op

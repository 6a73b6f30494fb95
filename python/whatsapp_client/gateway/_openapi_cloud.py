"""The OpenAPI operations of a cloud session's webhook route (called by Meta: no API key;
a verify token on GET, an ``X-Hub-Signature-256`` on POST)."""

from __future__ import annotations

from typing import Any

from whatsapp_client.gateway import _openapi_examples as ex
from whatsapp_client.gateway._openapi_ops import json_content
from whatsapp_client.gateway._openapi_ops import path_param as _path
from whatsapp_client.gateway._openapi_ops import query_param as _query

JSON = dict[str, Any]

_SID = _path("session_id", "session id (of a cloud session)", ex.SESSION_ID)
_TEXT = {"text/plain": {"schema": {"type": "string"}, "example": "1158201444"}}


def _error(description: str, code: str, message: str) -> JSON:
    return {
        "description": description,
        "content": json_content("ErrorResponse", ex.error(code, message)),
    }


_NOT_FOUND = _error("No such session, or not a cloud session", "not_found", "no session 'ses_...'")
_STOPPED = _error(
    "The session is not running (Meta retries later)",
    "session_not_connected",
    "session 'ses_...' is stopped",
)


def cloud_webhook_path() -> JSON:
    verify: JSON = {
        "operationId": "cloudWebhookVerify",
        "summary": "Meta's verification handshake (hub.challenge back as plain text)",
        "description": "No API key: answered only when hub.verify_token is the session's.",
        "tags": ["cloud"],
        "security": [],
        "parameters": [
            _SID,
            _query("hub.mode", "always subscribe", {"type": "string"}, "subscribe"),
            _query("hub.verify_token", "the session's verify token", {"type": "string"}, "(token)"),
            _query("hub.challenge", "echoed back", {"type": "string"}, "1158201444"),
        ],
        "responses": {
            "200": {"description": "The challenge", "content": _TEXT},
            "403": _error(
                "Not the session's verify token",
                "forbidden",
                "the verification request does not carry this session's verify token",
            ),
            "404": _NOT_FOUND,
            "503": _STOPPED,
        },
    }
    receive: JSON = {
        "operationId": "cloudWebhookReceive",
        "summary": "Meta's webhook POST: messages and statuses of the session's number",
        "description": "No API key: the X-Hub-Signature-256 header must be the HMAC-SHA256"
        " of the raw body under the session's app secret (else 401, nothing recorded)."
        " Answered 200 once the events are recorded.",
        "tags": ["cloud"],
        "security": [],
        "parameters": [
            _SID,
            {
                "name": "X-Hub-Signature-256",
                "in": "header",
                "required": True,
                "description": "sha256= and the lowercase hex HMAC-SHA256 of the raw body",
                "schema": {"type": "string"},
                "example": "sha256=" + "0" * 64,
            },
        ],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"type": "object"}, "example": ex.CLOUD_WEBHOOK_BODY}
            },
        },
        "responses": {
            "200": {
                "description": "Recorded",
                "content": {"text/plain": {"schema": {"type": "string"}, "example": "ok"}},
            },
            "400": _error(
                "Not a Cloud API webhook body",
                "invalid_request",
                "the body is not a WhatsApp Cloud API webhook",
            ),
            "401": _error(
                "Missing or invalid signature",
                "unauthorized",
                "missing or invalid X-Hub-Signature-256",
            ),
            "404": _NOT_FOUND,
            "413": _error(
                "Too large", "request_too_large", "a webhook body is at most 1048576 bytes"
            ),
            "503": _STOPPED,
        },
    }
    return {"get": verify, "post": receive}

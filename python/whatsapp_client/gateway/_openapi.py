"""The OpenAPI 3.1 document of the gateway's API, built from the msgspec structs the
handlers decode and answer with, and an example for every request and answer."""

from __future__ import annotations

from typing import Any

import msgspec

from whatsapp_client.gateway import _api_schemas as s

# Operator accounts: their paths and models, and the login security schemes.
from whatsapp_client.gateway import _openapi_accounts as acc
from whatsapp_client.gateway._http_errors import ErrorResponse
from whatsapp_client.gateway._openapi_live import MODELS as LIVE_MODELS
from whatsapp_client.gateway._openapi_live import live_paths
from whatsapp_client.gateway._openapi_paths import paths
from whatsapp_client.gateway._requests import CreateSession, SessionPatch

JSON = dict[str, Any]

_MODELS: tuple[type[Any], ...] = (
    CreateSession,
    SessionPatch,
    s.SessionOut,
    s.SessionList,
    s.WebhookList,
    s.SendBody,
    s.AcceptedOut,
    s.MessageOut,
    s.MessagesPage,
    s.DeliveryOut,
    s.DeliveryList,
    s.KeyCreate,
    s.KeyOut,
    s.KeyList,
    s.Health,
    ErrorResponse,
    *acc.MODELS,
)


def _all_paths() -> JSON:
    """Every route; an authenticated one takes an API key, a Bearer token or a cookie."""
    merged = {**paths(), **acc.account_paths(), **live_paths()}  # live: stream, stats, logs
    for item in merged.values():
        for operation in item.values():
            if operation.get("security"):
                operation["security"] = acc.SECURITY
    return merged


def openapi_document() -> JSON:
    _, components = msgspec.json.schema_components(
        _MODELS + LIVE_MODELS, ref_template="#/components/schemas/{name}"
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "whatsapp-client gateway",
            "version": "1",
            "description": "Sessions, end-to-end encrypted messages and webhooks over HTTP. "
            'Every error is {"error": {"code", "message"}}; see docs/gateway.md for the codes.',
        },
        "servers": [{"url": "/"}],
        "paths": _all_paths(),
        "components": {
            "schemas": components,
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                **acc.SECURITY_SCHEMES,
            },
        },
    }

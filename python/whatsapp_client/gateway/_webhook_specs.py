"""Webhook endpoints from a session's request: URL checked, events defaulted to all, a
signing secret generated when none is given (returned to the caller once)."""

from __future__ import annotations

from collections.abc import Sequence

from whatsapp_client.gateway._errors import InvalidRequest
from whatsapp_client.gateway._ids import new_id, now_ms
from whatsapp_client.gateway._models import EVENT_TYPES, WebhookEndpoint
from whatsapp_client.gateway._requests import WebhookSpec
from whatsapp_client.gateway._signing import generate_secret, normalize_secret
from whatsapp_client.gateway._webhook_urls import validate_webhook_url

__all__ = ["build_endpoints"]


def build_endpoints(
    session_id: str, specs: Sequence[WebhookSpec], *, block_private: bool
) -> list[WebhookEndpoint]:
    endpoints = []
    now = now_ms()
    for spec in specs:
        url = validate_webhook_url(spec.url, block_private=block_private)
        events = list(dict.fromkeys(spec.events)) if spec.events is not None else None
        if events is not None and not events:
            raise InvalidRequest("webhook events must not be empty (omit it for all events)")
        secrets = [normalize_secret(spec.secret) if spec.secret else generate_secret()]
        if spec.previous_secret:
            secrets.append(normalize_secret(spec.previous_secret))
        endpoints.append(
            WebhookEndpoint(
                id=new_id("whk"),
                session_id=session_id,
                url=url,
                events=events if events is not None else list(EVENT_TYPES),
                secrets=secrets,
                created_at=now,
            )
        )
    return endpoints

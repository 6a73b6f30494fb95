"""Webhook endpoints from what an API caller asked for (``WebhookSpec``), validated.

Used by the service on session create and PATCH. A secret is generated when none is given
(the caller sees it once, in that answer). ``previous_secret`` keeps an old secret signing
too during a rotation (with no ``secret``, the new one is generated). On PATCH, an endpoint
whose URL is kept keeps its id (so its pending deliveries, their order and its delivery
history stay) and, when no new secret is given, its secrets (a PATCH that only changes
``events`` must not silently rotate the secret); it is enabled again, which is how an
endpoint disabled by a 410 is brought back.
"""

from __future__ import annotations

from collections.abc import Sequence

from whatsapp_client.gateway._errors import InvalidRequest
from whatsapp_client.gateway._ids import new_id
from whatsapp_client.gateway._models import EVENT_TYPES, EventType, WebhookEndpoint
from whatsapp_client.gateway._requests import WebhookSpec
from whatsapp_client.gateway._signing import generate_secret, normalize_secret
from whatsapp_client.gateway._webhook_urls import validate_webhook_url

MAX_ENDPOINTS_PER_SESSION = 10

__all__ = ["MAX_ENDPOINTS_PER_SESSION", "build_endpoints"]


def _events(spec: WebhookSpec, index: int) -> list[EventType]:
    if spec.events is None:
        return list(EVENT_TYPES)
    if not spec.events:
        raise InvalidRequest(
            f"webhooks[{index}].events must name at least one event (omit it for all)"
        )
    return [e for e in EVENT_TYPES if e in spec.events]  # a set, in the documented order


def _secrets(spec: WebhookSpec, index: int, kept: Sequence[str]) -> list[str]:
    if spec.secret is None and spec.previous_secret is None:
        return list(kept) if kept else [generate_secret()]
    if spec.secret is None:  # rotation to a generated secret, returned once
        secrets = [generate_secret()]
    else:
        secrets = [_normalized(spec.secret, f"webhooks[{index}].secret")]
    if spec.previous_secret is not None:
        previous = _normalized(spec.previous_secret, f"webhooks[{index}].previous_secret")
        if previous != secrets[0]:
            secrets.append(previous)
    return secrets


def _normalized(secret: str, field: str) -> str:
    try:
        return normalize_secret(secret)
    except InvalidRequest as exc:
        raise InvalidRequest(f"{field}: {exc.message}") from None


def build_endpoints(
    session_id: str,
    specs: Sequence[WebhookSpec],
    *,
    block_private: bool,
    now: int,
    existing: Sequence[WebhookEndpoint] = (),
) -> list[WebhookEndpoint]:
    """The session's endpoints after a create (``existing`` empty) or a PATCH (``existing``:
    the current ones). ``InvalidRequest`` names the first bad field; nothing is built then."""
    if len(specs) > MAX_ENDPOINTS_PER_SESSION:
        raise InvalidRequest(
            f"a session has at most {MAX_ENDPOINTS_PER_SESSION} webhooks, not {len(specs)}"
        )
    current = {ep.url: ep for ep in existing}
    built: list[WebhookEndpoint] = []
    for index, spec in enumerate(specs):
        try:
            url = validate_webhook_url(spec.url, block_private=block_private)
        except InvalidRequest as exc:
            raise InvalidRequest(f"webhooks[{index}].url: {exc.message}") from None
        if any(ep.url == url for ep in built):
            raise InvalidRequest(f"webhooks[{index}].url is listed twice")
        old = current.get(url)
        built.append(
            WebhookEndpoint(
                id=old.id if old is not None else new_id("whk"),
                session_id=session_id,
                url=url,
                events=_events(spec, index),
                secrets=_secrets(spec, index, old.secrets if old is not None else ()),
                created_at=old.created_at if old is not None else now,
            )
        )
    return built

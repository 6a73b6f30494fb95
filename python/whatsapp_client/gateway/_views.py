"""Records → API answers (no secret leaves except where an answer says so)."""

from __future__ import annotations

from typing import Optional

from whatsapp_client.gateway._api_schemas import (
    DeliveryOut,
    KeyOut,
    MediaOut,
    MessageOut,
    SessionOut,
    WebhookOut,
)
from whatsapp_client.gateway._models import (
    ApiKeyRecord,
    Delivery,
    MessageRecord,
    SessionRecord,
    WebhookEndpoint,
)

API = "/api/v1"


def webhook_view(endpoint: WebhookEndpoint, *, with_secret: bool = False) -> WebhookOut:
    return WebhookOut(
        id=endpoint.id,
        url=endpoint.url,
        events=list(endpoint.events),
        enabled=endpoint.enabled,
        disabled_reason=endpoint.disabled_reason,
        created_at=endpoint.created_at,
        secret=endpoint.secrets[0] if with_secret and endpoint.secrets else None,
    )


def session_view(
    session: SessionRecord,
    *,
    webhooks: Optional[list[WebhookEndpoint]] = None,
    with_secrets: bool = False,
    queue_depth: Optional[int] = None,
) -> SessionOut:
    return SessionOut(
        id=session.id,
        name=session.name,
        engine=session.engine,
        status=session.status,
        status_reason=session.status_reason,
        running=session.running,
        config=dict(session.config),
        rate_limit_per_minute=session.rate_limit_per_minute,
        user_id=session.user_id,
        created_at=session.created_at,
        last_activity_at=session.last_activity_at,
        counters=session.counters,
        queue_depth=queue_depth,
        webhooks=None
        if webhooks is None
        else [webhook_view(w, with_secret=with_secrets) for w in webhooks],
        owner_id=session.owner_id,
    )


def media_url(base_url: Optional[str], session_id: str, media_id: str) -> str:
    path = f"{API}/sessions/{session_id}/media/{media_id}"
    return (base_url.rstrip("/") + path) if base_url else path


def message_view(message: MessageRecord, base_url: Optional[str]) -> MessageOut:
    media = None
    if message.media is not None:
        m = message.media
        media = MediaOut(
            id=m.media_id,
            mime=m.mime,
            size=m.size,
            filename=m.filename,
            sha256=m.sha256,
            url=media_url(base_url, message.session_id, m.media_id),
        )
    return MessageOut(
        id=message.id,
        direction=message.direction,
        peer=message.peer,
        peer_name=message.peer_name,
        group_id=message.group_id,
        type=message.type,
        text=message.text,
        caption=message.caption,
        status=message.status,
        reason=message.reason,
        timestamp=message.timestamp,
        media=media,
    )


def delivery_view(delivery: Delivery) -> DeliveryOut:
    return DeliveryOut(
        seq=delivery.seq,
        endpoint_id=delivery.endpoint_id,
        event_id=delivery.event.id,
        event_type=delivery.event.type,
        state=delivery.state,
        attempts=delivery.attempts,
        next_attempt_at=delivery.next_attempt_at,
        last_status=delivery.last_status,
        last_error=delivery.last_error,
        created_at=delivery.created_at,
        finished_at=delivery.finished_at,
    )


def key_view(record: ApiKeyRecord, key: Optional[str] = None) -> KeyOut:
    return KeyOut(
        id=record.id,
        name=record.name,
        scope=record.scope,
        prefix=record.prefix,
        session_ids=record.session_ids,
        expires_at=record.expires_at,
        created_at=record.created_at,
        last_used_at=record.last_used_at,
        key=key,
        user_id=record.user_id,
    )

"""Rows of the gateway database to records and back, sealing what is secret (shared by
the SQLite and PostgreSQL storages: a row is anything indexable, ``Row`` or an
asyncpg ``Record``; both schemas select the same columns in the same order).

Every sealed column is bound (associated data) to its table, its row and its field, so a
blob moved to another row or column does not open. Sealed: session credentials, webhook
secrets, message content (text, caption, name, media details), queued requests, event
bodies, idempotent answers, media details.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any, Optional

import msgspec

from whatsapp_client.gateway._errors import InvalidRequest
from whatsapp_client.gateway._models import (
    ApiKeyRecord,
    Counters,
    Delivery,
    Event,
    EventType,
    MediaInfo,
    MessageRecord,
    OutboundRequest,
    SessionRecord,
    WebhookEndpoint,
)
from whatsapp_client.gateway._vault import Vault, VaultError, bind

_json = msgspec.json.Encoder()

# A database row: columns by position.
Row = Sequence[Any]

# Sealed into the ``meta`` table on the first open: a later open with another master key is
# refused at once rather than at the first sealed field.
KEY_CHECK = b"whatsapp-client gateway master key check"


class _Content(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The sealed part of a message row."""

    text: Optional[str] = None
    caption: Optional[str] = None
    peer_name: Optional[str] = None
    media: Optional[MediaInfo] = None


_content = msgspec.json.Decoder(_Content)
_request = msgspec.json.Decoder(OutboundRequest)
_media = msgspec.json.Decoder(MediaInfo)
_strings = msgspec.json.Decoder(list[str])
_events = msgspec.json.Decoder(list[EventType])
_data = msgspec.json.Decoder(dict[str, object])
_config = msgspec.json.Decoder(dict[str, str])

# Outbound statuses only ever move forward along this order.
# "failed" after "sent": the cloud engine's network accepts a message, then reports that it
# could not deliver it.
STATUS_RANK: dict[str, int] = {"queued": 0, "sent": 1, "delivered": 2, "read": 3, "failed": 4}

SESSION_COLUMNS = (
    "id, name, engine, config, status, status_reason, running, rate_limit_per_minute, "
    "user_id, created_at, last_activity_at, sent, received, failed, owner_id"
)
WEBHOOK_COLUMNS = "id, session_id, url, events, secrets, enabled, disabled_reason, created_at"
MESSAGE_COLUMNS = (
    "id, session_id, direction, peer, sender, group_id, type, status, reason, timestamp, "
    "engine_message_id, body"
)
DELIVERY_COLUMNS = (
    "d.seq, d.endpoint_id, d.session_id, d.state, d.attempts, d.next_attempt_at, "
    "d.last_status, d.last_error, d.created_at, d.finished_at, "
    "e.id, e.type, e.timestamp, e.data"
)
KEY_COLUMNS = (
    "id, name, scope, key_hash, prefix, session_ids, expires_at, created_at, last_used_at, user_id"
)


class Codec:
    """Seals and opens the secret columns with the storage's vault."""

    def __init__(self, vault: Vault) -> None:
        self._vault = vault

    def seal(self, plain: bytes, *where: str) -> bytes:
        return self._vault.seal(plain, bind(*where))

    def open(self, blob: bytes, *where: str) -> bytes:
        return self._vault.open(blob, bind(*where))

    # --- sessions and webhooks -----------------------------------------------------------
    def session(self, row: Row) -> SessionRecord:
        return SessionRecord(
            id=row[0],
            name=row[1],
            engine=row[2],
            config=_config.decode(row[3]),
            status=row[4],
            status_reason=row[5],
            running=bool(row[6]),
            rate_limit_per_minute=row[7],
            user_id=row[8],
            created_at=row[9],
            last_activity_at=row[10],
            counters=Counters(sent=row[11], received=row[12], failed=row[13]),
            owner_id=row[14],
        )

    def seal_secrets(self, endpoint: WebhookEndpoint) -> bytes:
        return self.seal(_json.encode(endpoint.secrets), "webhooks", endpoint.id, "secrets")

    def webhook(self, row: Row) -> WebhookEndpoint:
        secrets = _strings.decode(self.open(row[4], "webhooks", row[0], "secrets"))
        return WebhookEndpoint(
            id=row[0],
            session_id=row[1],
            url=row[2],
            events=_events.decode(row[3]),
            secrets=secrets,
            enabled=bool(row[5]),
            disabled_reason=row[6],
            created_at=row[7],
        )

    # --- messages and the queue ----------------------------------------------------------
    def seal_content(self, m: MessageRecord) -> bytes:
        content = _Content(text=m.text, caption=m.caption, peer_name=m.peer_name, media=m.media)
        return self.seal(_json.encode(content), "messages", m.session_id, m.id)

    def message(self, row: Row) -> MessageRecord:
        content = _content.decode(self.open(row[11], "messages", row[1], row[0]))
        direction = row[2]
        return MessageRecord(
            id=row[0],
            session_id=row[1],
            direction=direction,
            peer=row[3],
            peer_name=content.peer_name,
            group_id=row[5],
            type=row[6],
            text=content.text,
            caption=content.caption,
            status=row[7],
            reason=row[8],
            timestamp=row[9],
            media=content.media,
            engine_message_id=row[10],
            sender=row[4] if direction == "inbound" else None,
        )

    def seal_request(self, session_id: str, message_id: str, request: OutboundRequest) -> bytes:
        return self.seal(_json.encode(request), "queue", session_id, message_id)

    def request(self, blob: bytes, session_id: str, message_id: str) -> OutboundRequest:
        return _request.decode(self.open(blob, "queue", session_id, message_id))

    # --- events and deliveries -----------------------------------------------------------
    def seal_event(self, event: Event) -> bytes:
        return self.seal(_json.encode(event.data), "events", event.session_id, event.id)

    def delivery(self, row: Row) -> Delivery:
        event = Event(
            id=row[10],
            type=row[11],
            session_id=row[2],
            timestamp=row[12],
            data=_data.decode(self.open(row[13], "events", row[2], row[10])),
        )
        return Delivery(
            seq=row[0],
            endpoint_id=row[1],
            session_id=row[2],
            event=event,
            state=row[3],
            attempts=row[4],
            next_attempt_at=row[5],
            last_status=row[6],
            last_error=row[7],
            created_at=row[8],
            finished_at=row[9],
        )

    # --- media and idempotency -----------------------------------------------------------
    def seal_media(self, session_id: str, media: MediaInfo) -> bytes:
        return self.seal(_json.encode(media), "media", session_id, media.media_id)

    def media(self, blob: bytes, session_id: str, media_id: str) -> MediaInfo:
        return _media.decode(self.open(blob, "media", session_id, media_id))


def key_check(codec: Codec, stored: Optional[str], where: str) -> Optional[str]:
    """Checks the master key against the ``vault_check`` value of ``meta`` (hex); returns
    the value to store when there is none yet. ``VaultError`` naming ``where`` when the key
    is not the one the database was written with."""
    if stored is None:
        return codec.seal(KEY_CHECK, "meta", "vault_check").hex()
    try:
        codec.open(bytes.fromhex(stored), "meta", "vault_check")
    except VaultError as exc:
        raise VaultError(
            f"the master key is not the one {where} was written with (did "
            "WHATSAPP_GATEWAY_MASTER_KEY or master.key change?); nothing was opened",
            code=exc.code,
        ) from None
    return None


def event_types(raw: str) -> list[EventType]:
    return _events.decode(raw)


def encode_json(value: Any) -> str:
    return _json.encode(value).decode("utf-8")


def api_key(row: Row) -> ApiKeyRecord:
    return ApiKeyRecord(
        id=row[0],
        name=row[1],
        scope=row[2],
        key_hash=row[3],
        prefix=row[4],
        session_ids=None if row[5] is None else _strings.decode(row[5]),
        expires_at=row[6],
        created_at=row[7],
        last_used_at=row[8],
        user_id=row[9],
    )


# --- cursors: base64url of "<timestamp>.<rowid>" of the last row of a page ----------------


def make_cursor(timestamp: int, rowid: int) -> str:
    return base64.urlsafe_b64encode(f"{timestamp}.{rowid}".encode()).decode().rstrip("=")


def read_cursor(cursor: str) -> tuple[int, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
        timestamp, rowid = text.split(".")
        return int(timestamp), int(rowid)
    except (ValueError, UnicodeError) as exc:
        raise InvalidRequest("cursor is not one this API returned") from exc

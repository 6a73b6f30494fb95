"""Typed events of a WhatsApp Cloud API webhook POST, and the parser that yields them all.

A POST body is ``{"object": "whatsapp_business_account", "entry": [...]}``; each entry has
``changes``, each change a ``field`` and a ``value``. For ``field == "messages"`` the value
holds ``metadata`` (``phone_number_id``, ``display_phone_number``), ``contacts``,
``messages``, ``statuses`` and ``errors``. Meta batches: one POST can carry several entries,
changes, messages and statuses, and :func:`parse_webhook` returns an event for EVERY one of
them, in order (entry, change, then messages, statuses, errors).

References (the shapes and field meanings used here): the ``messages`` webhook reference,
its status page, Graph's webhook getting-started page (envelope, batching, retries), and a
BSP's payload examples:

https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages.md
https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages/status/
https://developers.facebook.com/docs/graph-api/webhooks/getting-started/
https://docs.360dialog.com/docs/waba-basics/webhook-events-and-notifications

Unknown fields are ignored; a wrong type raises :class:`ValidationError` naming the path.
Changes of other fields (``account_update``, template status, ...) carry other shapes and
are skipped, not refused.
"""

from __future__ import annotations

from typing import Any, ClassVar, Optional, TypeVar, Union

import msgspec

from ._errors import ValidationError
from ._webhook_payload import (
    GraphEnvelope,
    GraphError,
    GraphMessage,
    GraphStatus,
    MessagesValue,
    Stamp,
)

__all__ = [
    "ErrorEvent",
    "Event",
    "GraphErrorInfo",
    "Location",
    "MessageEvent",
    "StatusEvent",
    "parse_webhook",
]


class GraphErrorInfo(msgspec.Struct, frozen=True):
    """One Graph error object (``code``, ``title``, ``message``, ``error_data.details``)."""

    code: int
    title: Optional[str] = None
    message: Optional[str] = None
    details: Optional[str] = None
    href: Optional[str] = None


class Location(msgspec.Struct, frozen=True):
    """A shared location."""

    latitude: float
    longitude: float
    name: Optional[str] = None
    address: Optional[str] = None
    url: Optional[str] = None


class MessageEvent(msgspec.Struct, frozen=True, kw_only=True, tag="message", tag_field="kind"):
    """An inbound message (``value.messages[]``)."""

    kind: ClassVar[str] = "message"
    phone_number_id: str
    display_phone_number: Optional[str] = None
    business_account_id: Optional[str] = None
    timestamp: int
    message_id: str
    from_: str = msgspec.field(name="from")
    type: str
    text: Optional[str] = None
    media_id: Optional[str] = None
    mime_type: Optional[str] = None
    sha256: Optional[str] = None
    caption: Optional[str] = None
    filename: Optional[str] = None
    voice: Optional[bool] = None
    reply_to: Optional[str] = None
    reply_to_from: Optional[str] = None
    forwarded: bool = False
    interactive_reply_id: Optional[str] = None
    interactive_reply_title: Optional[str] = None
    button_payload: Optional[str] = None
    reaction_emoji: Optional[str] = None
    reaction_message_id: Optional[str] = None
    location: Optional[Location] = None
    contact_name: Optional[str] = None
    system_body: Optional[str] = None
    errors: list[GraphErrorInfo] = msgspec.field(default_factory=list)
    # The message object's JSON exactly as received (``raw`` on the wire), decoded on
    # demand by :attr:`raw`: most handlers never need it, so parsing does not pay for it.
    raw_json: msgspec.Raw = msgspec.field(default_factory=lambda: msgspec.Raw(b"{}"), name="raw")

    @property
    def raw(self) -> dict[str, Any]:
        """The message object as received (for fields not mapped above: shared contacts,
        orders, referrals, ...); a new dict on each access."""
        decoded: dict[str, Any] = _RAW_DECODER.decode(self.raw_json)
        return decoded


class StatusEvent(msgspec.Struct, frozen=True, kw_only=True, tag="status", tag_field="kind"):
    """A delivery status of a message we sent (``value.statuses[]``)."""

    kind: ClassVar[str] = "status"
    phone_number_id: str
    display_phone_number: Optional[str] = None
    business_account_id: Optional[str] = None
    timestamp: int
    message_id: str
    recipient_id: str
    status: str
    conversation_id: Optional[str] = None
    conversation_origin: Optional[str] = None
    conversation_expiration: Optional[int] = None
    pricing_category: Optional[str] = None
    pricing_model: Optional[str] = None
    billable: Optional[bool] = None
    biz_opaque_callback_data: Optional[str] = None
    errors: list[GraphErrorInfo] = msgspec.field(default_factory=list)


class ErrorEvent(msgspec.Struct, frozen=True, kw_only=True, tag="error", tag_field="kind"):
    """An error reported for the phone number or app (``value.errors[]``)."""

    kind: ClassVar[str] = "error"
    phone_number_id: str
    display_phone_number: Optional[str] = None
    business_account_id: Optional[str] = None
    timestamp: int = 0
    code: int
    title: Optional[str] = None
    message: Optional[str] = None
    details: Optional[str] = None


Event = Union[MessageEvent, StatusEvent, ErrorEvent]


# Decoders built once; msgspec decodes straight from the bytes into these structs.
_ENVELOPE = msgspec.json.Decoder(GraphEnvelope)
_VALUE = msgspec.json.Decoder(MessagesValue)
_MESSAGE = msgspec.json.Decoder(GraphMessage)
_RAW_DECODER = msgspec.json.Decoder(dict[str, Any])
_MEDIA_KINDS = frozenset(("image", "audio", "video", "document", "sticker"))
_OBJECT = "whatsapp_business_account"


def parse_webhook(raw_body: bytes) -> list[Event]:
    """Every event of a webhook POST body, in order.

    Raises :class:`ValidationError` (and nothing else) on bytes that are not JSON, on a body
    that is not a WhatsApp Business Account notification, or on a field of the wrong type.
    """
    try:
        envelope = _ENVELOPE.decode(raw_body)
    except msgspec.ValidationError as exc:
        raise ValidationError(f"webhook body has the wrong shape: {exc}") from None
    except (msgspec.DecodeError, RecursionError, TypeError) as exc:
        raise ValidationError(f"webhook body is not valid JSON: {exc}") from None
    if envelope.object != _OBJECT:
        raise ValidationError(f"not a WhatsApp webhook: object is {envelope.object!r}")
    events: list[Event] = []
    for e, entry in enumerate(envelope.entry):
        for c, change in enumerate(entry.changes):
            if change.field not in (None, "messages"):
                continue
            where = f"entry[{e}].changes[{c}].value"
            value = _decode(_VALUE, change.value, where)
            _collect(events, value, entry.id, entry.time, where)
    return events


_T = TypeVar("_T")


def _decode(decoder: msgspec.json.Decoder[_T], raw: msgspec.Raw, where: str) -> _T:
    try:
        return decoder.decode(raw)
    except msgspec.ValidationError as exc:
        # msgspec's path is relative to the decoded part: make it the body's full path.
        detail = str(exc).replace("`$", f"`$.{where}")
        if detail == str(exc):
            detail = f"{detail} - at `$.{where}`"
        raise ValidationError(f"webhook body has the wrong shape: {detail}") from None
    except (msgspec.DecodeError, RecursionError) as exc:  # e.g. nesting too deep
        raise ValidationError(f"webhook {where} is not valid JSON: {exc}") from None


def _collect(
    out: list[Event],
    value: MessagesValue,
    account: Optional[str],
    entry_time: Optional[int],
    where: str,
) -> None:
    meta = value.metadata
    names = {c.wa_id: c.profile.name for c in value.contacts if c.wa_id and c.profile}
    for i, raw in enumerate(value.messages):
        at = f"{where}.messages[{i}]"
        out.append(
            _message(
                _decode(_MESSAGE, raw, at),
                raw,
                meta.phone_number_id,
                meta.display_phone_number,
                account,
                names,
                at,
            )
        )
    for i, st in enumerate(value.statuses):
        out.append(
            _status(
                st,
                meta.phone_number_id,
                meta.display_phone_number,
                account,
                f"{where}.statuses[{i}]",
            )
        )
    for err in value.errors:
        out.append(
            ErrorEvent(
                phone_number_id=meta.phone_number_id,
                display_phone_number=meta.display_phone_number,
                business_account_id=account,
                timestamp=entry_time or 0,
                code=err.code,
                title=err.title,
                message=err.message,
                details=err.error_data.details if err.error_data else None,
            )
        )


def _stamp(value: Stamp, where: str) -> int:
    if isinstance(value, int):
        return value
    try:
        return int(value)
    except ValueError:
        raise ValidationError(f"webhook {where}: timestamp {value!r} is not a number") from None


def _errors(errors: list[GraphError]) -> list[GraphErrorInfo]:
    return [
        GraphErrorInfo(
            code=e.code,
            title=e.title,
            message=e.message,
            details=e.error_data.details if e.error_data else None,
            href=e.href,
        )
        for e in errors
    ]


def _message(
    m: GraphMessage,
    raw: msgspec.Raw,
    phone_number_id: str,
    display: Optional[str],
    account: Optional[str],
    names: dict[str, Optional[str]],
    where: str,
) -> MessageEvent:
    fields: dict[str, Any] = {}
    media = getattr(m, m.type, None) if m.type in _MEDIA_KINDS else None
    if media is not None:
        fields.update(
            media_id=media.id,
            mime_type=media.mime_type,
            sha256=media.sha256,
            caption=media.caption,
            filename=media.filename,
            voice=media.voice,
        )
    if m.text is not None:
        fields["text"] = m.text.body
    if m.button is not None:
        fields.update(text=m.button.text, button_payload=m.button.payload)
    if m.interactive is not None:
        reply = m.interactive.button_reply or m.interactive.list_reply
        if reply is not None:
            fields.update(interactive_reply_id=reply.id, interactive_reply_title=reply.title)
    if m.reaction is not None:
        fields.update(reaction_emoji=m.reaction.emoji, reaction_message_id=m.reaction.message_id)
    if m.location is not None:
        loc = m.location
        fields["location"] = Location(loc.latitude, loc.longitude, loc.name, loc.address, loc.url)
    if m.system is not None:
        fields["system_body"] = m.system.body
    if m.context is not None:
        ctx = m.context
        fields.update(
            reply_to=ctx.id,
            reply_to_from=ctx.from_,
            forwarded=bool(ctx.forwarded or ctx.frequently_forwarded),
        )
    if m.errors:
        fields["errors"] = _errors(m.errors)
    return MessageEvent(
        phone_number_id=phone_number_id,
        display_phone_number=display,
        business_account_id=account,
        timestamp=_stamp(m.timestamp, where),
        message_id=m.id,
        from_=m.from_,
        type=m.type,
        contact_name=names.get(m.from_),
        raw_json=raw.copy(),  # detached: an event kept alive must not pin the whole body
        **fields,
    )


def _status(
    s: GraphStatus,
    phone_number_id: str,
    display: Optional[str],
    account: Optional[str],
    where: str,
) -> StatusEvent:
    conv, pricing = s.conversation, s.pricing
    expiration = conv.expiration_timestamp if conv is not None else None
    return StatusEvent(
        phone_number_id=phone_number_id,
        display_phone_number=display,
        business_account_id=account,
        timestamp=_stamp(s.timestamp, where),
        message_id=s.id,
        recipient_id=s.recipient_id,
        status=s.status,
        conversation_id=conv.id if conv is not None else None,
        conversation_origin=conv.origin.type if conv is not None and conv.origin else None,
        conversation_expiration=(
            _stamp(expiration, where + ".conversation") if expiration is not None else None
        ),
        pricing_category=pricing.category if pricing is not None else None,
        pricing_model=pricing.pricing_model if pricing is not None else None,
        billable=pricing.billable if pricing is not None else None,
        biz_opaque_callback_data=s.biz_opaque_callback_data,
        errors=_errors(s.errors),
    )

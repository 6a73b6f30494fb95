"""WebSocket frames of §7: one tagged union per direction, decoder and encoder built once."""

from __future__ import annotations

from typing import Annotated, Optional, Union

import msgspec
from msgspec import Meta

Id = Annotated[str, Meta(min_length=1, max_length=128)]
# Message ids are checked by the handler (validation.py), so a bad one gets `invalid_id`
# rather than the generic `invalid_frame`.
MessageId = str


class _In(msgspec.Struct, tag_field="type"):
    pass


class Auth(_In, tag="auth"):
    token: Annotated[str, Meta(max_length=512)]


class Message(_In, tag="message"):
    id: MessageId
    to: Id
    content: str


class Ack(_In, tag="ack"):
    ids: Annotated[list[MessageId], Meta(max_length=1000)]


class Read(_In, tag="read"):
    peer_id: Id
    message_ids: Annotated[list[MessageId], Meta(max_length=100)]


class Typing(_In, tag="typing"):
    to: Id
    typing: bool


class SubscribePresence(_In, tag="subscribe_presence"):
    user_ids: Annotated[list[Id], Meta(max_length=1000)]


class GroupMessage(_In, tag="group_message"):
    id: MessageId
    group_id: Id
    content: str


class Ping(_In, tag="ping"):
    pass


ClientFrame = Union[Auth, Message, Ack, Read, Typing, SubscribePresence, GroupMessage, Ping]

decode_client_frame = msgspec.json.Decoder(ClientFrame).decode


class _IdProbe(msgspec.Struct):
    id: Optional[str] = None


_probe = msgspec.json.Decoder(_IdProbe).decode


# Longer ids are not echoed back in error frames (they are refused anyway).
_MAX_ECHOED_ID = 1024


def probe_id(data: Union[str, bytes]) -> Optional[str]:
    """The ``id`` of a frame that failed validation, so the error can name the request."""
    try:
        found = _probe(data).id
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return None
    return echoable_id(found)


def echoable_id(value: object) -> Optional[str]:
    """``value`` if it may be named in an error frame, else None."""
    return value if isinstance(value, str) and len(value) <= _MAX_ECHOED_ID else None


class _Out(msgspec.Struct, tag_field="type", omit_defaults=True):
    pass


class AuthOk(_Out, tag="auth_ok"):
    user_id: str


class Sent(_Out, tag="sent"):
    id: str
    timestamp: int


class MessageOut(_Out, tag="message"):
    id: str
    from_: str = msgspec.field(name="from")
    to: str
    content: str
    timestamp: int


class Status(_Out, tag="status"):
    message_ids: list[str]
    status: str
    by: str


class TypingOut(_Out, tag="typing"):
    from_: str = msgspec.field(name="from")
    typing: bool


class Online(_Out, tag="online"):
    user_id: str
    online: bool
    last_seen: Optional[int] = None


class GroupMessageOut(_Out, tag="group_message"):
    id: str
    group_id: str
    group_name: str
    from_: str = msgspec.field(name="from")
    content: str
    timestamp: int


class Pong(_Out, tag="pong"):
    pass


class Error(_Out, tag="error"):
    code: str
    message: str = ""
    id: Optional[str] = None
    # Seconds to wait, on rate_limited; extra field, harmless to clients that ignore it.
    retry_after: Optional[float] = None


ServerFrame = Union[
    AuthOk, Sent, MessageOut, Status, TypingOut, Online, GroupMessageOut, Pong, Error
]

encode_frame = msgspec.json.Encoder().encode

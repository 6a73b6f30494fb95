"""WebSocket frames of PROTOCOL.md §7 as msgspec structs; encoders and decoders are built once."""

from __future__ import annotations

from typing import Any, Optional, Union

import msgspec

__all__ = [
    "Ack",
    "Auth",
    "AuthOk",
    "ClientFrame",
    "ErrorFrame",
    "GroupMessage",
    "IncomingMessage",
    "Online",
    "OutgoingMessage",
    "Ping",
    "Pong",
    "Read",
    "Sent",
    "ServerFrame",
    "Status",
    "Typing",
    "decode_server_frame",
    "encode_frame",
]


class _Frame(msgspec.Struct, tag_field="type", omit_defaults=True):
    pass


# --- client -> server ----------------------------------------------------------------------


class Auth(_Frame, tag="auth"):
    token: str


class OutgoingMessage(_Frame, tag="message"):
    id: str
    to: str
    content: str


class Ack(_Frame, tag="ack"):
    ids: list[str]


class Read(_Frame, tag="read"):
    peer_id: str
    message_ids: list[str]


class TypingOut(_Frame, tag="typing"):
    to: str
    typing: bool


class SubscribePresence(_Frame, tag="subscribe_presence"):
    user_ids: list[str]


class GroupMessageOut(_Frame, tag="group_message"):
    id: str
    group_id: str
    content: str


class Ping(_Frame, tag="ping"):
    pass


ClientFrame = Union[
    Auth, OutgoingMessage, Ack, Read, TypingOut, SubscribePresence, GroupMessageOut, Ping
]

# --- server -> client ----------------------------------------------------------------------


class AuthOk(_Frame, tag="auth_ok"):
    user_id: str


class Sent(_Frame, tag="sent"):
    id: str
    timestamp: int = 0


class IncomingMessage(_Frame, tag="message"):
    id: str
    from_: str = msgspec.field(name="from")
    to: str = ""
    content: str = ""
    timestamp: int = 0


class Status(_Frame, tag="status"):
    message_ids: list[str]
    status: str
    by: Optional[str] = None


class Typing(_Frame, tag="typing"):
    from_: str = msgspec.field(name="from")
    typing: bool = False


class Online(_Frame, tag="online"):
    user_id: str
    online: bool
    last_seen: Optional[int] = None


class GroupMessage(_Frame, tag="group_message"):
    id: str
    group_id: str
    from_: str = msgspec.field(name="from")
    content: str = ""
    timestamp: int = 0
    group_name: Optional[str] = None


class Pong(_Frame, tag="pong"):
    pass


class ErrorFrame(_Frame, tag="error"):
    code: str
    message: str = ""
    id: Optional[str] = None
    retry_after: Optional[float] = None  # seconds, on rate_limited


ServerFrame = Union[
    AuthOk, Sent, IncomingMessage, Status, Typing, Online, GroupMessage, Pong, ErrorFrame
]

_ENCODER = msgspec.json.Encoder()
_DECODER: msgspec.json.Decoder[ServerFrame] = msgspec.json.Decoder(ServerFrame)
_ANY_DECODER: msgspec.json.Decoder[Any] = msgspec.json.Decoder()


class UnknownFrame(msgspec.Struct):
    """A frame this client does not know (forward compatibility): kept as a dict."""

    type: str
    data: dict[str, Any]


def encode_frame(frame: ClientFrame) -> str:
    """The JSON text of a client frame."""
    return _ENCODER.encode(frame).decode("utf-8")


def decode_server_frame(data: Union[str, bytes]) -> Union[ServerFrame, UnknownFrame]:
    """Decodes one server frame; an unknown or malformed one comes back as ``UnknownFrame``."""
    try:
        return _DECODER.decode(data)
    except msgspec.DecodeError:
        try:
            raw = _ANY_DECODER.decode(data)
        except msgspec.DecodeError:
            return UnknownFrame(type="", data={})
        if not isinstance(raw, dict):
            return UnknownFrame(type="", data={})
        kind = raw.get("type")
        return UnknownFrame(type=kind if isinstance(kind, str) else "", data=raw)

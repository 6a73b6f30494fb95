"""REST request and response bodies (§6) as msgspec Structs; decoders are built once here.

The same Structs generate the OpenAPI components, so the document cannot drift from what the
handlers accept.
"""

from __future__ import annotations

from typing import Annotated, Any, Optional, TypeVar

import msgspec
from msgspec import Meta

U32 = Annotated[int, Meta(ge=0, le=2**32 - 1)]
B64 = Annotated[str, Meta(max_length=1024, description="standard base64 with padding")]
Id = Annotated[str, Meta(min_length=1, max_length=128)]
Name = Annotated[str, Meta(min_length=1, max_length=100)]
Description = Annotated[str, Meta(max_length=1000)]


class Credentials(msgspec.Struct, forbid_unknown_fields=True):
    username: Annotated[str, Meta(max_length=256)]
    password: Annotated[str, Meta(max_length=1024)]


class Registration(msgspec.Struct):
    """How registration is documented; decoding uses the lenient :class:`Credentials` so
    that a bad username or password gets its own error code (§6.1), not a generic 400."""

    username: Annotated[str, Meta(pattern=r"^[a-z0-9_.\-]{3,32}$")]
    password: Annotated[str, Meta(min_length=8, max_length=1024)]


class User(msgspec.Struct):
    id: str
    username: str


class AuthResult(msgspec.Struct):
    user: User
    token: str


class SignedPreKey(msgspec.Struct, forbid_unknown_fields=True):
    key_id: U32
    public_key: B64
    signature: B64


class OneTimePreKey(msgspec.Struct, forbid_unknown_fields=True):
    key_id: U32
    public_key: B64


OneTimePreKeys = Annotated[list[OneTimePreKey], Meta(max_length=1000)]


class KeysUpload(msgspec.Struct, forbid_unknown_fields=True):
    identity_key: B64
    signing_key: B64
    signed_prekey: SignedPreKey
    one_time_prekeys: OneTimePreKeys = []


class OneTimePreKeysUpload(msgspec.Struct, forbid_unknown_fields=True):
    one_time_prekeys: OneTimePreKeys


class KeyStatus(msgspec.Struct):
    available: int
    signed_prekey_id: Optional[int]


class Bundle(msgspec.Struct):
    user_id: str
    identity_key: str
    signing_key: str
    signed_prekey: SignedPreKey
    one_time_prekey: Optional[OneTimePreKey]


class VerifyKey(msgspec.Struct, forbid_unknown_fields=True):
    peer_id: Id
    fingerprint: Annotated[str, Meta(min_length=1, max_length=256)]
    verified: bool


class Verification(msgspec.Struct):
    peer_id: str
    fingerprint: str
    verified: bool
    verified_at: Optional[int]


class PendingMessage(msgspec.Struct, tag="message", tag_field="type"):
    id: str
    from_: str = msgspec.field(name="from")
    to: str
    content: str
    timestamp: int


class PendingMessages(msgspec.Struct):
    messages: list[PendingMessage]


class AckBody(msgspec.Struct, forbid_unknown_fields=True):
    # Each id is checked by the handler, so a bad one is 400 `invalid_id` (validation.py).
    ids: Annotated[list[str], Meta(max_length=1000)]


class GroupCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    description: Description = ""
    member_ids: Annotated[list[Id], Meta(max_length=10_000)] = []


class GroupUpdate(msgspec.Struct, forbid_unknown_fields=True):
    name: Optional[Name] = None
    description: Optional[Description] = None


Role = Annotated[str, Meta(pattern="^(owner|admin|member)$")]


class MemberAdd(msgspec.Struct, forbid_unknown_fields=True):
    user_id: Id
    role: Role = "member"


class Member(msgspec.Struct):
    user_id: str
    username: str
    role: str


class Group(msgspec.Struct):
    id: str
    name: str
    description: str
    owner_id: str
    created_at: int
    members: list[Member]


class Groups(msgspec.Struct):
    groups: list[Group]


class GroupMessage(msgspec.Struct, tag="group_message", tag_field="type"):
    id: str
    group_id: str
    group_name: str
    from_: str = msgspec.field(name="from")
    content: str
    timestamp: int


class GroupMessages(msgspec.Struct):
    messages: list[GroupMessage]


class AttachmentCreated(msgspec.Struct):
    id: str
    size: int
    expires_at: int


class Health(msgspec.Struct):
    status: str


_T = TypeVar("_T")
_decoders: dict[type[Any], msgspec.json.Decoder[Any]] = {}


def decode(kind: type[_T], data: bytes) -> _T:
    """Decode and validate a body; raises ``msgspec.ValidationError``/``DecodeError``."""
    decoder = _decoders.get(kind)
    if decoder is None:
        decoder = _decoders[kind] = msgspec.json.Decoder(kind)
    result: _T = decoder.decode(data)
    return result


encode = msgspec.json.Encoder().encode

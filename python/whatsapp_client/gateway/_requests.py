"""Validated inputs of the service layer (decoded from API bodies by the routes)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

import msgspec

from whatsapp_client.gateway._models import EventType, MessageType


class WebhookSpec(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    url: str
    events: Optional[list[EventType]] = None  # None: all
    secret: Optional[str] = None  # None: one is generated and returned once
    # A second secret still accepted by receivers during a rotation.
    previous_secret: Optional[str] = None


class CreateSession(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: str
    engine: str
    # wac1: server_url, username, password. Other engines: their own fields.
    server_url: Optional[str] = None
    username: Optional[str] = None
    password: Optional[str] = None
    register: bool = False
    # cloud: the Graph API number and its secrets (sealed), the version, the Graph URL (a
    # simulator's in tests), the client's pace and per-recipient spacing.
    access_token: Optional[str] = None
    phone_number_id: Optional[str] = None
    app_secret: Optional[str] = None
    verify_token: Optional[str] = None
    api_version: Optional[str] = None
    base_url: Optional[str] = None
    rate_per_second: Optional[float] = None
    pair_spacing: Optional[float] = None
    webhooks: Optional[list[WebhookSpec]] = None
    rate_limit_per_minute: Optional[int] = None


class SessionPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Optional[str] = None
    webhooks: Optional[list[WebhookSpec]] = None
    rate_limit_per_minute: Optional[int] = None


class MediaUpload(msgspec.Struct, kw_only=True):
    """Media to send: the bytes (JSON base64 form) or a temporary file the service takes
    over (multipart form). ``mime`` None: detected from the bytes."""

    source: Union[bytes, Path]
    mime: Optional[str] = None
    filename: Optional[str] = None
    kind: Optional[MessageType] = None  # None: from the mime type


class SendSpec(msgspec.Struct, kw_only=True):
    to: Optional[str] = None
    group_id: Optional[str] = None
    text: Optional[str] = None
    caption: Optional[str] = None
    media: Optional[MediaUpload] = None


class Accepted(msgspec.Struct, kw_only=True):
    id: str
    status: str
    position: int

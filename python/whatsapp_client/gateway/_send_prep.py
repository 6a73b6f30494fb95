"""Checks of a send request: those that need no engine (the shape: one recipient, text or
media; the text's size, the file's size and type), the recipient's (by the engine), and the
sealing of its media."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import re
from pathlib import Path
from typing import Optional

from whatsapp_client import errors as sdk_errors
from whatsapp_client.client.mime import HEAD_BYTES, detect_mime, detect_mime_of_bytes, media_kind
from whatsapp_client.gateway._engine import Engine
from whatsapp_client.gateway._errors import (
    FileTooLarge,
    GatewayError,
    InvalidRequest,
    SessionNotConnected,
)
from whatsapp_client.gateway._ids import new_id
from whatsapp_client.gateway._media_store import MediaStore
from whatsapp_client.gateway._models import MediaInfo, MessageType
from whatsapp_client.gateway._requests import MediaUpload, SendSpec

__all__ = ["MAX_TEXT_BYTES", "check_shape", "engine_peer", "kind_of", "seal_upload"]

MAX_TEXT_BYTES = 10_000
_KINDS: dict[str, MessageType] = {"image": "image", "video": "video", "audio": "audio"}
# A recipient that is syntactically a user id can be queued while the session reconnects.
_USER_ID = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)


def kind_of(mime: str) -> MessageType:
    return _KINDS.get(media_kind(mime), "document")


def _text_ok(value: Optional[str], name: str) -> None:
    if value is None:
        return
    if not value.strip():
        raise InvalidRequest(f"{name} must not be empty")
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidRequest(f"{name} is not valid Unicode") from None
    if size > MAX_TEXT_BYTES:
        raise InvalidRequest(f"{name} is {size} bytes of UTF-8; the limit is {MAX_TEXT_BYTES}")


def check_shape(spec: SendSpec) -> None:
    """``InvalidRequest`` unless the request names exactly one recipient and carries text
    or media (and a caption only with media)."""
    if (spec.to is None) == (spec.group_id is None):
        raise InvalidRequest("give exactly one of to and group_id")
    if (spec.text is None) == (spec.media is None):
        raise InvalidRequest("give exactly one of text and media")
    if spec.caption is not None and spec.media is None:
        raise InvalidRequest("caption goes with media only")
    _text_ok(spec.text, "text")
    _text_ok(spec.caption, "caption")
    if spec.group_id is not None and not spec.group_id.strip():
        raise InvalidRequest("group_id must not be empty")


def _size(upload: MediaUpload) -> int:
    if isinstance(upload.source, Path):
        return upload.source.stat().st_size
    return len(upload.source)


def _detect(upload: MediaUpload) -> str:
    if isinstance(upload.source, Path):
        with upload.source.open("rb") as fh:
            return detect_mime(fh.read(HEAD_BYTES), fh)
    return detect_mime_of_bytes(upload.source)


def _mime(upload: MediaUpload) -> str:
    if upload.mime is not None:
        mime = upload.mime.strip().lower()
        if "/" not in mime or len(mime) > 255 or any(c.isspace() for c in mime):
            raise InvalidRequest("media.mime must look like type/subtype")
        return mime
    return _detect(upload)


async def seal_upload(
    store: MediaStore, session_id: str, upload: MediaUpload, max_bytes: int
) -> tuple[MediaInfo, bytes, MessageType]:
    """Checks the size (``FileTooLarge``) and type, and seals the file into the media store.
    A file given by path (a multipart upload) is removed once sealed."""
    size = await asyncio.to_thread(_size, upload)
    if size > max_bytes:
        raise FileTooLarge(f"the file is {size} bytes; the limit is {max_bytes}")
    if size == 0:
        raise InvalidRequest("the file is empty")
    mime = await asyncio.to_thread(_mime, upload)
    kind = upload.kind or kind_of(mime)
    filename = upload.filename
    if filename is not None:
        filename = os.path.basename(filename.replace("\\", "/")).strip() or None
    media_id = new_id("med")
    source = upload.source if isinstance(upload.source, Path) else io.BytesIO(upload.source)
    info, sealed = await store.put(session_id, media_id, source, mime=mime, filename=filename)
    if isinstance(upload.source, Path):
        with contextlib.suppress(FileNotFoundError):
            await asyncio.to_thread(upload.source.unlink)
    return info, sealed, kind


async def engine_peer(
    engine: Engine, *, to: Optional[str], group_id: Optional[str], media: bool
) -> str:
    """The checked recipient (a user id, or the group) of a send to ``to`` or ``group_id``
    (``media``: with a file): ``InvalidRequest``, ``InvalidRecipient`` or
    ``RecipientNotFound`` when it cannot be sent to, ``SessionNotConnected`` when it cannot
    be checked now."""
    group_media = getattr(engine, "group_media", True)
    if group_id is not None and media and not group_media:
        raise InvalidRequest(f"the {engine.name} engine sends text only to groups")
    try:
        if group_id is not None:
            await engine.check_group(group_id)
            return group_id
        assert to is not None
        return await engine.resolve_recipient(to)
    except GatewayError:
        raise
    except (sdk_errors.WhatsAppError, OSError) as exc:
        # The session is reconnecting: a user id is queued unchecked, a name cannot be.
        if to is not None and _USER_ID.match(to):
            return to
        raise SessionNotConnected(
            f"the recipient cannot be checked while the session reconnects ({exc})"
        ) from exc

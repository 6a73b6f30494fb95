"""Turning what the SDK hands the ``wac1`` engine into the engine interface's records:
received direct and group messages (media downloaded to a private temporary file first)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Optional

from whatsapp_client.client import Message, WhatsAppClient
from whatsapp_client.client.mime import OCTET_STREAM
from whatsapp_client.gateway._engine import InboundMedia, InboundMessage
from whatsapp_client.gateway._models import MessageType

__all__ = ["gateway_type", "media_of", "to_inbound"]

_TYPES: dict[str, MessageType] = {
    "text": "text",
    "image": "image",
    "video": "video",
    "audio": "audio",
    "file": "document",
}


def gateway_type(sdk_type: str) -> MessageType:
    """The gateway's type of an SDK payload type (``file`` is a ``document``); unknown
    payload types are reported as text."""
    return _TYPES.get(sdk_type, "text")


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


async def media_of(
    client: WhatsAppClient, message: Message, incoming: Path
) -> Optional[InboundMedia]:
    """The message's media as a private temporary file under ``incoming`` (None for a text
    message). Raises ``OSError`` (a full disk) or the SDK's ``AttachmentCorruptError`` with
    nothing left behind."""
    if not message.is_media:
        return None
    await asyncio.to_thread(incoming.mkdir, parents=True, exist_ok=True, mode=0o700)
    # A folder per message: the sender's file name is kept, two files never collide.
    folder = Path(
        await asyncio.to_thread(
            tempfile.mkdtemp,
            prefix=hashlib.sha256(message.id.encode()).hexdigest()[:16] + "-",
            dir=incoming,
        )
    )
    try:
        inline = message.data
        if inline is not None:
            path = folder / "media"
            await asyncio.to_thread(_write_private, path, inline)
        else:
            path = await client.download(message, str(folder) + os.sep)
        size = (await asyncio.to_thread(path.stat)).st_size
    except BaseException:
        with contextlib.suppress(OSError):
            await asyncio.to_thread(shutil.rmtree, folder, True)
        raise
    return InboundMedia(
        path=path, mime=message.mime or OCTET_STREAM, size=size, filename=message.filename
    )


def to_inbound(
    message: Message, sender_name: Optional[str], media: Optional[InboundMedia]
) -> InboundMessage:
    caption = message.caption if message.is_media else None
    text = None if message.is_media else message.content
    return InboundMessage(
        engine_message_id=message.id,
        sender=message.from_user,
        sender_name=sender_name,
        group_id=message.group_id,
        type=gateway_type(message.type),
        text=text,
        caption=caption,
        timestamp=message.timestamp,
        media=media,
    )

"""Turning the Cloud API's webhook events into the engine interface's records: received
messages (media downloaded through the client to a private temporary file first) and the
delivery statuses of sent ones.

Graph's inbound message kinds are described at
https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/payload-examples
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import mimetypes
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from whatsapp_client.client.mime import OCTET_STREAM
from whatsapp_client.cloud._events import Event, MessageEvent, StatusEvent
from whatsapp_client.cloud._handlers import WebhookHandlers
from whatsapp_client.gateway._engine import InboundMedia, InboundMessage
from whatsapp_client.gateway._models import MessageType

if TYPE_CHECKING:
    from whatsapp_client.cloud._client import CloudClient

__all__ = ["CountedHandlers", "download_to", "failure_reason", "inbound_of", "media_kind_of"]

_MEDIA: dict[str, MessageType] = {
    "image": "image",
    "sticker": "image",
    "video": "video",
    "audio": "audio",
    "document": "document",
}


def media_kind_of(event: MessageEvent) -> Optional[MessageType]:
    """The gateway type of a media message (None: not media, or no media id)."""
    kind = _MEDIA.get(event.type)
    return kind if kind is not None and event.media_id else None


def _text_of(event: MessageEvent) -> str:
    """The text the gateway records for a message that is not text or media: what the user
    picked or sent, else the kind in brackets (the full object stays with Graph)."""
    if event.text:
        return event.text
    for value in (
        event.interactive_reply_title,
        event.button_payload,
        event.reaction_emoji,
        event.system_body,
    ):
        if value:
            return value
    if event.location is not None:
        loc = event.location
        place = " ".join(p for p in (loc.name, loc.address) if p)
        return f"{place} ({loc.latitude}, {loc.longitude})".strip()
    return f"[{event.type} message]"


async def download_to(
    client: CloudClient, event: MessageEvent, incoming: Path
) -> Optional[InboundMedia]:
    """The event's media as a private temporary file under ``incoming`` (None for no
    media). Raises the client's media errors or ``OSError`` with nothing left behind."""
    if media_kind_of(event) is None:
        return None
    assert event.media_id is not None
    await asyncio.to_thread(incoming.mkdir, parents=True, exist_ok=True, mode=0o700)
    folder = Path(
        await asyncio.to_thread(
            tempfile.mkdtemp,
            prefix=hashlib.sha256(event.message_id.encode()).hexdigest()[:16] + "-",
            dir=incoming,
        )
    )
    mime = (event.mime_type or OCTET_STREAM).split(";")[0].strip() or OCTET_STREAM
    try:
        got = await client.download_media(event.media_id, path=folder / "media")
        path = got if isinstance(got, Path) else folder / "media"
        size = (await asyncio.to_thread(path.stat)).st_size
    except BaseException:
        with contextlib.suppress(OSError):
            await asyncio.to_thread(shutil.rmtree, folder, True)
        raise
    filename = event.filename
    if filename is None and event.type == "document":
        filename = "document" + (mimetypes.guess_extension(mime) or "")
    return InboundMedia(path=path, mime=mime, size=size, filename=filename)


def inbound_of(event: MessageEvent, media: Optional[InboundMedia]) -> InboundMessage:
    kind = media_kind_of(event)
    if kind is not None:
        # Media that could not be stored is still recorded, with its caption.
        return InboundMessage(
            engine_message_id=event.message_id,
            sender=event.from_,
            sender_name=event.contact_name,
            type=kind,
            caption=event.caption,
            timestamp=event.timestamp * 1000,
            media=media,
        )
    return InboundMessage(
        engine_message_id=event.message_id,
        sender=event.from_,
        sender_name=event.contact_name,
        type="text",
        text=_text_of(event),
        timestamp=event.timestamp * 1000,
    )


def failure_reason(event: StatusEvent) -> str:
    """Why Graph reports a sent message ``failed`` (its first error, with the code)."""
    if not event.errors:
        return "the Cloud API reported the message failed"
    err = event.errors[0]
    text = err.details or err.message or err.title or "no details"
    return f"the Cloud API reported the message failed: {text} (code {err.code})"


class CountedHandlers(WebhookHandlers):
    """The receiver's handlers, counting the dispatches it schedules, so that the webhook
    route answers Meta only once its events are recorded. (Not the receiver's ``drain``:
    it can spin on a finished task that is not yet discarded, freezing the loop.)"""

    def __init__(self) -> None:
        super().__init__()
        self._pending = 0
        self._quiet = asyncio.Event()
        self._quiet.set()

    def expect(self) -> None:
        """Called when the receiver has scheduled a dispatch (before it runs)."""
        self._pending += 1
        self._quiet.clear()

    async def dispatch(self, events: Sequence[Event]) -> None:
        try:
            await super().dispatch(events)
        finally:
            self._pending = max(0, self._pending - 1)
            if self._pending == 0:
                self._quiet.set()

    async def settled(self) -> None:
        """Returns once every scheduled dispatch has finished."""
        await self._quiet.wait()

"""Sending media messages (by id, link, path or bytes) and several media in one call.

A path or bytes is uploaded first (type and size checked before any byte leaves), then sent
by the new media id. Everything about the message (recipient, caption, filename) is checked
before the upload, so a bad message never leaves an orphan upload behind.
"""

from __future__ import annotations

import asyncio
import mimetypes
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional, Union

from whatsapp_client.cloud._errors import CloudAPIError, CloudError, ValidationError
from whatsapp_client.cloud._models import BatchItem, MediaItem, MediaKind, SendResult
from whatsapp_client.cloud._payloads import media_payload, normalize_recipient
from whatsapp_client.cloud._upload import MediaSource

__all__ = ["MediaSendingMixin"]

_UPLOAD_CONCURRENCY = 4


class MediaSendingMixin:
    async def _send(
        self,
        payload: dict[str, Any],
        *,
        business_initiated: bool = False,
        media_id: Optional[str] = None,
    ) -> SendResult:
        raise NotImplementedError

    async def upload_media(
        self, path_or_bytes: MediaSource, mime_type: Optional[str] = None
    ) -> str:
        raise NotImplementedError

    @staticmethod
    def _guess_mime(source: MediaSource) -> str:
        if isinstance(source, (str, Path)):
            guessed, _ = mimetypes.guess_type(str(source))
            if guessed:
                return guessed
            raise ValidationError(f"cannot tell the media type of {source}: pass mime_type=")
        raise ValidationError("mime_type is required when uploading bytes")

    async def _prepare(self, kind: MediaKind, to: str, item: MediaItem) -> dict[str, Any]:
        """Validate everything, then upload when needed; returns the payload to send."""
        sources = [s for s in (item.media_id, item.link, item.path, item.data) if s is not None]
        if len(sources) != 1:
            raise ValidationError(f"{kind}: give exactly one of media_id, link, path or data")
        by_ref = item.media_id is not None or item.link is not None
        # Validate the message itself before any upload (a placeholder id for now).
        media_payload(
            kind,
            to,
            media_id=item.media_id if by_ref else "pending",
            link=item.link,
            caption=item.caption,
            filename=item.filename,
        )
        if by_ref:
            return media_payload(
                kind,
                to,
                media_id=item.media_id,
                link=item.link,
                caption=item.caption,
                filename=item.filename,
            )
        source: MediaSource = item.path if item.path is not None else item.data  # type: ignore[assignment]
        mime = item.mime_type or self._guess_mime(source)
        media_id = await self._upload_kind(kind, source, mime)
        filename = item.filename
        if kind == "document" and filename is None and item.path is not None:
            filename = Path(item.path).name
        return media_payload(kind, to, media_id=media_id, caption=item.caption, filename=filename)

    async def _upload_kind(self, kind: MediaKind, source: MediaSource, mime: str) -> str:
        raise NotImplementedError

    async def _send_media(self, kind: MediaKind, to: str, item: MediaItem) -> SendResult:
        payload = await self._prepare(kind, to, item)
        uploaded = payload[kind].get("id") if item.media_id is None else None
        return await self._send(payload, media_id=uploaded)

    async def _media(
        self,
        kind: MediaKind,
        to: str,
        media_id: Optional[str],
        link: Optional[str],
        path: Union[str, Path, None],
        data: Optional[bytes],
        caption: Optional[str],
        filename: Optional[str],
        mime_type: Optional[str],
    ) -> SendResult:
        item = MediaItem(kind, media_id, link, path, data, caption, filename, mime_type)
        return await self._send_media(kind, to, item)

    async def send_image(
        self,
        to: str,
        media_id: Optional[str] = None,
        link: Optional[str] = None,
        path: Union[str, Path, None] = None,
        data: Optional[bytes] = None,
        caption: Optional[str] = None,
        filename: Optional[str] = None,
        mime_type: Optional[str] = None,
    ) -> SendResult:
        return await self._media(
            "image", to, media_id, link, path, data, caption, filename, mime_type
        )

    async def send_video(
        self,
        to: str,
        media_id: Optional[str] = None,
        link: Optional[str] = None,
        path: Union[str, Path, None] = None,
        data: Optional[bytes] = None,
        caption: Optional[str] = None,
        filename: Optional[str] = None,
        mime_type: Optional[str] = None,
    ) -> SendResult:
        return await self._media(
            "video", to, media_id, link, path, data, caption, filename, mime_type
        )

    async def send_audio(
        self,
        to: str,
        media_id: Optional[str] = None,
        link: Optional[str] = None,
        path: Union[str, Path, None] = None,
        data: Optional[bytes] = None,
        caption: Optional[str] = None,
        filename: Optional[str] = None,
        mime_type: Optional[str] = None,
    ) -> SendResult:
        return await self._media(
            "audio", to, media_id, link, path, data, caption, filename, mime_type
        )

    async def send_document(
        self,
        to: str,
        media_id: Optional[str] = None,
        link: Optional[str] = None,
        path: Union[str, Path, None] = None,
        data: Optional[bytes] = None,
        caption: Optional[str] = None,
        filename: Optional[str] = None,
        mime_type: Optional[str] = None,
    ) -> SendResult:
        return await self._media(
            "document", to, media_id, link, path, data, caption, filename, mime_type
        )

    async def send_sticker(
        self,
        to: str,
        media_id: Optional[str] = None,
        link: Optional[str] = None,
        path: Union[str, Path, None] = None,
        data: Optional[bytes] = None,
        caption: Optional[str] = None,
        filename: Optional[str] = None,
        mime_type: Optional[str] = None,
    ) -> SendResult:
        return await self._media(
            "sticker", to, media_id, link, path, data, caption, filename, mime_type
        )

    async def send_media_batch(self, to: str, items: Sequence[MediaItem]) -> list[BatchItem]:
        """Send several media to one recipient, in order; one :class:`BatchItem` per item.

        Uploads run concurrently (at most four at a time), sends keep the given order. One
        item's failure (validation, upload, Graph error, breaker open) is reported in its
        BatchItem and never stops the others. Only a bad recipient raises (nothing sent).
        """
        normalize_recipient(to)
        gate = asyncio.Semaphore(_UPLOAD_CONCURRENCY)

        async def prepare(item: MediaItem) -> dict[str, Any]:
            if not isinstance(item, MediaItem):
                raise ValidationError(f"batch items must be MediaItem, not {type(item).__name__}")
            async with gate:
                return await self._prepare(item.kind, to, item)

        prepared = await asyncio.gather(*(prepare(i) for i in items), return_exceptions=True)
        results: list[BatchItem] = []
        for index, (item, ready) in enumerate(zip(items, prepared)):
            kind = str(getattr(item, "kind", "unknown"))
            if isinstance(ready, BaseException):
                results.append(_failed(index, kind, ready))
                continue
            try:
                uploaded = ready[item.kind].get("id") if item.media_id is None else None
                sent = await self._send(ready, media_id=uploaded)
            except (CloudError, OSError) as exc:
                results.append(_failed(index, kind, exc))
            else:
                results.append(BatchItem(index=index, kind=kind, ok=True, result=sent))
        return results


def _failed(index: int, kind: str, exc: BaseException) -> BatchItem:
    if not isinstance(exc, (CloudError, OSError)):
        raise exc
    return BatchItem(
        index=index,
        kind=kind,
        ok=False,
        error_type=type(exc).__name__,
        error_message=str(exc),
        error_code=exc.code if isinstance(exc, CloudAPIError) else None,
    )

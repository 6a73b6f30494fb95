"""Media upload: ``POST /{phone_number_id}/media`` (multipart: file, type, messaging_product),
with the per-kind type and size limits checked before a byte is sent.

Reference: https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media/#upload-media
"""

from __future__ import annotations

import io
import mimetypes
from pathlib import Path
from typing import IO, Optional, Union

import aiohttp

from whatsapp_client.cloud._errors import ValidationError
from whatsapp_client.cloud._media_limits import check_media, kind_for_mime
from whatsapp_client.cloud._models import MediaKind, UploadResult
from whatsapp_client.cloud._transport import GraphTransport

__all__ = ["MediaSource", "upload_media"]

MediaSource = Union[str, Path, bytes, bytearray, memoryview]


def _read_head(path: Path) -> bytes:
    with path.open("rb") as f:
        return f.read(32)


async def upload_media(
    transport: GraphTransport,
    phone_number_id: str,
    source: MediaSource,
    mime_type: str,
    *,
    kind: Optional[MediaKind] = None,
    timeout: Optional[float] = None,
    breaker_key: Optional[str] = None,
) -> UploadResult:
    """Upload ``source`` (a path or the bytes) and return Graph's media id.

    :class:`ValidationError` (nothing sent) for a missing file, a type the kind does not
    accept, or a size over the kind's limit.
    """
    if not isinstance(mime_type, str) or "/" not in mime_type:
        raise ValidationError(f"mime_type {mime_type!r} must be a media type like 'image/png'")
    kind = kind or kind_for_mime(mime_type)
    data: Optional[bytes] = None
    path: Optional[Path] = None
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        size, head = len(data), data[:32]
        filename = "upload" + (mimetypes.guess_extension(mime_type.split(";")[0]) or "")
    elif isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise ValidationError(f"no such file to upload: {path}")
        size, head = path.stat().st_size, _read_head(path)
        filename = path.name
    else:
        raise ValidationError(f"upload source must be a path or bytes, not {type(source).__name__}")
    check_media(kind, size, mime_type, head=head)

    opened: list[IO[bytes]] = []

    def form() -> aiohttp.FormData:
        fd = aiohttp.FormData()
        fd.add_field("messaging_product", "whatsapp")
        fd.add_field("type", mime_type)
        if data is not None:
            # A stream, not raw bytes: aiohttp (3.14+) warns that a raw body over ~1 MiB
            # may block the loop (ResourceWarning). A new one per attempt (retries).
            fd.add_field("file", io.BytesIO(data), filename=filename, content_type=mime_type)
        else:
            assert path is not None
            f = path.open("rb")
            opened.append(f)
            fd.add_field("file", f, filename=filename, content_type=mime_type)
        return fd

    try:
        return await transport.call(
            "POST",
            f"{phone_number_id}/media",
            UploadResult,
            endpoint="media_upload",
            form=form,
            timeout=timeout,
            breaker_key=breaker_key,
        )
    finally:
        for f in opened:
            f.close()

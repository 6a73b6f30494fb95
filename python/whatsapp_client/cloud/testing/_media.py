"""Media endpoints: upload (``POST /{v}/{phone_number_id}/media``, multipart), retrieve
(``GET /{v}/{media_id}``), delete (``DELETE /{v}/{media_id}``) and the media url itself
(bearer token required; it expires, and answers 404 until the url is asked for again).

Per-kind types and sizes as Graph lists them ("Supported media types"):
https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media ;
download steps: the same page, section "Download Media".
"""

from __future__ import annotations

from typing import Any, Optional

from aiohttp import BodyPartReader, web

from whatsapp_client.cloud.testing._errors import GraphFault, invalid_parameter, unknown_object
from whatsapp_client.cloud.testing._state import SimState, StoredMedia

MB = 1024 * 1024
KB = 1024
# mime type (without parameters) -> (kind, largest size in bytes)
MEDIA_TYPES: dict[str, tuple[str, int]] = {
    "audio/aac": ("audio", 16 * MB),
    "audio/amr": ("audio", 16 * MB),
    "audio/mpeg": ("audio", 16 * MB),
    "audio/mp4": ("audio", 16 * MB),
    "audio/ogg": ("audio", 16 * MB),
    "video/mp4": ("video", 16 * MB),
    "video/3gpp": ("video", 16 * MB),
    "video/3gp": ("video", 16 * MB),
    "image/jpeg": ("image", 5 * MB),
    "image/png": ("image", 5 * MB),
    "image/webp": ("sticker", 500 * KB),  # animated; a static sticker: 100 KB
    "text/plain": ("document", 100 * MB),
    "application/pdf": ("document", 100 * MB),
    "application/msword": ("document", 100 * MB),
    "application/vnd.ms-excel": ("document", 100 * MB),
    "application/vnd.ms-powerpoint": ("document", 100 * MB),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (
        "document",
        100 * MB,
    ),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": (
        "document",
        100 * MB,
    ),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (
        "document",
        100 * MB,
    ),
}
STATIC_STICKER_LIMIT = 100 * KB
LARGEST_UPLOAD = 100 * MB
URL_PATH = "/whatsapp_business/attachments/"


def base_mime(mime_type: str) -> str:
    """``audio/ogg; codecs=opus`` -> ``audio/ogg``."""
    return mime_type.split(";", 1)[0].strip().lower()


def is_animated_webp(data: bytes) -> bool:
    """An extended WebP (``VP8X`` chunk) with its animation flag set."""
    return (
        data[:4] == b"RIFF"
        and data[8:16] == b"WEBPVP8X"
        and len(data) > 20
        and bool(data[20] & 0x02)
    )


def check_upload(data: bytes, mime_type: str) -> None:
    """Raises what Graph answers for a file of the wrong type or size."""
    known = MEDIA_TYPES.get(base_mime(mime_type))
    if known is None:
        raise GraphFault(
            100,
            "(#100) Param file must be a file with one of the following types: "
            + ", ".join(MEDIA_TYPES)
            + f". Received file of type '{mime_type}'.",
        )
    kind, limit = known
    if kind == "sticker" and not is_animated_webp(data):
        limit = STATIC_STICKER_LIMIT
    if len(data) > limit:
        raise GraphFault(
            131053,
            details=f"{kind} file of {len(data)} bytes is over the {limit}-byte limit "
            f"for {base_mime(mime_type)}",
        )
    if not data:
        raise GraphFault(131053, details="the uploaded file is empty")


async def read_upload(request: web.Request) -> tuple[bytes, str]:
    """The file and its type from a multipart upload (fields file, type, messaging_product)."""
    if not request.content_type.startswith("multipart/"):
        raise invalid_parameter("media upload must be multipart/form-data")
    reader = await request.multipart()
    fields: dict[str, str] = {}
    data: Optional[bytes] = None
    part_type: Optional[str] = None
    while True:
        part = await reader.next()
        if part is None:
            break
        if not isinstance(part, BodyPartReader):
            raise invalid_parameter("nested multipart is not accepted")
        if part.name == "file":
            data = await _read_limited(part)
            part_type = part.headers.get("Content-Type")
        elif part.name:
            fields[part.name] = (await part.read()).decode("utf-8", "replace")
    if fields.get("messaging_product") != "whatsapp":
        raise GraphFault(100, "(#100) The parameter messaging_product is required.")
    if data is None:
        raise GraphFault(100, "(#100) The parameter file is required.")
    mime_type = fields.get("type") or part_type
    if not mime_type:
        raise GraphFault(100, "(#100) The parameter type is required.")
    return data, mime_type


async def _read_limited(part: BodyPartReader) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await part.read_chunk(256 * KB)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > LARGEST_UPLOAD:
            # Read (and drop) the rest so the client gets the answer, not a reset connection.
            while await part.read_chunk(256 * KB):
                pass
            raise GraphFault(131053, details=f"file is over {LARGEST_UPLOAD} bytes")
        chunks.append(chunk)


def media_info(state: SimState, media: StoredMedia, base_url: str) -> dict[str, Any]:
    """What ``GET /{media_id}`` answers; hands out a fresh url each time, like Graph."""
    nonce = state.issue_url(media)
    return {
        "messaging_product": "whatsapp",
        "url": f"{base_url}{URL_PATH}?mid={media.media_id}&hash={nonce}",
        "mime_type": media.mime_type,
        "sha256": media.sha256,
        "file_size": len(media.data),
        "id": media.media_id,
    }


def find_media(state: SimState, media_id: str) -> StoredMedia:
    media = state.media.get(media_id)
    if media is None:
        raise unknown_object(media_id)
    return media


def serve_url(state: SimState, request: web.Request) -> web.Response:
    """The media bytes for a valid, unexpired url; 404 otherwise (like the CDN does)."""
    media = state.media.get(request.query.get("mid", ""))
    if media is None or not state.url_valid(media, request.query.get("hash", "")):
        return web.Response(status=404, text="URL signature expired")
    return web.Response(
        body=media.data,
        headers={
            "Content-Type": media.mime_type,
            "Content-Disposition": f"attachment; filename={media.media_id}",
        },
    )

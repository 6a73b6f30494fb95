"""Images and files (PROTOCOL.md §5 plaintext payloads of type ``image`` and ``file``).

Media travels inside the end-to-end encrypted payload, base64-encoded. Everything here
checks its input before anything is encrypted or sent:

- an image's type comes from its first bytes (JPEG, PNG, GIF, WebP), never from its name;
- the raw size must be at most ``media_max_bytes`` (default 5 MiB, never above 16 MiB);
- the encrypted frame must fit the protocol's 8 MiB WebSocket frame limit. Base64 twice
  (payload, then ciphertext) makes a frame about 16/9 of the raw size, so about 4.5 MiB of
  raw bytes is the most one message can carry through a server with the default limit.

Downscaling (``max_dimension``) and :func:`open_image` need Pillow:
``pip install 'whatsapp-client[images]'``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import mimetypes
import os
import re
from pathlib import Path
from typing import Any, Union

from whatsapp_client import errors
from whatsapp_client.client.models import Message

__all__ = [
    "FRAME_LIMIT",
    "IMAGE_MIME_TYPES",
    "MediaSource",
    "check_frame_size",
    "check_media_size",
    "decode_image",
    "detect_image_mime",
    "downscale_image",
    "file_payload",
    "guess_file_mime",
    "image_payload",
    "open_image",
    "read_media",
    "save_media",
]

MediaSource = Union[str, "os.PathLike[str]"]

IMAGE_MIME_TYPES: dict[str, str] = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
}
"""The image types of PROTOCOL.md §5 and their usual file extensions."""

FRAME_LIMIT = 8 * 1024 * 1024
"""The WebSocket frame limit of PROTOCOL.md §7."""
_FRAME_OVERHEAD = 2048  # header, x3dh fields, frame id and recipient, JSON punctuation


def detect_image_mime(data: bytes) -> str | None:
    """The MIME type of an image from its magic bytes, or ``None`` when it is none of JPEG,
    PNG, GIF or WebP."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def guess_file_mime(filename: str | None, data: bytes) -> str:
    """The MIME type of a file: an image type from the bytes, else from the file name,
    else ``application/octet-stream``."""
    image = detect_image_mime(data)
    if image is not None:
        return image
    if filename:
        guessed, _ = mimetypes.guess_type(filename, strict=False)
        if guessed:
            return guessed
    return "application/octet-stream"


def check_media_size(size: int, limit: int, what: str) -> None:
    """Refuses empty media and media over ``limit`` bytes (``MediaError``)."""
    if size == 0:
        raise errors.MediaError(f"the {what} is empty", code="empty_media")
    if size > limit:
        raise errors.MediaError(
            f"the {what} is {size} bytes; the limit is {limit} bytes "
            f"({limit / (1024 * 1024):.1f} MiB, the client's media_max_bytes): "
            "send a smaller one (send_image(..., max_dimension=...) downscales images)",
            code="too_large",
        )


def check_frame_size(payload_bytes: int) -> None:
    """Refuses a payload whose encrypted frame would exceed the 8 MiB frame limit."""
    ciphertext = payload_bytes + 16
    wire = 4 * ((ciphertext + 2) // 3) + _FRAME_OVERHEAD
    if wire > FRAME_LIMIT:
        raise errors.MediaError(
            f"this media makes an encrypted frame of about {wire / (1024 * 1024):.1f} MiB; "
            "WebSocket frames are limited to 8 MiB (PROTOCOL.md §7), which fits about "
            "4.5 MiB of raw media: send a smaller file",
            code="frame_too_large",
        )


async def read_media(
    path: MediaSource | None, data: bytes | None, limit: int, what: str
) -> tuple[bytes, str | None]:
    """Exactly one of ``path`` and ``data``: the bytes (size-checked before reading a file)
    and the file's base name when read from a path."""
    if (path is None) == (data is None):
        raise errors.ValidationError(f"give exactly one of a path and the {what}'s bytes")
    if data is not None:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise errors.ValidationError(f"the {what}'s data must be bytes, got {type(data)!r}")
        raw = bytes(data)
        check_media_size(len(raw), limit, what)
        return raw, None
    assert path is not None
    if not isinstance(path, (str, os.PathLike)):
        raise errors.ValidationError(f"the {what}'s path must be a str or a path, got {path!r}")
    raw_path = os.fspath(path)

    def read() -> bytes:
        p = Path(raw_path).expanduser()
        try:
            size = p.stat().st_size
            if not p.is_file():
                raise errors.ValidationError(f"{str(p)!r} is not a regular file")
            check_media_size(size, limit, what)
            with p.open("rb") as fh:
                raw = fh.read(limit + 1)
        except OSError as exc:
            raise errors.ValidationError(f"cannot read {str(p)!r}: {exc.strerror}") from exc
        check_media_size(len(raw), limit, what)
        return raw

    return await asyncio.to_thread(read), Path(raw_path).name


def _clean_text(value: Any, name: str, max_bytes: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise errors.ValidationError(f"{name} must be a str, got {type(value)!r}")
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise errors.ValidationError(f"{name} is not valid Unicode") from exc
    if size > max_bytes:
        raise errors.ValidationError(f"{name} is {size} bytes of UTF-8; the limit is {max_bytes}")
    return value


def _clean_filename(value: Any) -> str | None:
    name = _clean_text(value, "filename", 255)
    if name is None:
        return None
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not base or base in (".", "..") or "\x00" in base:
        raise errors.ValidationError(f"filename {name!r} is not a usable file name")
    return base


def image_payload(
    data: bytes, mime: str, caption: str | None, filename: str | None, max_caption: int
) -> dict[str, Any]:
    """The §5 ``image`` payload."""
    payload: dict[str, Any] = {
        "type": "image",
        "mime": mime,
        "data": base64.b64encode(data).decode("ascii"),
    }
    cap = _clean_text(caption, "caption", max_caption)
    if cap:
        payload["caption"] = cap
    name = _clean_filename(filename)
    if name:
        payload["filename"] = name
    return payload


def file_payload(
    data: bytes, mime: str, filename: str, caption: str | None, max_caption: int
) -> dict[str, Any]:
    """The §5 ``file`` payload."""
    name = _clean_filename(filename)
    if not name:
        raise errors.ValidationError("a file needs a filename (pass filename=...)")
    mime_clean = _clean_text(mime, "mime", 255)
    if not mime_clean or "/" not in mime_clean:
        raise errors.ValidationError(f"mime must look like type/subtype, got {mime!r}")
    payload: dict[str, Any] = {
        "type": "file",
        "mime": mime_clean,
        "data": base64.b64encode(data).decode("ascii"),
        "filename": name,
    }
    cap = _clean_text(caption, "caption", max_caption)
    if cap:
        payload["caption"] = cap
    return payload


# --- Pillow (optional) ------------------------------------------------------------------------


def _pillow() -> Any:
    try:
        from PIL import Image
    except ImportError as exc:
        raise errors.MissingExtraError(
            "this needs Pillow, which is not installed: pip install 'whatsapp-client[images]'"
        ) from exc
    return Image


_PIL_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP"}


def downscale_image(data: bytes, mime: str, max_dimension: int) -> bytes:
    """The image resized so that neither side exceeds ``max_dimension`` pixels, in the same
    format (an image already small enough, or an animated one, comes back unchanged).
    Blocking: run it off the event loop. Needs Pillow (the ``images`` extra)."""
    if isinstance(max_dimension, bool) or not isinstance(max_dimension, int) or max_dimension < 1:
        raise errors.ValidationError("max_dimension must be a positive number of pixels")
    image_mod = _pillow()
    try:
        with image_mod.open(io.BytesIO(data)) as img:
            if getattr(img, "n_frames", 1) > 1:
                return data
            if img.width <= max_dimension and img.height <= max_dimension:
                return data
            img.thumbnail((max_dimension, max_dimension))
            fmt = _PIL_FORMATS[mime]
            out = io.BytesIO()
            if fmt == "JPEG" and img.mode not in ("RGB", "L"):
                img = img.convert("RGB")
            img.save(out, format=fmt)
            return out.getvalue()
    except (OSError, ValueError, SyntaxError) as exc:
        raise errors.MediaError(f"the image cannot be decoded: {exc}", code="bad_image") from exc


def open_image(value: Message | str | bytes) -> Any:
    """A ``PIL.Image.Image`` of an image message (or of its bytes / base64 text).
    Needs Pillow (the ``images`` extra)."""
    raw = decode_image(value)
    image_mod = _pillow()
    try:
        img = image_mod.open(io.BytesIO(raw))
        img.load()
    except (OSError, ValueError, SyntaxError) as exc:
        raise errors.MediaError(f"the image cannot be decoded: {exc}", code="bad_image") from exc
    return img


# --- receiving --------------------------------------------------------------------------------


def decode_image(value: Message | str | bytes) -> bytes:
    """The raw bytes of an image: from an image :class:`Message`, from its base64 text
    (``message.image_data``) or from bytes. Raises ``MediaError`` when they are not a JPEG,
    PNG, GIF or WebP image."""
    if isinstance(value, Message):
        if value.type != "image":
            raise errors.MediaError(f"message {value.id} is a {value.type!r} message, not an image")
        raw = value.data
        if raw is None:
            raise errors.MediaError(f"message {value.id} carries no decodable image data")
    elif isinstance(value, str):
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise errors.MediaError("the image data is not valid base64") from exc
    elif isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
    else:
        raise errors.ValidationError(
            f"decode_image takes a Message, base64 text or bytes, got {type(value)!r}"
        )
    if detect_image_mime(raw) is None:
        raise errors.MediaError(
            "the data is not a JPEG, PNG, GIF or WebP image", code="unsupported_image_type"
        )
    return raw


async def save_media(message: Message, path: MediaSource, *, image_only: bool) -> Path:
    """Writes an image or file message's bytes to ``path``. Returns the path written.

    ``path`` names a folder when it is one, ends with a separator (``"downloads/"``) or has
    no suffix (``"downloads"``): the folder is created if needed and the file inside gets
    the message's file name, or ``<id><extension>``. Otherwise it is the file to write."""
    if not isinstance(message, Message):
        raise errors.ValidationError(f"expected a Message, got {type(message)!r}")
    if image_only:
        raw = decode_image(message)
    else:
        if not message.is_media:
            raise errors.MediaError(f"message {message.id} is a {message.type!r} message")
        maybe = message.data
        if maybe is None:
            raise errors.MediaError(f"message {message.id} carries no decodable data")
        raw = maybe
    raw_path = os.fspath(path)

    def write() -> Path:
        out = Path(raw_path).expanduser()
        if _names_a_folder(raw_path, out):
            out.mkdir(parents=True, exist_ok=True)
            out = out / _file_name(message)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".part")
        with tmp.open("wb") as fh:
            fh.write(raw)
        tmp.replace(out)
        return out

    try:
        return await asyncio.to_thread(write)
    except OSError as exc:
        raise errors.ValidationError(f"cannot write {raw_path!r}: {exc.strerror}") from exc


def _names_a_folder(raw: str, path: Path) -> bool:
    if path.is_dir():
        return True
    if path.exists():
        return False
    seps = (os.sep, os.altsep or os.sep, "/")
    return raw.endswith(seps) or not path.suffix


def _file_name(message: Message) -> str:
    """The name of a received file inside a folder: its own (cleaned) name, else its id;
    neither can lead outside the folder."""
    name = _clean_filename(message.filename) if message.filename else None
    if name:
        return name
    ext = IMAGE_MIME_TYPES.get(message.mime or "") or (
        mimetypes.guess_extension(message.mime or "") or ".bin"
    )
    # The id is chosen by the sender: only plain characters, never a hidden or dot name.
    base = re.sub(r"[^A-Za-z0-9_.-]", "_", message.id)[:100].lstrip(".")
    return (base or "message") + ext


# Shared with the attachment senders and download (attachment_send.py,
# attachment_download.py).
clean_text = _clean_text
clean_filename = _clean_filename
names_a_folder = _names_a_folder
file_name = _file_name

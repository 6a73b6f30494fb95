"""Media types from the bytes (never from a file name).

Recognised: JPEG, PNG, GIF, WebP, MP4/MOV (and M4A), WebM/Matroska, OGG (Opus, Vorbis,
Theora), MP3, WAV, PDF, and ZIP archives, where Word, Excel and PowerPoint documents are told
apart by their ``[Content_Types].xml`` entry. Anything else is ``application/octet-stream``.
"""

from __future__ import annotations

import contextlib
import io
import zipfile
from typing import IO, Optional

__all__ = [
    "HEAD_BYTES",
    "OCTET_STREAM",
    "detect_mime",
    "detect_mime_of_bytes",
    "media_kind",
    "office_mime",
]

HEAD_BYTES = 4096
"""How many leading bytes :func:`detect_mime` needs."""
OCTET_STREAM = "application/octet-stream"

_OFFICE = (
    (
        b"wordprocessingml.document.main",
        "vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    (b"spreadsheetml.sheet.main", "vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    (
        b"presentationml.presentation.main",
        "vnd.openxmlformats-officedocument.presentationml.presentation",
    ),
)
_ZIP = "application/zip"


def _image(head: bytes) -> Optional[str]:
    if head[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def _iso_media(head: bytes) -> Optional[str]:
    # ISO base media (MP4, MOV, M4A): a box of type "ftyp" first, its major brand after it.
    if head[4:8] != b"ftyp":
        return None
    brand = head[8:12]
    if brand == b"qt  ":
        return "video/quicktime"
    if brand in (b"M4A ", b"M4B "):
        return "audio/mp4"
    return "video/mp4"


def _ogg(head: bytes) -> str:
    if b"OpusHead" in head or b"\x01vorbis" in head:
        return "audio/ogg"
    if b"\x80theora" in head:
        return "video/ogg"
    return "application/ogg"


def _mp3(head: bytes) -> bool:
    if head[:3] == b"ID3":
        return True
    # An MPEG audio frame header: 11 sync bits, layer III, a valid bitrate and rate index.
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    layer = (head[1] >> 1) & 0x3
    bitrate = head[2] >> 4
    rate = (head[2] >> 2) & 0x3
    return layer == 1 and bitrate not in (0, 15) and rate != 3


def detect_mime(head: bytes, archive: Optional[IO[bytes]] = None) -> str:
    """The MIME type of media starting with ``head`` (its first :data:`HEAD_BYTES`).

    ``archive``, a seekable binary file of the whole content, tells office documents from
    other ZIP archives; without it a ZIP is ``application/zip``."""
    found = _image(head) or _iso_media(head)
    if found:
        return found
    if head[:4] == b"\x1a\x45\xdf\xa3":  # EBML: Matroska or WebM
        return "video/webm" if b"webm" in head[:64] else "video/x-matroska"
    if head[:4] == b"OggS":
        return _ogg(head)
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head[:5] == b"%PDF-":
        return "application/pdf"
    if head[:4] == b"PK\x03\x04":
        return office_mime(archive) if archive is not None else _ZIP
    if _mp3(head):
        return "audio/mpeg"
    return OCTET_STREAM


def office_mime(archive: IO[bytes]) -> str:
    """Word, Excel or PowerPoint (OOXML) by the archive's ``[Content_Types].xml``, else
    ``application/zip``. The file position is restored."""
    try:
        start = archive.tell()
    except (OSError, ValueError):
        return _ZIP
    try:
        with zipfile.ZipFile(archive) as zf, zf.open("[Content_Types].xml") as fh:
            types = fh.read(256 * 1024)
    except (KeyError, zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError):
        return _ZIP
    finally:
        with contextlib.suppress(OSError, ValueError):
            archive.seek(start)
    for marker, subtype in _OFFICE:
        if marker in types:
            return f"application/{subtype}"
    return _ZIP


def detect_mime_of_bytes(data: bytes) -> str:
    """:func:`detect_mime` of a whole content held in memory."""
    return detect_mime(data[:HEAD_BYTES], io.BytesIO(data))


def media_kind(mime: str) -> str:
    """The §5 payload type for a MIME type: ``image``, ``video``, ``audio`` or ``file``."""
    major = mime.split("/", 1)[0]
    return major if major in ("image", "video", "audio") else "file"

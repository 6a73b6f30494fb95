"""A small valid PNG made without any imaging library (the demo's image)."""

from __future__ import annotations

import struct
import zlib

__all__ = ["tiny_png"]


def tiny_png(width: int = 24, height: int = 16) -> bytes:
    """A small valid PNG (a colour gradient) made without any imaging library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(
        b"\x00"
        + b"".join(
            bytes((x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1), 160))
            for x in range(width)
        )
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )

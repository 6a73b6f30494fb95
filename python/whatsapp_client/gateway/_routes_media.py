"""``GET /api/v1/sessions/{id}/media/{media_id}``: a received or sent file, decrypted as it
streams, whole (200) or one byte range (206, ``Range: bytes=...``)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Optional

from aiohttp import web

from whatsapp_client.gateway._context import context_of
from whatsapp_client.gateway._errors import RangeNotSatisfiable
from whatsapp_client.gateway._ownership import reach_session
from whatsapp_client.gateway._routes_sessions import session_id_of
from whatsapp_client.gateway._views import API

_RANGE = re.compile(r"bytes=(\d{0,19})-(\d{0,19})")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]")


def parse_range(header: Optional[str], size: int) -> Optional[tuple[int, int]]:
    """``(start, end)`` (end exclusive) of a single-range ``Range`` header, or None to send
    the whole file (no header, or one this parser does not understand, as RFC 9110 allows:
    several ranges, another unit). ``RangeNotSatisfiable`` for a range outside the file."""
    if header is None:
        return None
    match = _RANGE.fullmatch(header.strip())
    if match is None:
        return None
    first, last = match.group(1), match.group(2)
    if first == "" and last == "":
        return None
    if first == "":  # the last N bytes
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable("the range selects no byte of the file", size)
        return max(0, size - suffix), size
    start = int(first)
    end = size if last == "" else min(int(last) + 1, size)
    if start >= size or (last != "" and int(last) < start):
        raise RangeNotSatisfiable(f"the range starts past the file's {size} bytes", size)
    return start, end


def _disposition(filename: Optional[str]) -> str:
    if not filename:
        return "attachment"
    # A plain ASCII name for every browser; quotes and control characters cannot break out.
    return f'attachment; filename="{_SAFE_NAME.sub("_", filename)[:200]}"'


async def get_media(request: web.Request) -> web.StreamResponse:
    session_id = session_id_of(request)
    await reach_session(request, session_id, "read")
    media_id = request.match_info["media_id"]
    reader = await context_of(request).service.open_media(session_id, media_id)
    info = reader.info
    span = parse_range(request.headers.get("Range"), info.size)
    start, end = span if span is not None else (0, info.size)
    response = web.StreamResponse(status=200 if span is None else 206)
    response.content_type = info.mime
    response.content_length = end - start
    response.headers["Accept-Ranges"] = "bytes"
    response.headers["Content-Disposition"] = _disposition(info.filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    if info.sha256:
        response.headers["ETag"] = f'"{info.sha256}"'
    if span is not None:
        response.headers["Content-Range"] = f"bytes {start}-{end - 1}/{info.size}"
    chunks = reader.read(start, end)
    # The first chunk is authenticated before the status line goes out, so a tampered file
    # is an error answer rather than a truncated 200.
    first = await anext_or_none(chunks)
    await response.prepare(request)
    if first is not None:
        await response.write(first)
        async for chunk in chunks:
            await response.write(chunk)
    await response.write_eof()
    return response


async def anext_or_none(chunks: AsyncIterator[bytes]) -> Optional[bytes]:
    try:
        return await chunks.__anext__()
    except StopAsyncIteration:
        return None


def add_routes(app: web.Application) -> None:
    app.router.add_get(f"{API}/sessions/{{session_id}}/media/{{media_id}}", get_media)

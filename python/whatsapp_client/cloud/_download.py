"""Media download in Graph's two steps: ``GET /{media_id}`` (url, mime_type, sha256,
file_size), then an authenticated GET of that url, streamed to disk or memory.

Each step has its own timeout. Media urls expire after a few minutes: on 401/403/404 from
the url the client asks Graph for a fresh url once. The bytes must match the announced
sha256 and size, or :class:`MediaDownloadError`; a file target is written to a temporary
file in the same directory, fsynced, then renamed, so a failure never leaves a partial file.
Reference: https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media/#download-media
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import logging
import mimetypes
import os
import tempfile
from pathlib import Path
from typing import IO, Optional, Protocol, Union
from urllib.parse import quote

import aiohttp

from whatsapp_client.cloud._codes import classify
from whatsapp_client.cloud._errors import MediaDownloadError, MediaNotFoundError
from whatsapp_client.cloud._models import MediaInfo
from whatsapp_client.cloud._transport import GraphTransport

__all__ = ["download_media", "get_media_info"]

log = logging.getLogger("whatsapp.cloud.media")
_CHUNK = 256 * 1024
_EXPIRED = (401, 403, 404)


class _DownloadMetrics(Protocol):
    def media_download(self, status: str) -> None: ...


class _UrlRefused(Exception):
    def __init__(self, status: int) -> None:
        self.status = status


async def get_media_info(
    transport: GraphTransport, media_id: str, *, timeout: Optional[float] = None
) -> MediaInfo:
    """Step 1. :class:`MediaNotFoundError` for an unknown id (also HTTP 400 code 100/33)."""
    if not isinstance(media_id, str) or not media_id.strip() or "/" in media_id:
        from whatsapp_client.cloud._errors import ValidationError

        raise ValidationError(f"media_id {media_id!r} must be a non-empty id without '/'")
    return await transport.call(
        "GET",
        quote(media_id, safe=""),
        MediaInfo,
        endpoint="media_info",
        timeout=timeout,
        media=True,
    )


def _sha_matches(expected: str, digest: bytes) -> bool:
    want = expected.strip()
    if len(want) == 64:
        return want.lower() == digest.hex()
    try:
        return base64.b64decode(want, validate=True) == digest
    except (binascii.Error, ValueError):
        return False


def _target_file(path: Path, info: MediaInfo) -> Path:
    if path.is_dir():
        ext = mimetypes.guess_extension(info.mime_type.split(";")[0].strip()) or ".bin"
        return path / f"{info.id}{ext}"
    return path


async def _fetch(
    transport: GraphTransport, info: MediaInfo, target: Optional[Path], timeout: float
) -> Union[bytes, Path]:
    digest = hashlib.sha256()
    count = 0
    sink: Union[bytearray, IO[bytes]]
    tmp_name: Optional[str] = None
    if target is None:
        sink = bytearray()
    else:
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".part", dir=target.parent
        )
        sink = os.fdopen(fd, "wb")
    try:
        async with transport.stream(info.url, timeout=timeout) as resp:
            if resp.status in _EXPIRED:
                raise _UrlRefused(resp.status)
            if resp.status >= 400:
                raise classify(resp.status, await resp.read(), dict(resp.headers), media=True)
            async for chunk in resp.content.iter_chunked(_CHUNK):
                count += len(chunk)
                if info.file_size is not None and count > info.file_size:
                    raise MediaDownloadError(
                        f"media {info.id} is larger than the announced {info.file_size} bytes"
                    )
                digest.update(chunk)
                if isinstance(sink, bytearray):
                    sink += chunk
                else:
                    sink.write(chunk)
        if info.file_size is not None and count != info.file_size:
            raise MediaDownloadError(
                f"media {info.id}: got {count} bytes, Graph announced {info.file_size}"
            )
        if info.sha256 and not _sha_matches(info.sha256, digest.digest()):
            raise MediaDownloadError(f"media {info.id}: sha256 mismatch (corrupt or tampered)")
        if isinstance(sink, bytearray):
            return bytes(sink)
        assert target is not None and tmp_name is not None
        sink.flush()
        await asyncio.to_thread(os.fsync, sink.fileno())
        sink.close()
        os.replace(tmp_name, target)
        tmp_name = None
        return target
    finally:
        if not isinstance(sink, bytearray):
            sink.close()
        if tmp_name is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)


async def download_media(
    transport: GraphTransport,
    media_id: str,
    path: Union[str, Path, None] = None,
    *,
    info_timeout: float = 30.0,
    fetch_timeout: float = 30.0,
    metrics: Optional[_DownloadMetrics] = None,
) -> Union[bytes, Path]:
    """Download ``media_id``: the bytes, or the written ``Path`` when ``path`` is given
    (a directory gets ``{media_id}{ext}`` inside it)."""
    target = Path(path) if path is not None else None
    if target is not None and not target.parent.is_dir():
        from whatsapp_client.cloud._errors import ValidationError

        raise ValidationError(f"cannot write media to {target}: no such directory")
    status = "error"
    try:
        info = await get_media_info(transport, media_id, timeout=info_timeout)
        dest = _target_file(target, info) if target is not None else None
        refreshed = False
        attempt = 0
        while True:
            try:
                result = await _fetch(transport, info, dest, fetch_timeout)
            except _UrlRefused as refused:
                if refreshed:
                    raise MediaDownloadError(
                        f"media {media_id}: the url answered HTTP {refused.status} even after"
                        " asking Graph for a fresh one",
                        status=refused.status,
                    ) from None
                log.info("media url answered %d; fetching a fresh url once", refused.status)
                refreshed = True
                info = await get_media_info(transport, media_id, timeout=info_timeout)
                continue
            except (asyncio.TimeoutError, aiohttp.ClientError) as exc:
                if attempt >= transport.max_retries:
                    raise MediaDownloadError(
                        f"media {media_id}: fetching the url failed: {type(exc).__name__}"
                    ) from exc
                await transport.pause("media_fetch", attempt, None)
                attempt += 1
                continue
            except MediaDownloadError:
                raise
            except Exception as exc:  # a classified Graph error from the url
                retryable = getattr(exc, "retryable", False)
                if retryable and attempt < transport.max_retries:
                    await transport.pause("media_fetch", attempt, getattr(exc, "retry_after", None))
                    attempt += 1
                    continue
                raise
            status = "success"
            return result
    except MediaNotFoundError:
        status = "not_found"
        raise
    finally:
        if metrics is not None:
            metrics.media_download(status)

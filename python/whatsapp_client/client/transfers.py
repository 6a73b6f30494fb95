"""Attachment blobs over HTTP (PROTOCOL.md §8): streamed uploads and resumable downloads.

A blob never sits whole in memory: uploads read the blob file a MiB at a time into the
request body, downloads append the response to a ``.part`` file. A failed transfer is tried
again with the client's backoff (``http_retries``, ``http_retry_backoff``); a download
resumes with ``Range`` from the bytes already on disk. A download is written through the
core's ``AttachmentBlobWriter``, which hashes the blob as it arrives.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Callable, Optional
from urllib.parse import quote

import aiohttp
import msgspec

from whatsapp_client import _core, errors
from whatsapp_client.client.attachment_seal import SealJob
from whatsapp_client.client.http import HttpApi, error_from_response
from whatsapp_client.client.logging import get_logger

__all__ = ["Progress", "Transfers", "report"]

log = get_logger("transfers")

Progress = Callable[[int, int], Any]
"""``progress(done, total)``: bytes of the blob transferred so far and the blob's size."""

_PIECE = 1024 * 1024
_JSON = msgspec.json.Decoder()


def report(progress: Optional[Progress], done: int, total: int) -> None:
    """Calls ``progress`` (if any); an exception it raises is logged, never propagated."""
    if progress is None:
        return
    try:
        progress(done, total)
    except Exception:  # a broken callback must not break the transfer
        log.exception("the progress callback raised")


def _monotonic(progress: Optional[Progress]) -> Optional[Progress]:
    if progress is None:
        return None
    best = -1

    def report(done: int, total: int) -> None:
        nonlocal best
        if done > best:
            best = done
            progress(done, total)

    return report


class _Retryable(Exception):
    """A transfer attempt failed in a way that another attempt may fix."""


class Transfers:
    """Uploads and downloads of attachment blobs for one client."""

    def __init__(self, http: HttpApi, *, retries: int, backoff: float) -> None:
        self._http = http
        self._retries = retries
        self._backoff = backoff
        self._timeout = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=60)
        self.on_chunk: Optional[Callable[[str, int], None]] = None
        """Test hook: called as ``on_chunk("up"|"down", bytes_so_far)`` after each piece;
        an exception it raises interrupts the transfer like a network failure."""

    def _headers(self) -> dict[str, str]:
        if not self._http.token:
            raise errors.AuthenticationError(
                "not logged in: call login() or register() first", code="not_logged_in"
            )
        return {"Authorization": f"Bearer {self._http.token}"}

    async def _sleep(self, attempt: int) -> None:
        delay = self._backoff * (2 ** min(attempt, 10))
        await asyncio.sleep(delay * random.uniform(0.8, 1.2))  # noqa: S311 - jitter

    async def _error(self, resp: aiohttp.ClientResponse) -> errors.WhatsAppError:
        raw = await resp.read()
        try:
            body: Any = _JSON.decode(raw) if raw else None
        except msgspec.DecodeError:
            body = None
        code = ""
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            code = str(body["error"].get("code") or "")
        if resp.status == 413 or code == "too_large":
            return errors.MediaError(
                "the server refuses an attachment this large (413 too_large)", code="too_large"
            )
        if code == "quota_exceeded" or (resp.status == 507 and not code):
            return errors.MediaError(
                "the server's storage for this account is full (507 quota_exceeded): "
                "delete old attachments or wait until they expire",
                code="quota_exceeded",
            )
        retry_after = resp.headers.get("Retry-After")
        try:
            after = float(retry_after) if retry_after else None
        except ValueError:
            after = None
        return error_from_response(resp.status, body, after)

    # --- upload ---------------------------------------------------------------------------

    async def upload(
        self, blob: Path, progress: Optional[Progress] = None, *, sealing: Optional[SealJob] = None
    ) -> str:
        """Uploads a blob file; returns the attachment id. Network failures, 5xx and 429 are
        retried with backoff; a refusal (413, 507 quota_exceeded, other 4xx) raises at once.

        With ``sealing`` (the job sealing ``blob`` right now) the body follows the blob as it
        grows; its final size is declared up front."""
        if sealing is not None:
            size = sealing.blob_size
        else:
            size = (await asyncio.to_thread(blob.stat)).st_size
        url = self._http.base_url + "/api/attachments"
        progress = _monotonic(progress)  # a retry starts over; the caller never sees it go back
        for attempt in range(self._retries + 1):
            last = attempt == self._retries
            headers = {
                **self._headers(),
                "Content-Type": "application/octet-stream",
                "Content-Length": str(size),
                "Accept": "application/json",
            }
            fh = await _open_unbuffered(blob)
            body = (
                self._read_blob(fh, size, progress)
                if sealing is None
                else self._follow_blob(fh, sealing, progress)
            )
            try:
                async with self._http.session.post(
                    url,
                    data=body,
                    headers=headers,
                    timeout=self._timeout,
                ) as resp:
                    if resp.status == 201:
                        body = _JSON.decode(await resp.read())
                        if not isinstance(body, dict) or not isinstance(body.get("id"), str):
                            raise errors.ServerError("the server's upload answer has no id")
                        return str(body["id"])
                    err = await self._error(resp)
                    # Refusals are final; 5xx (a full disk: 507 insufficient_storage) and
                    # 429 are tried again.
                    if isinstance(err, errors.MediaError) or (
                        resp.status < 500 and resp.status != 429
                    ):
                        raise err
                    failure: Exception = err
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError, _Retryable) as exc:
                failure = errors.ConnectionError(
                    f"the upload to {self._http.base_url} was interrupted "
                    f"({exc.__class__.__name__})"
                )
                failure.__cause__ = exc
            finally:
                # Closed here, not in the body generator: aiohttp may drop the generator
                # unfinished (an early answer), and a file closed by the GC warns.
                await asyncio.to_thread(fh.close)
            if last:
                raise failure
            log.info("upload attempt %d failed (%s); retrying", attempt + 1, failure)
            await self._sleep(attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _read_blob(
        self, fh: Any, size: int, progress: Optional[Progress]
    ) -> AsyncIterator[bytes]:
        done = 0
        report(progress, 0, size)
        while True:
            piece = await asyncio.to_thread(fh.read, _PIECE)
            if not piece:
                return
            yield piece
            done += len(piece)
            if self.on_chunk is not None:
                self.on_chunk("up", done)
            report(progress, done, size)

    async def _follow_blob(
        self, fh: Any, sealing: SealJob, progress: Optional[Progress]
    ) -> AsyncIterator[bytes]:
        """The blob as its sealer writes it (one thread hop per piece, as for a whole file)."""
        done, size = 0, sealing.blob_size
        report(progress, 0, size)
        while True:
            piece = await asyncio.to_thread(sealing.read, fh, done)
            if not piece:
                return
            yield piece
            done += len(piece)
            if self.on_chunk is not None:
                self.on_chunk("up", done)
            report(progress, done, size)

    async def delete(self, attachment_id: str) -> None:
        """Removes an uploaded blob no message will name (best effort: it expires anyway)."""
        url = self._http.base_url + "/api/attachments/" + quote(attachment_id, safe="")
        try:
            async with self._http.session.delete(url, headers=self._headers()) as resp:
                await resp.read()
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError, errors.WhatsAppError) as exc:
            log.info("could not delete attachment %s (%s); it expires", attachment_id, exc)

    # --- download -------------------------------------------------------------------------

    async def download(
        self,
        attachment_id: str,
        blob: _core.AttachmentBlobWriter,
        blob_size: int,
        progress: Optional[Progress] = None,
    ) -> None:
        """Downloads a blob through ``blob`` (its ``.part`` file, hashed as it is written)
        until it holds ``blob_size`` bytes, resuming with ``Range`` from what it already
        holds (also after an earlier, interrupted call). Attempts that made progress do not
        count against the retries."""
        url = self._http.base_url + "/api/attachments/" + quote(attachment_id, safe="")
        failures = 0
        while True:
            have = blob.size
            if have > blob_size:
                await asyncio.to_thread(blob.truncate)
                raise errors.AttachmentCorruptError(
                    f"attachment {attachment_id} is longer than its message says: refused"
                )
            if have == blob_size:
                report(progress, have, blob_size)
                return
            try:
                got = await self._fetch(url, blob, have, blob_size, progress)
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError, _Retryable) as exc:
                got = -1
                failure: Exception = errors.ConnectionError(
                    f"the download of attachment {attachment_id} was interrupted "
                    f"({exc.__class__.__name__}); it resumes where it stopped"
                )
                failure.__cause__ = exc
            except errors.ServerError as exc:
                got, failure = -1, exc
            if got > 0:
                failures = 0
                continue
            failures += 1
            if failures > self._retries:
                raise failure
            log.info("download of %s stopped at %d bytes; retrying", attachment_id, have)
            await self._sleep(failures - 1)

    async def _fetch(
        self,
        url: str,
        blob: _core.AttachmentBlobWriter,
        have: int,
        total: int,
        progress: Optional[Progress],
    ) -> int:
        headers = self._headers()
        if have:
            headers["Range"] = f"bytes={have}-"
        async with self._http.session.get(
            url, headers=headers, timeout=self._timeout, read_bufsize=_PIECE
        ) as resp:
            if resp.status not in (200, 206, 416):
                err = await self._error(resp)
                if resp.status >= 500 or resp.status == 429:
                    raise errors.ServerError(str(err), code=err.code)
                raise err
            _check_length(resp, total)
            if resp.status == 416:  # our part is no prefix of the blob: start over
                await asyncio.to_thread(blob.truncate)
                return 0
            if resp.status == 200 and have:  # the server ignored Range: take it all again
                have = 0
                await asyncio.to_thread(blob.truncate)
            # Each piece is written and hashed by the core in a worker thread (GIL released)
            # while the next one is read from the socket; the digest is ready when the last
            # byte is in, so opening need not hash. One write in flight at a time, in order.
            written, pending = 0, 0
            writing: Optional[asyncio.Future[None]] = None
            try:
                async for piece in resp.content.iter_chunked(_PIECE):
                    if have + written + pending + len(piece) > total:
                        # Longer than the message said: let the length check refuse it.
                        piece = piece[: total - have - written - pending + 1]
                    if writing is not None:
                        await writing
                        writing, written, pending = None, written + pending, 0
                        self._wrote(have + written, total, progress)
                    writing = asyncio.ensure_future(asyncio.to_thread(blob.write, piece))
                    pending = len(piece)
                    if have + written + pending > total:
                        break
                if writing is not None:
                    await writing
                    writing, written, pending = None, written + pending, 0
                    self._wrote(have + written, total, progress)
            finally:
                if writing is not None:  # stopped while a piece was being written: let it end
                    await asyncio.wait({writing})
                    if not writing.cancelled():
                        writing.exception()  # retrieved: the failure that stopped us wins
            return written

    def _wrote(self, done: int, total: int, progress: Optional[Progress]) -> None:
        if self.on_chunk is not None:
            self.on_chunk("down", done)
        report(progress, min(done, total), total)


async def _open_unbuffered(path: Path) -> Any:
    """``open(path, "rb", buffering=0)`` in a thread; a file opened there after the caller
    was cancelled is closed, not left to the garbage collector."""
    opening = asyncio.ensure_future(asyncio.to_thread(open, path, "rb", buffering=0))
    try:
        return await asyncio.shield(opening)
    except asyncio.CancelledError:
        opening.add_done_callback(_close_result)
        raise


def _close_result(done: asyncio.Future[Any]) -> None:
    if not done.cancelled() and done.exception() is None:
        done.result().close()


def _check_length(resp: aiohttp.ClientResponse, expected: int) -> None:
    """Refuses a blob whose length on the server is not the one the message states, before
    anything is downloaded (a truncated or padded blob never verifies)."""
    length: Optional[int] = None
    if resp.status == 200:
        length = resp.content_length
    else:
        content_range = resp.headers.get("Content-Range", "")
        _, _, tail = content_range.rpartition("/")
        if tail.isdigit():
            length = int(tail)
    if length is not None and length != expected:
        raise errors.AttachmentCorruptError(
            f"the attachment's blob is {length} bytes, not the {expected} its message states"
        )

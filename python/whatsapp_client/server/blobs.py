"""Attachment blobs (§8) as files under ``<data>/attachments``, written by streaming.

An upload goes to a private temporary file in the same directory, chunk by chunk as it
arrives (never whole in memory), is fsynced, then renamed to its id: a blob file either
is complete or does not exist. Every failure (too large, over quota, disk full, client
gone) removes the temporary file. Expired blobs, and files left behind by a crash, are
removed by :meth:`BlobStore.sweep`.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import re
import secrets
import time
from typing import Protocol

from whatsapp_client._waits import wait_for
from whatsapp_client._writeback import start_writeback
from whatsapp_client.server.storage.files import FILE_MODE, private_dir

_TMP_PREFIX = ".tmp-"
# 24 random bytes: 192 bits, 32 URL-safe base64 characters.
_ID_BYTES = 24
_ID_RE = re.compile(r"[A-Za-z0-9_-]{32}")
_READ_SIZE = 1 << 20
# Files without a row are removed only when older than this: an upload renames its file
# a moment before it inserts the row.
_ORPHAN_AGE = 3600.0
_DISK_FULL = frozenset(
    code for code in (errno.ENOSPC, getattr(errno, "EDQUOT", None), errno.EFBIG) if code
)


class Readable(Protocol):
    """What an upload is read from (aiohttp's request.content)."""

    async def read(self, n: int = -1) -> bytes: ...


class UploadRefused(Exception):
    """An upload stopped early; ``reason`` is ``too_large``, ``quota`` or ``disk_full``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def new_blob_id() -> str:
    return secrets.token_urlsafe(_ID_BYTES)


def valid_blob_id(value: str) -> bool:
    return _ID_RE.fullmatch(value) is not None


def write_all(fd: int, data: bytes) -> None:
    """Write ``data`` to ``fd`` completely (the boundary tests inject disk errors at)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _write_back(fd: int, data: bytes, offset: int) -> None:
    """Writes ``data`` (at ``offset``) and starts its writeback, so the fsync before the
    upload's answer finds little left to write."""
    write_all(fd, data)
    start_writeback(fd, offset, len(data))


class BlobStore:
    def __init__(self, data_dir: str) -> None:
        self.root = os.path.join(data_dir, "attachments")
        private_dir(self.root)

    def path(self, blob_id: str) -> str:
        if not valid_blob_id(blob_id):  # never join anything else into a path
            raise ValueError("not a blob id")
        return os.path.join(self.root, blob_id)

    async def receive(
        self, stream: Readable, *, limit: int, budget: int, timeout: float
    ) -> tuple[str, int]:
        """Stream ``stream`` into a new temporary file; its path and size.

        Raises :class:`UploadRefused` past ``limit`` (too_large) or ``budget`` (quota), or
        when the disk is full; ``asyncio.TimeoutError`` if no chunk arrives within
        ``timeout``. The temporary file is gone whenever this raises.
        """
        loop = asyncio.get_running_loop()
        tmp = os.path.join(self.root, _TMP_PREFIX + secrets.token_hex(16))
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        size = 0
        try:
            try:
                while True:
                    chunk = await wait_for(stream.read(_READ_SIZE), timeout)
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > limit:
                        raise UploadRefused("too_large")
                    if size > budget:
                        raise UploadRefused("quota")
                    # In a thread: a write can block on writeback under memory pressure.
                    await loop.run_in_executor(None, _write_back, fd, chunk, size - len(chunk))
                await loop.run_in_executor(None, os.fsync, fd)
            finally:
                os.close(fd)
        except OSError as exc:
            _remove(tmp)
            if exc.errno in _DISK_FULL:
                raise UploadRefused("disk_full") from exc
            raise
        except BaseException:
            _remove(tmp)
            raise
        return tmp, size

    async def commit(self, tmp: str, blob_id: str) -> None:
        """Give a received file its final name, durably."""
        final = self.path(blob_id)
        os.replace(tmp, final)
        await asyncio.get_running_loop().run_in_executor(None, _sync_dir, self.root)

    def discard(self, tmp: str) -> None:
        _remove(tmp)

    def remove(self, blob_id: str) -> None:
        if valid_blob_id(blob_id):
            _remove(os.path.join(self.root, blob_id))

    def leftovers(self) -> tuple[list[str], list[str]]:
        """Temporary files and blob files older than an upload could take to finish."""
        cutoff = time.time() - _ORPHAN_AGE
        stale_tmp: list[str] = []
        old_blobs: list[str] = []
        with os.scandir(self.root) as entries:
            for entry in entries:
                try:
                    old = entry.stat(follow_symlinks=False).st_mtime < cutoff
                except FileNotFoundError:
                    continue
                if entry.name.startswith(_TMP_PREFIX) and old:
                    stale_tmp.append(entry.path)
                elif valid_blob_id(entry.name) and old:
                    old_blobs.append(entry.name)
        return stale_tmp, old_blobs


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _sync_dir(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # not every platform opens directories; harmless there
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)

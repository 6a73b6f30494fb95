"""Media at rest: every file sealed with the gateway's Vault in 64 KiB chunks.

A stored file is ``<root>/<session id>/<media id>``: the sealed chunks one after the other
(each the Vault's nonce, ciphertext and tag). Each chunk's associated data binds the session,
the media id, the chunk's index and whether it is the last, so chunks cannot be swapped
between files, reordered, or cut off at a chunk boundary without the opening failing. A
small manifest (size, chunk count, SHA-256), sealed too, is kept in the storage beside the
media record (``sealed_keys``). ``Range`` reads open only the chunks they need.

A file is written under a temporary name, fsynced and renamed: a full disk (``ENOSPC``) or a
crash leaves nothing under the final name, so nothing half-written is ever served.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import os
import shutil
import struct
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import IO, Optional, Protocol, Union

import msgspec

from whatsapp_client.client.logging import get_logger
from whatsapp_client.gateway._errors import GatewayError, StorageFull
from whatsapp_client.gateway._models import MediaInfo

__all__ = ["CHUNK", "MediaCorrupt", "MediaStore", "Sealer", "StoredMediaReader"]

log = get_logger("gateway.media")

CHUNK = 64 * 1024
_AD = b"wac1-gateway/media\x00"
_MANIFEST_AD = b"wac1-gateway/media-manifest\x00"


class Sealer(Protocol):
    """What the store needs of :class:`~._vault.Vault`."""

    def seal(self, plaintext: bytes, ad: bytes) -> bytes: ...

    def open(self, blob: bytes, ad: bytes) -> bytes: ...


class MediaCorrupt(GatewayError):
    status, code = 500, "media_corrupt"


class _Manifest(msgspec.Struct, array_like=True):
    size: int
    chunks: int
    sha256: str


def _chunk_ad(session_id: str, media_id: str, index: int, final: bool) -> bytes:
    ids = f"{session_id}\x00{media_id}\x00".encode()
    return _AD + ids + struct.pack(">I?", index, final)


def _manifest_ad(session_id: str, media_id: str) -> bytes:
    return _MANIFEST_AD + f"{session_id}\x00{media_id}".encode()


def _safe(component: str) -> str:
    if not component or "/" in component or "\\" in component or component in (".", ".."):
        raise ValueError(f"unusable path component {component!r}")
    return component


class MediaStore:
    def __init__(self, root: Path, vault: Sealer) -> None:
        self._root = root
        self._vault = vault
        # The Vault's overhead per sealed chunk (nonce and tag), learnt once.
        self._overhead = len(vault.seal(b"", b"probe"))

    def _path(self, session_id: str, media_id: str) -> Path:
        return self._root / _safe(session_id) / _safe(media_id)

    # --- writing -------------------------------------------------------------------------

    async def put(
        self,
        session_id: str,
        media_id: str,
        source: Union[Path, IO[bytes]],
        *,
        mime: str,
        filename: Optional[str],
    ) -> tuple[MediaInfo, bytes]:
        """Seals the plaintext ``source`` (a file, left in place, or a readable binary
        object); returns the record and the
        sealed manifest to store with it. ``StorageFull`` when the disk is full (logged,
        nothing left behind)."""
        final = self._path(session_id, media_id)
        try:
            size, chunks, digest = await asyncio.to_thread(
                self._write, session_id, media_id, source, final
            )
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                log.error("disk full: media %s of session %s not stored", media_id, session_id)
                raise StorageFull("the gateway's disk is full: the media was not stored") from exc
            raise
        info = MediaInfo(media_id=media_id, mime=mime, size=size, filename=filename, sha256=digest)
        manifest = msgspec.msgpack.encode(_Manifest(size=size, chunks=chunks, sha256=digest))
        return info, self._vault.seal(manifest, _manifest_ad(session_id, media_id))

    def _write(
        self, session_id: str, media_id: str, source: Union[Path, IO[bytes]], final: Path
    ) -> tuple[int, int, str]:
        final.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = final.with_name(final.name + ".part")
        sha = hashlib.sha256()
        size = index = 0
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as out, _opened(source) as src:
                chunk = src.read(CHUNK)
                while True:
                    following = src.read(CHUNK) if len(chunk) == CHUNK else b""
                    last = not following
                    sha.update(chunk)
                    size += len(chunk)
                    ad = _chunk_ad(session_id, media_id, index, last)
                    out.write(self._vault.seal(chunk, ad))
                    index += 1
                    if last:
                        break
                    chunk = following
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, final)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        _fsync_dir(final.parent)
        return size, index, sha.hexdigest()

    # --- reading -------------------------------------------------------------------------

    def reader(self, session_id: str, info: MediaInfo, sealed_manifest: bytes) -> StoredMediaReader:
        """A reader of a stored file; ``MediaCorrupt`` if its manifest does not open."""
        try:
            raw = self._vault.open(sealed_manifest, _manifest_ad(session_id, info.media_id))
            manifest = msgspec.msgpack.decode(raw, type=_Manifest)
        except Exception as exc:
            raise MediaCorrupt(f"media {info.media_id} does not verify") from exc
        if manifest.size != info.size:
            raise MediaCorrupt(f"media {info.media_id} does not match its record")
        return StoredMediaReader(self, session_id, info, manifest.chunks)

    async def decrypt_to(
        self, session_id: str, info: MediaInfo, sealed_manifest: bytes, dest: Path
    ) -> None:
        """Writes the plaintext to ``dest`` (0600), e.g. to hand it to an engine."""
        reader = self.reader(session_id, info, sealed_manifest)
        fd = await asyncio.to_thread(os.open, dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            async for piece in reader.read(0, info.size):
                await asyncio.to_thread(out.write, piece)

    # --- removing ------------------------------------------------------------------------

    async def remove(self, session_id: str, media_id: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            await asyncio.to_thread(self._path(session_id, media_id).unlink)

    async def remove_session(self, session_id: str) -> None:
        await asyncio.to_thread(shutil.rmtree, self._root / _safe(session_id), True)


class StoredMediaReader:
    """Plaintext ranges of one stored file, each chunk authenticated before it is used."""

    def __init__(self, store: MediaStore, session_id: str, info: MediaInfo, chunks: int) -> None:
        self._store = store
        self._session_id = session_id
        self.info = info
        self._chunks = chunks

    def _open_chunk(self, fh: IO[bytes], index: int) -> bytes:
        store = self._store
        sealed_size = CHUNK + store._overhead
        fh.seek(index * sealed_size)
        blob = fh.read(sealed_size)
        final = index == self._chunks - 1
        ad = _chunk_ad(self._session_id, self.info.media_id, index, final)
        try:
            return store._vault.open(blob, ad)
        except Exception as exc:
            raise MediaCorrupt(f"media {self.info.media_id} does not verify") from exc

    async def read(self, start: int, end: int) -> AsyncIterator[bytes]:
        """Bytes ``start`` (inclusive) to ``end`` (exclusive)."""
        end = min(end, self.info.size)
        if start < 0 or start > end:
            raise ValueError("invalid range")
        path = self._store._path(self._session_id, self.info.media_id)
        try:
            fh = await asyncio.to_thread(path.open, "rb")
        except FileNotFoundError as exc:
            raise MediaCorrupt(f"media {self.info.media_id} is missing") from exc
        try:
            if start == end:
                return
            for index in range(start // CHUNK, (end - 1) // CHUNK + 1):
                plain = await asyncio.to_thread(self._open_chunk, fh, index)
                base = index * CHUNK
                yield plain[max(0, start - base) : min(len(plain), end - base)]
        finally:
            await asyncio.to_thread(fh.close)


@contextlib.contextmanager
def _opened(source: Union[Path, IO[bytes]]) -> Iterator[IO[bytes]]:
    if isinstance(source, Path):
        with source.open("rb") as fh:
            yield fh
    else:
        yield source


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

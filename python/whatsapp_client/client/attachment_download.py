"""Receiving media: ``client.download(message, path_or_dir=None, progress=None)``.

Inline media is written (or returned) as it is. An attachment's blob is streamed to a
``.part`` file in the cache directory (an interrupted download resumes from it with
``Range``) through the core's ``AttachmentBlobWriter``, which hashes it as it is written;
the core then checks length and SHA-256 of what was written before it decrypts anything,
decrypts the file without hashing it again, and renames the plaintext into place only when
every chunk verified: on ``AttachmentCorruptError`` nothing is written under the final name.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import os
import weakref
from pathlib import Path
from typing import Any, Callable, Optional, Union

from whatsapp_client import _core, errors
from whatsapp_client.client import media as media_mod
from whatsapp_client.client.attachment_files import cache_directory, unlink_quietly
from whatsapp_client.client.attachment_source import private_dir
from whatsapp_client.client.config import ClientConfig
from whatsapp_client.client.models import Message
from whatsapp_client.client.transfers import Progress, Transfers, report

__all__ = ["AttachmentRef", "Downloader", "attachment_ref"]

PathLike = Union[str, "os.PathLike[str]"]


@dataclasses.dataclass(frozen=True)
class AttachmentRef:
    """The ``attachment`` object of a message (§8). ``repr`` leaves the key out."""

    id: str
    key: bytes = dataclasses.field(repr=False)
    digest: bytes
    size: int

    @property
    def blob_size(self) -> int:
        return int(_core.attachment_blob_size(self.size))


def _b64_32(value: Any, name: str) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True) if isinstance(value, str) else b""
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise errors.MediaError(
            f"the message's attachment {name} is not 32 bytes of base64", code="invalid_attachment"
        )
    return raw


def attachment_ref(message: Message) -> Optional[AttachmentRef]:
    """The attachment a media message carries, ``None`` for inline media; ``MediaError``
    (``invalid_attachment``) for a malformed one."""
    obj = message.payload.get("attachment")
    if obj is None:
        return None
    if not isinstance(obj, dict):
        raise errors.MediaError(
            "the message's attachment is not an object", code="invalid_attachment"
        )
    aid, size = obj.get("id"), obj.get("size")
    if not isinstance(aid, str) or not 1 <= len(aid) <= 256:
        raise errors.MediaError(
            "the message's attachment has no usable id", code="invalid_attachment"
        )
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise errors.MediaError(
            "the message's attachment size is invalid", code="invalid_attachment"
        )
    return AttachmentRef(
        aid, _b64_32(obj.get("key"), "key"), _b64_32(obj.get("digest"), "digest"), size
    )


def _target(message: Message, path: Optional[PathLike], default_dir: Path) -> Path:
    """The file to write: ``path``, or a file named after the message inside ``path`` when
    it names a folder (as for ``save_file``: an existing directory, a path ending with a
    separator, or a new path without an extension); ``default_dir`` when ``path`` is None."""
    if path is None:
        return default_dir / media_mod.file_name(message)
    raw = os.fspath(path)
    out = Path(raw).expanduser()
    if media_mod.names_a_folder(raw, out):
        return out / media_mod.file_name(message)
    return out


def _write_file(out: Path, data: bytes) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.part")
    with tmp.open("wb") as fh:
        fh.write(data)
    tmp.replace(out)


class Downloader:
    """Downloads of received (or sent) media for one client."""

    def __init__(
        self,
        *,
        config: Callable[[], ClientConfig],
        user_id: Callable[[], str],
        transfers: Transfers,
    ) -> None:
        self._config = config
        self._user_id = user_id
        self._transfers = transfers
        # One download per blob at a time (they share its .part file); a lock lives while used.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    async def download(
        self,
        message: Message,
        path_or_dir: Optional[PathLike] = None,
        progress: Optional[Progress] = None,
    ) -> Union[bytes, Path]:
        """The media of ``message``: bytes when ``path_or_dir`` is None and the media is
        small (at most ``media_max_bytes``), else the :class:`Path` written."""
        if not isinstance(message, Message):
            raise errors.ValidationError(f"expected a Message, got {type(message)!r}")
        if not message.is_media:
            raise errors.MediaError(f"message {message.id} is a {message.type!r} message")
        cfg = self._config()
        user_id = self._user_id()
        default_dir = cfg.storage_dir / "downloads" / user_id
        ref = attachment_ref(message)
        if ref is None:
            data = message.data
            if data is None:
                raise errors.MediaError(f"message {message.id} carries no decodable data")
            report(progress, len(data), len(data))
            if path_or_dir is None:
                return data
            out = _target(message, path_or_dir, default_dir)
            await asyncio.to_thread(_write_file, out, data)
            return out
        small = path_or_dir is None and ref.size <= cfg.media_max_bytes
        target = None if small else _target(message, path_or_dir, default_dir)
        lock = self._locks.get(ref.digest.hex())
        if lock is None:
            lock = self._locks[ref.digest.hex()] = asyncio.Lock()
        async with lock:
            part = private_dir(cache_directory(cfg, user_id)) / f"{ref.digest.hex()}.part"
            # Hashes what the part already holds (a resumed download), then what arrives.
            blob = await asyncio.to_thread(_core.AttachmentBlobWriter, part)
            try:
                await self._transfers.download(ref.id, blob, ref.blob_size, progress)
                return await asyncio.to_thread(_open_blob, blob, part, target, ref)
            except errors.AttachmentCorruptError:
                blob.close()
                await asyncio.to_thread(unlink_quietly, part)  # the next try downloads afresh
                raise
            finally:
                blob.close()


def _open_blob(
    blob: _core.AttachmentBlobWriter, part: Path, out: Optional[Path], ref: AttachmentRef
) -> Union[bytes, Path]:
    if out is None:
        blob.close()
        data = bytes(_core.open_attachment(part.read_bytes(), ref.key, ref.digest, ref.size))
        part.unlink()
        return data
    out.parent.mkdir(parents=True, exist_ok=True)
    # Length and SHA-256 of what was written are checked before anything is decrypted. On
    # the same file system the core moves the part beside ``out`` and decrypts it in place.
    blob.open_file(out, ref.key, ref.digest, ref.size)
    part.unlink(missing_ok=True)
    return out

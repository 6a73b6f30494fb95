"""The media half of :class:`~whatsapp_client.WhatsAppClient`: ``send_image``,
``send_video``, ``send_audio``, ``send_file`` and ``download``.

Media of at most 64 KiB rides inline in the encrypted message; anything larger is sealed
into an encrypted attachment (PROTOCOL.md §8), uploaded, and the message carries its id,
key and digest (see ``attachment_send.py``, ``attachment_download.py``, ``transfers.py``).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional, cast, overload

from whatsapp_client import errors
from whatsapp_client.client import media as media_mod
from whatsapp_client.client.attachment_download import Downloader
from whatsapp_client.client.attachment_send import MediaSender
from whatsapp_client.client.attachment_source import MediaInput
from whatsapp_client.client.logging import get_logger
from whatsapp_client.client.models import Message
from whatsapp_client.client.transfers import Progress, Transfers

if TYPE_CHECKING:
    from whatsapp_client.client.config import ClientConfig
    from whatsapp_client.client.events import EventRegistry
    from whatsapp_client.client.http import HttpApi
    from whatsapp_client.client.models import User
    from whatsapp_client.client.sessions import SessionManager
    from whatsapp_client.client.store import StoreExecutor, StoreProtocol
    from whatsapp_client.client.tasks import TaskSet

__all__ = ["MediaMixin"]

log = get_logger("media")

_HARD_LIMIT = 16 * 1024 * 1024  # largest image read into memory to downscale it


def _image_mime(mime: str) -> str:
    if mime not in media_mod.IMAGE_MIME_TYPES:
        raise errors.MediaError(
            "unsupported image type: the bytes are not JPEG, PNG, GIF or WebP "
            "(use send_file for other files)",
            code="unsupported_image_type",
        )
    return mime


def _major_mime(major: str, given: Optional[str]) -> Callable[[str], str]:
    """Accepts a detected ``major/*`` type, or the caller's ``mime`` of that major type."""
    if given is not None and (not isinstance(given, str) or not given.startswith(major + "/")):
        raise errors.ValidationError(f"mime must be a {major}/... type, got {given!r}")

    def check(detected: str) -> str:
        if given is not None:
            return given
        if not detected.startswith(major + "/"):
            raise errors.MediaError(
                f"unsupported {major} type: the bytes are {detected} (pass mime=... to send "
                f"another {major} format, or use send_file)",
                code=f"unsupported_{major}_type",
            )
        return detected

    return check


def _file_mime(given: Optional[str]) -> Callable[[str], str]:
    if given is not None:
        clean = media_mod.clean_text(given, "mime", 255)
        if not clean or "/" not in clean:
            raise errors.ValidationError(f"mime must look like type/subtype, got {given!r}")
        return lambda _detected: clean
    return lambda detected: detected


def _one(path: Optional[Any], data: Optional[Any], what: str) -> MediaInput:
    if (path is None) == (data is None):  # bytes may come as either
        raise errors.ValidationError(
            f"give exactly one of a path (or file object) and the {what}'s bytes"
        )
    if data is not None and not isinstance(data, (bytes, bytearray, memoryview)):
        raise errors.ValidationError(f"the {what}'s data must be bytes, got {type(data)!r}")
    return cast(MediaInput, path if path is not None else data)


class MediaMixin:
    """Sending and downloading media (mixed into ``WhatsAppClient``)."""

    # What the host class provides, declared for the type checker only.
    if TYPE_CHECKING:
        _config: ClientConfig
        _http: HttpApi
        _events: EventRegistry
        _tasks: TaskSet
        _sessions: SessionManager | None

        def _require_login(self) -> tuple[User, StoreProtocol, StoreExecutor]: ...

        def _emit(self, name: str, *args: Any) -> None: ...

        async def send_payload(
            self,
            to: str,
            payload: Mapping[str, Any],
            content: str = "",
            *,
            message_id: str | None = None,
        ) -> Message: ...

    def _init_media(self) -> None:
        """Creates the transfer, sender and downloader objects (called once)."""
        cfg = self._config
        self._transfers = Transfers(
            self._http, retries=cfg.http_retries, backoff=cfg.http_retry_backoff
        )
        self._media_sender = MediaSender(
            config=lambda: self._config,
            login=self._require_login,
            send_payload=self.send_payload,
            transfers=self._transfers,
            ensure_peer=self._media_ensure_peer,
            on_failed=lambda mid: self._emit("message_status", mid, "failed"),
        )
        self._downloader = Downloader(
            config=lambda: self._config,
            user_id=lambda: self._require_login()[0].id,
            transfers=self._transfers,
        )
        self._events.add("connection_change", self._media_on_connection)

    async def _media_ensure_peer(self, peer_id: str) -> None:
        sessions = self._sessions
        if sessions is not None:
            await sessions.ensure(peer_id)

    async def _media_on_connection(self, connected: bool) -> None:
        if connected:
            self._tasks.spawn(self._media_sender.resume(), "whatsapp-attachments-resume")

    async def _send_media(
        self,
        to: str,
        value: MediaInput,
        kind: str,
        check: Callable[[str], str],
        filename: Optional[str],
        caption: Optional[str],
        progress: Optional[Progress],
    ) -> Message:
        self._require_login()
        return await self._media_sender.send(
            to,
            value,
            kind=kind,
            check_mime=check,
            filename=filename,
            caption=caption,
            progress=progress,
        )

    async def send_image(
        self,
        to: str,
        image_path: MediaInput | None = None,
        image_data: bytes | None = None,
        caption: str | None = None,
        *,
        filename: str | None = None,
        max_dimension: int | None = None,
        progress: Progress | None = None,
    ) -> Message:
        """Sends a JPEG, PNG, GIF or WebP image, end-to-end encrypted.

        Give ``image_path`` (a path, bytes or a binary file object) or ``image_data``. The type is
        read from the bytes (a file named ``.jpg`` that holds something else is refused).
        Up to 64 KiB the image rides inline; above, as an encrypted attachment with its
        width, height and a small JPEG thumbnail when Pillow is installed.
        ``max_dimension`` downscales larger images first (needs Pillow).
        ``progress(done, total)`` follows the upload. Raises ``MediaError`` before anything
        is sent for an unknown type or an image over the limits."""
        self._require_login()
        value = _one(image_path, image_data, "image")
        if max_dimension is not None:
            if isinstance(value, (bytes, bytearray, memoryview)):
                raw, name = await media_mod.read_media(None, bytes(value), _HARD_LIMIT, "image")
            elif isinstance(value, (str, os.PathLike)):
                raw, name = await media_mod.read_media(value, None, _HARD_LIMIT, "image")
            else:
                raw, name = await asyncio.to_thread(value.read, _HARD_LIMIT + 1), None
                media_mod.check_media_size(len(raw), _HARD_LIMIT, "image")
            mime = _image_mime(media_mod.detect_image_mime(raw) or "")
            value = await asyncio.to_thread(media_mod.downscale_image, raw, mime, max_dimension)
            filename = filename or name
        return await self._send_media(to, value, "image", _image_mime, filename, caption, progress)

    async def send_video(
        self,
        to: str,
        video: MediaInput,
        caption: str | None = None,
        *,
        filename: str | None = None,
        mime: str | None = None,
        progress: Progress | None = None,
    ) -> Message:
        """Sends a video (a path, bytes or a binary file object), end-to-end encrypted.

        MP4, MOV and WebM are recognised from the bytes; pass ``mime`` for another
        ``video/...`` format. Above 64 KiB it goes as an encrypted attachment."""
        check = _major_mime("video", mime)
        return await self._send_media(to, video, "video", check, filename, caption, progress)

    async def send_audio(
        self,
        to: str,
        audio: MediaInput,
        caption: str | None = None,
        *,
        filename: str | None = None,
        mime: str | None = None,
        progress: Progress | None = None,
    ) -> Message:
        """Sends audio (a path, bytes or a binary file object), end-to-end encrypted.

        OGG/Opus, MP3, WAV and M4A are recognised from the bytes; pass ``mime`` for another
        ``audio/...`` format. Above 64 KiB it goes as an encrypted attachment."""
        check = _major_mime("audio", mime)
        return await self._send_media(to, audio, "audio", check, filename, caption, progress)

    async def send_file(
        self,
        to: str,
        path: MediaInput | None = None,
        data: bytes | None = None,
        filename: str | None = None,
        caption: str | None = None,
        *,
        mime: str | None = None,
        progress: Progress | None = None,
    ) -> Message:
        """Sends any file, end-to-end encrypted.

        Give ``path`` (a path, bytes or a binary file object) or ``data``; bytes and file
        objects without a ``name`` need ``filename``. The MIME type comes from the bytes
        (``application/octet-stream`` when unknown) unless given. Above 64 KiB it goes as
        an encrypted attachment; raises ``MediaError`` before anything is sent when it is
        over ``attachment_max_bytes``."""
        value = _one(path, data, "file")
        check = _file_mime(mime)
        return await self._send_media(to, value, "file", check, filename, caption, progress)

    @overload
    async def download(
        self,
        message: Message,
        path_or_dir: str | os.PathLike[str],
        progress: Progress | None = None,
    ) -> Path: ...

    @overload
    async def download(
        self, message: Message, path_or_dir: None = None, progress: Progress | None = None
    ) -> bytes | Path: ...

    async def download(
        self,
        message: Message,
        path_or_dir: str | os.PathLike[str] | None = None,
        progress: Progress | None = None,
    ) -> bytes | Path:
        """The media of a message, inline or attachment.

        Without ``path_or_dir``: bytes when the media is at most ``media_max_bytes``, else
        the :class:`Path` of a file in ``<storage_path>/downloads/<user id>/``. With a
        directory (or a path ending with a separator) the file gets the message's file
        name there. An attachment is streamed to disk, resumed with ``Range`` after an
        interruption, and checked (length, SHA-256, every chunk) before anything appears
        under the final name: ``AttachmentCorruptError`` when it does not verify.
        ``progress(done, total)`` follows the download (bytes of the encrypted blob)."""
        self._require_login()
        return await self._downloader.download(message, path_or_dir, progress)

    async def pending_uploads(self) -> int:
        """How many attachment messages wait for their upload (retried after each connect)."""
        self._require_login()
        return await self._media_sender.pending_uploads()

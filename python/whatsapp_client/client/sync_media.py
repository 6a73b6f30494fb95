"""The media methods of the blocking client (:mod:`whatsapp_client.sync`): each runs the
asynchronous method on the client's own event loop and waits for its result. A
``progress`` callback is called on that loop's thread."""

from __future__ import annotations

import os
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, overload

from whatsapp_client.client.attachment_source import MediaInput
from whatsapp_client.client.models import Message
from whatsapp_client.client.transfers import Progress

if TYPE_CHECKING:
    from whatsapp_client.client.client import WhatsAppClient as AsyncWhatsAppClient

__all__ = ["SyncMediaMixin"]

T = TypeVar("T")


class SyncMediaMixin:
    """Blocking versions of the media methods (mixed into ``sync.WhatsAppClient``)."""

    if TYPE_CHECKING:
        _client: AsyncWhatsAppClient

        def _call(self, coro: Coroutine[Any, Any, T]) -> T: ...

    def send_image(
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
        return self._call(
            self._client.send_image(
                to,
                image_path,
                image_data,
                caption,
                filename=filename,
                max_dimension=max_dimension,
                progress=progress,
            )
        )

    def send_video(
        self,
        to: str,
        video: MediaInput,
        caption: str | None = None,
        *,
        filename: str | None = None,
        mime: str | None = None,
        progress: Progress | None = None,
    ) -> Message:
        return self._call(
            self._client.send_video(
                to, video, caption, filename=filename, mime=mime, progress=progress
            )
        )

    def send_audio(
        self,
        to: str,
        audio: MediaInput,
        caption: str | None = None,
        *,
        filename: str | None = None,
        mime: str | None = None,
        progress: Progress | None = None,
    ) -> Message:
        return self._call(
            self._client.send_audio(
                to, audio, caption, filename=filename, mime=mime, progress=progress
            )
        )

    def send_file(
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
        return self._call(
            self._client.send_file(to, path, data, filename, caption, mime=mime, progress=progress)
        )

    @overload
    def download(
        self,
        message: Message,
        path_or_dir: str | os.PathLike[str],
        progress: Progress | None = None,
    ) -> Path: ...

    @overload
    def download(
        self, message: Message, path_or_dir: None = None, progress: Progress | None = None
    ) -> bytes | Path: ...

    def download(
        self,
        message: Message,
        path_or_dir: str | os.PathLike[str] | None = None,
        progress: Progress | None = None,
    ) -> bytes | Path:
        return self._call(self._client.download(message, path_or_dir, progress))

    def pending_uploads(self) -> int:
        return self._call(self._client.pending_uploads())

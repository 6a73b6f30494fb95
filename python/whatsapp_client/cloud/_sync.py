"""``SyncCloudClient``: the blocking twin of :class:`CloudClient`, for scripts and notebooks.

Like ``whatsapp_client.sync.WhatsAppClient``, it runs a private event loop on a daemon
thread and hands each call to it; the methods are the async client's without ``await``::

    with SyncCloudClient(token, phone_number_id) as cloud:
        cloud.send_text("+15551234567", "Hello!")
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Optional, TypeVar, Union

from whatsapp_client.cloud._client import CloudClient
from whatsapp_client.cloud._errors import CloudError
from whatsapp_client.cloud._interactive import ListSection, ReplyButton
from whatsapp_client.cloud._models import (
    BatchItem,
    MediaInfo,
    MediaItem,
    PhoneNumberInfo,
    ReadResult,
    SendResult,
)
from whatsapp_client.cloud._templates import Component
from whatsapp_client.cloud._upload import MediaSource

__all__ = ["SyncCloudClient"]

T = TypeVar("T")
_PathLike = Union[str, Path, None]


class SyncCloudClient:
    """Blocking client; takes exactly the arguments of :class:`CloudClient`."""

    def __init__(self, access_token: str, phone_number_id: str, **options: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="whatsapp-cloud-sync-loop", daemon=True
        )
        self._thread.start()
        self._closed = False

        async def make() -> CloudClient:
            # Built on the loop thread: aiohttp objects belong to the loop that made them.
            return CloudClient(access_token, phone_number_id, **options)

        try:
            self._client = self._call(make())
        except BaseException:
            self._shutdown_loop()
            raise

    def __repr__(self) -> str:
        return f"SyncCloudClient({self._client!r})"

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._closed:
            coro.close()
            raise CloudError("this client is closed: create a new one")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def _shutdown_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    @property
    def client(self) -> CloudClient:
        """The async client underneath (its coroutines must run on this client's loop)."""
        return self._client

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    # --- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> SyncCloudClient:
        return self

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._closed:
            return
        try:
            self._call(self._client.close())
        finally:
            self._closed = True
            self._shutdown_loop()

    # --- webhooks (sync handlers run on a worker thread; they may call this client) --------

    @property
    def webhooks(self) -> Any:
        return self._client.webhooks

    @property
    def on_message(self) -> Any:
        """``@cloud.on_message`` like the async client's (plain functions run on a thread)."""
        return self._client.on_message

    @property
    def on_status(self) -> Any:
        return self._client.on_status

    @property
    def on_error(self) -> Any:
        return self._client.on_error

    # --- sending ---------------------------------------------------------------------------

    def send_text(
        self, to: str, text: str, preview_url: bool = False, *, reply_to: Optional[str] = None
    ) -> SendResult:
        return self._call(self._client.send_text(to, text, preview_url, reply_to=reply_to))

    def send_template(
        self, to: str, name: str, language: str, components: Optional[Sequence[Component]] = None
    ) -> SendResult:
        return self._call(self._client.send_template(to, name, language, components))

    def send_buttons(
        self,
        to: str,
        body: str,
        buttons: Sequence[Union[ReplyButton, tuple[str, str]]],
        header: Optional[str] = None,
        footer: Optional[str] = None,
    ) -> SendResult:
        return self._call(self._client.send_buttons(to, body, buttons, header, footer))

    def send_list(
        self,
        to: str,
        body: str,
        button: str,
        sections: Sequence[Union[ListSection, Mapping[str, Any]]],
        header: Optional[str] = None,
        footer: Optional[str] = None,
    ) -> SendResult:
        return self._call(self._client.send_list(to, body, button, sections, header, footer))

    def send_reaction(self, to: str, message_id: str, emoji: str) -> SendResult:
        return self._call(self._client.send_reaction(to, message_id, emoji))

    def mark_as_read(self, message_id: str) -> ReadResult:
        return self._call(self._client.mark_as_read(message_id))

    def _media(self, kind: str, to: str, **kw: Any) -> SendResult:
        return self._call(getattr(self._client, f"send_{kind}")(to, **kw))  # type: ignore[no-any-return]

    def send_image(
        self, to: str, media_id: Optional[str] = None, link: Optional[str] = None,
        path: _PathLike = None, data: Optional[bytes] = None, caption: Optional[str] = None,
        filename: Optional[str] = None, mime_type: Optional[str] = None,
    ) -> SendResult:  # fmt: skip
        return self._media("image", to, media_id=media_id, link=link, path=path, data=data,
                           caption=caption, filename=filename, mime_type=mime_type)  # fmt: skip

    def send_video(
        self, to: str, media_id: Optional[str] = None, link: Optional[str] = None,
        path: _PathLike = None, data: Optional[bytes] = None, caption: Optional[str] = None,
        filename: Optional[str] = None, mime_type: Optional[str] = None,
    ) -> SendResult:  # fmt: skip
        return self._media("video", to, media_id=media_id, link=link, path=path, data=data,
                           caption=caption, filename=filename, mime_type=mime_type)  # fmt: skip

    def send_audio(
        self, to: str, media_id: Optional[str] = None, link: Optional[str] = None,
        path: _PathLike = None, data: Optional[bytes] = None, caption: Optional[str] = None,
        filename: Optional[str] = None, mime_type: Optional[str] = None,
    ) -> SendResult:  # fmt: skip
        return self._media("audio", to, media_id=media_id, link=link, path=path, data=data,
                           caption=caption, filename=filename, mime_type=mime_type)  # fmt: skip

    def send_document(
        self, to: str, media_id: Optional[str] = None, link: Optional[str] = None,
        path: _PathLike = None, data: Optional[bytes] = None, caption: Optional[str] = None,
        filename: Optional[str] = None, mime_type: Optional[str] = None,
    ) -> SendResult:  # fmt: skip
        return self._media("document", to, media_id=media_id, link=link, path=path, data=data,
                           caption=caption, filename=filename, mime_type=mime_type)  # fmt: skip

    def send_sticker(
        self, to: str, media_id: Optional[str] = None, link: Optional[str] = None,
        path: _PathLike = None, data: Optional[bytes] = None, caption: Optional[str] = None,
        filename: Optional[str] = None, mime_type: Optional[str] = None,
    ) -> SendResult:  # fmt: skip
        return self._media("sticker", to, media_id=media_id, link=link, path=path, data=data,
                           caption=caption, filename=filename, mime_type=mime_type)  # fmt: skip

    def send_media_batch(self, to: str, items: Sequence[MediaItem]) -> list[BatchItem]:
        return self._call(self._client.send_media_batch(to, items))

    # --- media and account -----------------------------------------------------------------

    def upload_media(self, path_or_bytes: MediaSource, mime_type: Optional[str] = None) -> str:
        return self._call(self._client.upload_media(path_or_bytes, mime_type))

    def get_media(self, media_id: str) -> MediaInfo:
        return self._call(self._client.get_media(media_id))

    def download_media(self, media_id: str, path: _PathLike = None) -> Union[bytes, Path]:
        return self._call(self._client.download_media(media_id, path))

    def check(self) -> PhoneNumberInfo:
        return self._call(self._client.check())

"""The webhook receiver and its aiohttp app (skeleton)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

from aiohttp import web

from ._dedup import DedupStore
from ._events import Event
from ._handlers import WebhookHandlers

__all__ = ["WebhookReceiver", "webhook_app"]


class WebhookReceiver:
    def __init__(
        self,
        *,
        app_secret: Optional[str],
        verify_token: str,
        handlers: WebhookHandlers,
        dedup: Optional[DedupStore] = None,
        insecure_skip_signature: bool = False,
    ) -> None:
        self.handlers = handlers
        self.dedup = dedup

    def verify_get(self, params: Mapping[str, str]) -> tuple[int, str]:
        raise NotImplementedError

    async def handle_post(
        self, raw_body: bytes, signature: Optional[str]
    ) -> tuple[int, list[Event]]:
        raise NotImplementedError

    async def drain(self) -> None:
        raise NotImplementedError


def webhook_app(cloud: Any, path: str = "/webhooks/whatsapp") -> web.Application:
    raise NotImplementedError

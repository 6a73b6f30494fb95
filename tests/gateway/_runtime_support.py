"""What the runtime tests share: client options with small costs and short delays, and a
listener that records what an engine reports."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Optional

from whatsapp_client.gateway._engine import InboundMessage
from whatsapp_client.gateway._models import SessionStatus
from whatsapp_client.gateway._vault import Vault
from whatsapp_client.gateway._wac1_config import Wac1Factory, Wac1Options

CLIENT_OPTIONS: dict[str, Any] = {
    "kdf_memory_kib": 64,
    "kdf_iterations": 1,
    "durability": "fast",
    "reconnect_jitter": 0.1,
    "http_retry_backoff": 0.05,
    "http_retries": 0,
    "send_timeout": 5.0,
    "connect_timeout": 5.0,
}

PASSWORD = "correct horse battery"
_names = itertools.count()


def unique_name(prefix: str = "gw") -> str:
    return f"{prefix}{os.getpid() % 1000}_{next(_names)}"


def wac1_factory(max_failures: int = 5) -> Wac1Factory:
    return Wac1Factory(
        Wac1Options(
            max_failures=max_failures,
            reconnect_base_delay=0.02,
            reconnect_max_delay=0.1,
            client_options=CLIENT_OPTIONS,
        )
    )


class Recorder:
    """An :class:`EngineListener` that keeps everything; inbound media files are read and
    removed (the listener owns them)."""

    def __init__(self) -> None:
        self.statuses: list[tuple[SessionStatus, Optional[str]]] = []
        self.messages: list[InboundMessage] = []
        self.media: dict[str, bytes] = {}
        self.receipts: list[tuple[str, str]] = []
        self.errors: list[tuple[str, str, dict[str, str]]] = []
        self.changed = asyncio.Event()

    async def on_status(self, status: SessionStatus, reason: Optional[str]) -> None:
        self.statuses.append((status, reason))

    async def on_message(self, message: InboundMessage) -> None:
        if message.media is not None:
            path: Path = message.media.path
            self.media[message.engine_message_id] = await asyncio.to_thread(path.read_bytes)
            await asyncio.to_thread(path.unlink)
        self.messages.append(message)

    async def on_message_status(
        self, engine_message_id: str, status: str, at: int, *, reason: Optional[str] = None
    ) -> None:
        self.receipts.append((engine_message_id, status))

    async def on_error(self, code: str, message: str, context: Mapping[str, str]) -> None:
        self.errors.append((code, message, dict(context)))

    @property
    def last_status(self) -> Optional[SessionStatus]:
        return self.statuses[-1][0] if self.statuses else None


def make_vault() -> Vault:
    """The gateway's real Vault, with a fresh random key."""
    return Vault.from_key(os.urandom(32))

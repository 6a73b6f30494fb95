"""The engine interface: what runs one session's account on a chat network.

The routes and the session manager only ever talk to an :class:`Engine`; ``wac1`` (our
end-to-end encrypted network, over :class:`~whatsapp_client.WhatsAppClient`) is the first
one, the WhatsApp Business Cloud API the second. An engine does network I/O only; it does
not touch the gateway's storage. It reports what happens through :class:`EngineListener`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Optional, Protocol

import msgspec

from whatsapp_client.gateway._models import MessageType, SessionStatus


class InboundMedia(msgspec.Struct, kw_only=True):
    """A received media file, already verified and written (in clear) to ``path``, a
    temporary file the listener takes over (seals and moves, or removes)."""

    path: Path
    mime: str
    size: int
    filename: Optional[str] = None


class InboundMessage(msgspec.Struct, kw_only=True):
    engine_message_id: str
    sender: str  # user id
    sender_name: Optional[str] = None
    group_id: Optional[str] = None
    type: MessageType
    text: Optional[str] = None
    caption: Optional[str] = None
    timestamp: int
    media: Optional[InboundMedia] = None


class SendRefused(Exception):
    """The network refused a message for good (unknown recipient, too large, not allowed):
    the sender marks it ``failed`` with this reason instead of trying again. Any other
    exception from a send means "not now" and the message stays queued."""


class SendResult(msgspec.Struct, kw_only=True):
    engine_message_id: str
    timestamp: int


class EngineListener(Protocol):
    """Callbacks an engine calls, on the event loop. They must not raise; each is awaited
    so that an engine does not ack what is not yet recorded."""

    async def on_status(self, status: SessionStatus, reason: Optional[str]) -> None: ...

    async def on_message(self, message: InboundMessage) -> None: ...

    async def on_message_status(
        self, engine_message_id: str, status: str, at: int, *, reason: Optional[str] = None
    ) -> None:
        """``status``: ``delivered``, ``read``, or ``failed`` (a message the network
        accepted and then could not deliver; ``reason`` says why)."""

    async def on_error(self, code: str, message: str, context: Mapping[str, str]) -> None: ...


class Engine(Protocol):
    """One running session. ``start`` connects (and registers when asked) and keeps the
    session connected, reconnecting with backoff; after ``max_failures`` consecutive failed
    attempts it reports ``failed`` and stops trying until started again."""

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None:
        """Disconnects; idempotent. After it returns no listener call is made."""

    async def erase(self) -> None:
        """Removes every local trace (keys, history). Called after ``stop``."""

    @property
    def connected(self) -> bool: ...

    async def resolve_recipient(self, to: str) -> str:
        """A user id for ``to`` (an id or a username); ``InvalidRecipient`` if it cannot be
        one, ``RecipientNotFound`` if it does not exist."""

    async def check_group(self, group_id: str) -> None:
        """``RecipientNotFound`` if the session is not in that group."""

    async def send_text(
        self,
        to: Optional[str],
        group_id: Optional[str],
        text: str,
        *,
        message_id: Optional[str] = None,
    ) -> SendResult:
        """``message_id``: the gateway's id of the message, reused as the network's message
        id where the engine can (wac1 does), so a resend after a crash is recognised as the
        same message rather than sent twice."""

    async def send_media(
        self,
        to: Optional[str],
        group_id: Optional[str],
        path: Path,
        *,
        kind: MessageType,
        mime: str,
        filename: Optional[str],
        caption: Optional[str],
        message_id: Optional[str] = None,
    ) -> SendResult:
        """``path``: the plaintext file (a temporary copy the caller removes afterwards);
        ``message_id`` as for :meth:`send_text`."""


class EngineFactory(Protocol):
    """Builds engines of one kind. ``credentials`` are the unsealed bytes stored with the
    session; ``directory`` is the session's private directory under the data directory."""

    name: str

    def validate(self, spec: Mapping[str, object]) -> tuple[dict[str, str], bytes]:
        """Checks a creation request's engine fields; returns the non-secret config and the
        credentials to seal. ``InvalidRequest`` on bad input."""

    def build(
        self,
        session_id: str,
        config: Mapping[str, str],
        credentials: bytes,
        directory: Path,
        listener: EngineListener,
        *,
        register: bool,
    ) -> Engine: ...

"""The feature half of :class:`~whatsapp_client.WhatsAppClient`: typing indicators,
presence, media, fingerprints and groups.

Each feature lives in its own module; this mixin creates them, registers their frame
handlers and events with the client, and exposes their public methods (the group methods
are in ``group_api.GroupsMixin``).
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from whatsapp_client import errors
from whatsapp_client.client import media as media_mod
from whatsapp_client.client.events import Handler
from whatsapp_client.client.fingerprints import (
    Fingerprints,
    compare_fingerprints,
    make_qr_image,
    parse_qr_payload,
    qr_payload,
)
from whatsapp_client.client.frames import ErrorFrame, GroupMessage, Online, Sent, Typing
from whatsapp_client.client.groups import Groups
from whatsapp_client.client.logging import get_logger
from whatsapp_client.client.models import Message
from whatsapp_client.client.presence import Presence
from whatsapp_client.client.typing_indicators import TYPING_TIMEOUT, TypingIndicators

if TYPE_CHECKING:
    from whatsapp_client.client.config import ClientConfig
    from whatsapp_client.client.connection import Connection
    from whatsapp_client.client.events import EventRegistry
    from whatsapp_client.client.http import HttpApi
    from whatsapp_client.client.models import User
    from whatsapp_client.client.sessions import SessionManager
    from whatsapp_client.client.store import StoreExecutor, StoreProtocol
    from whatsapp_client.client.tasks import TaskSet

__all__ = ["FEATURE_EVENTS", "FeaturesMixin"]

log = get_logger("features")
H = TypeVar("H", bound=Handler)

FEATURE_EVENTS = (
    "typing",  # (user_id, is_typing)
    "presence",  # (user_id, online)
    "group_message",  # (Message)
)


class FeaturesMixin:
    """Typing, presence, media, fingerprints and groups (mixed into ``WhatsAppClient``)."""

    # What the host class provides, declared for the type checker only.
    if TYPE_CHECKING:
        _config: ClientConfig
        _http: HttpApi
        _conn: Connection
        _events: EventRegistry
        _tasks: TaskSet
        _sessions: SessionManager | None
        _user: User | None
        _store_obj: StoreProtocol | None
        _frame_handlers: dict[type[Any], Callable[[Any], Awaitable[None]]]

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

        def get_fingerprint(self) -> str: ...

    def _init_features(self) -> None:
        """Creates the feature objects and hooks them into the client (called once)."""
        for name in FEATURE_EVENTS:
            self._events.add_event(name)
        self._typing = TypingIndicators(conn=self._conn, tasks=self._tasks, emit=self._emit)
        self._presence = Presence(
            conn=self._conn, tasks=self._tasks, emit=self._emit, login=self._require_login
        )
        self._fingerprints = Fingerprints(
            http=self._http, login=self._require_login, sessions=lambda: self._sessions
        )
        self._groups = Groups(
            http=self._http,
            conn=self._conn,
            config=lambda: self._config,
            login=self._require_login,
            emit=self._emit,
            watch=self._presence.watch,
        )
        self._features_store: object = None
        self._features_loaded = False
        handlers = self._frame_handlers
        handlers[Typing] = self._typing.on_frame
        handlers[Online] = self._presence.on_frame
        handlers[GroupMessage] = self._groups.on_frame
        on_sent = handlers[Sent]
        on_error = handlers[ErrorFrame]

        async def sent(frame: Sent) -> None:
            if not self._groups.on_sent(frame):
                await on_sent(frame)

        async def error(frame: ErrorFrame) -> None:
            if not self._groups.on_error(frame):
                await on_error(frame)

        handlers[Sent] = sent
        handlers[ErrorFrame] = error
        # Internal handlers run before any the application adds (they are registered first).
        self._events.add("connection_change", self._features_on_connection)
        self._events.add("message", self._features_on_message)
        self._events.add("identity_change", self._features_on_identity_change)

    # --- internal hooks ------------------------------------------------------------------

    def _features_bind(self) -> None:
        """Starts the feature state afresh for each login (called by every feature entry
        point): nothing learned under a previous login is kept in memory."""
        user, store = self._user, self._store_obj
        if user is None or store is None or store is self._features_store:
            return
        self._typing.reset()
        self._fingerprints.reset()
        self._groups.reset()
        self._presence.reset()
        self._presence.bind(user.id)
        self._features_store = store
        self._features_loaded = False

    def _note_peer(self, peer_id: str) -> None:
        """Called for every direct message sent: the peer's presence is watched."""
        self._features_bind()
        self._presence.watch(peer_id)

    def _forget_peer(self, peer_id: str) -> None:
        """Called when a peer turned out not to exist: it is no longer watched."""
        self._features_bind()
        self._presence.unwatch(peer_id)

    async def _features_on_connection(self, connected: bool) -> None:
        if not connected:
            self._groups.connection_lost()
            return
        try:
            self._require_login()
        except errors.AuthenticationError:
            return
        self._features_bind()
        if not self._features_loaded:  # a new login: read the store's list of peers
            self._features_loaded = True
            await self._presence.load()
        self._tasks.spawn(self._features_after_connect(), "whatsapp-features-connect")

    async def _features_after_connect(self) -> None:
        await self._presence.resubscribe()
        for step in (self._fingerprints.sync_pending, self._groups.catch_up):
            try:
                await step()
            except errors.WhatsAppError as exc:
                log.info("after-connect step %s failed: %s", step.__name__, exc)

    async def _features_on_message(self, message: Message) -> None:
        if message.direction != "in" or message.group_id is not None:
            return
        self._features_bind()
        self._presence.watch(message.from_user)
        try:
            message.sender_verified = await self._fingerprints.is_verified(message.from_user)
        except errors.WhatsAppError:
            message.sender_verified = False

    async def _features_on_identity_change(self, peer_id: str, *_: Any) -> None:
        self._features_bind()
        self._fingerprints.forget(peer_id)

    # --- typing --------------------------------------------------------------------------

    async def send_typing(
        self, to: str, typing: bool = True, *, auto_stop: float | None = TYPING_TIMEOUT
    ) -> bool:
        """Tells ``to`` that you are typing (or stopped). ``typing=True`` stops by itself
        after ``auto_stop`` seconds (5 by default; ``None`` never) unless sent again.

        Returns False when not connected: typing indicators are never queued."""
        self._require_login()
        self._features_bind()
        return await self._typing.send(to, typing, auto_stop)

    def on_typing(self, handler: H) -> H:
        """Decorator: ``handler(user_id, is_typing)`` when a peer starts or stops typing
        (a peer silent for more than 6 s after "typing" is reported as stopped)."""
        self._events.add("typing", handler)
        return handler

    def get_typing_users(self) -> set[str]:
        """Peers currently typing to you."""
        self._features_bind()
        return self._typing.typing_users()

    # --- presence ------------------------------------------------------------------------

    async def subscribe_presence(self, user_ids: Iterable[str]) -> None:
        """Watches the presence of these users (peers you message and group members are
        watched automatically). Their current state arrives at once."""
        self._require_login()
        self._features_bind()
        if isinstance(user_ids, str):
            user_ids = [user_ids]
        await self._presence.subscribe(list(user_ids))

    def get_online_users(self) -> set[str]:
        """The watched users that are online now."""
        self._features_bind()
        return self._presence.online_users()

    def is_user_online(self, user_id: str) -> bool:
        """Whether a watched user is online (False when unknown)."""
        self._features_bind()
        return self._presence.is_online(user_id)

    def get_last_seen(self, user_id: str) -> int | None:
        """When an offline watched user was last online (ms since the epoch), if known."""
        self._features_bind()
        return self._presence.last_seen(user_id)

    def on_presence(self, handler: H) -> H:
        """Decorator: ``handler(user_id, online)`` when a watched user comes or goes."""
        self._events.add("presence", handler)
        return handler

    # --- media ---------------------------------------------------------------------------

    # send_image, send_video, send_audio, send_file and download: media_features.py

    async def save_image(self, message: Message, path: str | os.PathLike[str]) -> Path:
        """Writes a received (or sent) image to ``path``; returns the path written.
        ``MediaError`` if it is not an image message.

        A folder (existing, or a path ending with a separator or without a suffix, such as
        ``"downloads/"``) is created if needed and the image goes inside under the sender's
        file name or ``<id><extension>``; any other path is the file to write."""
        return await media_mod.save_media(message, path, image_only=True)

    async def save_file(self, message: Message, path: str | os.PathLike[str]) -> Path:
        """Writes the bytes of an image or file message to ``path`` (a folder as for
        :meth:`save_image`); returns the path written."""
        return await media_mod.save_media(message, path, image_only=False)

    @staticmethod
    def decode_image(value: Message | str | bytes) -> bytes:
        """The raw bytes of an image message, of its base64 text (``message.image_data``)
        or of bytes; ``MediaError`` unless they are a JPEG, PNG, GIF or WebP image."""
        return media_mod.decode_image(value)

    @staticmethod
    def open_image(value: Message | str | bytes) -> Any:
        """A ``PIL.Image.Image`` of an image message (needs the ``images`` extra)."""
        return media_mod.open_image(value)

    # --- fingerprints --------------------------------------------------------------------

    async def get_peer_fingerprint(self, peer_id: str) -> str:
        """The fingerprint (64 hex characters) of the identity this device holds for
        ``peer_id``; a session is started first if you never talked to the peer."""
        self._features_bind()
        return await self._fingerprints.peer_fingerprint(peer_id)

    async def verify_fingerprint(
        self, peer_id: str, fingerprint: str, verified: bool = True
    ) -> None:
        """Marks ``peer_id`` verified after you compared ``fingerprint`` out of band.

        The fingerprint is checked (in constant time) against the identity this device
        holds: a mismatch raises ``FingerprintMismatchError`` and changes nothing. The flag
        is stored locally and copied to the server (``POST /api/verify-key``; retried after
        the next connect when the server cannot be reached). ``verified=False`` unmarks."""
        self._features_bind()
        await self._fingerprints.verify(peer_id, fingerprint, verified)

    async def is_fingerprint_verified(self, peer_id: str) -> bool:
        """Whether ``peer_id`` is marked verified on this device (a changed identity clears
        the mark)."""
        self._features_bind()
        return await self._fingerprints.is_verified(peer_id)

    async def get_verification_record(self, peer_id: str) -> dict[str, Any] | None:
        """The account's verification record for ``peer_id`` as the server holds it."""
        return await self._fingerprints.server_record(peer_id)

    @staticmethod
    def compare_fingerprints(fingerprint1: str, fingerprint2: str) -> bool:
        """Constant-time comparison of two fingerprints (case and spaces ignored)."""
        return compare_fingerprints(fingerprint1, fingerprint2)

    async def safety_number(self, peer_id: str) -> str:
        """The 60-digit safety number of you and ``peer_id``: the same on both sides."""
        return await self._fingerprints.safety_number(peer_id)

    def fingerprint_qr_payload(self) -> str:
        """The text of your fingerprint QR code: ``WAC1-FP:<user_id>:<fingerprint>``."""
        user = self._require_login()[0]
        return qr_payload(user.id, self.get_fingerprint())

    def generate_fingerprint_qr(self) -> Any:
        """A QR code image of :meth:`fingerprint_qr_payload` (``image.save("qr.png")``).
        Needs the ``qrcode`` extra: ``pip install 'whatsapp-client[qrcode]'``;
        ``MissingExtraError`` says so when it is missing."""
        return make_qr_image(self.fingerprint_qr_payload())

    async def verify_fingerprint_qr(self, payload: str) -> str:
        """Verifies a peer from the text of its scanned QR code; returns the peer's id."""
        user_id, fp = parse_qr_payload(payload)
        await self.verify_fingerprint(user_id, fp, True)
        return user_id

"""``WhatsAppClient``: the asynchronous facade of the SDK.

Features live in their own modules (connection, outbox, sessions, prekeys, receipts) and are
wired together here. The facade itself is split by concept into mixins: accounts
(``accounts.py``: login, logout, close, run), events and frame routing (``handlers.py``),
the receive pipeline (``ingest.py``), the part 2 features (``features.py``) and groups
(``group_api.py``). Later features slot in the same way: a module, an event name in the
registry and a frame handler in ``_frame_handlers``.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

from whatsapp_client import errors
from whatsapp_client.client.accounts import AccountsMixin
from whatsapp_client.client.config import ClientConfig, build_config, load_config_file
from whatsapp_client.client.connection import Connection
from whatsapp_client.client.features import FeaturesMixin
from whatsapp_client.client.group_api import GroupsMixin
from whatsapp_client.client.handlers import HandlersMixin
from whatsapp_client.client.http import HttpApi
from whatsapp_client.client.ingest import IngestMixin
from whatsapp_client.client.logging import get_logger, set_level
from whatsapp_client.client.media_features import MediaMixin
from whatsapp_client.client.models import ConnectionState, Message, PrekeyStatus, User
from whatsapp_client.client.payloads import to_message
from whatsapp_client.client.receipts import read_frames, validate_ids
from whatsapp_client.client.sessions import validate_peer_id
from whatsapp_client.client.tasks import TaskSet

__all__ = ["WhatsAppClient"]

log = get_logger("client")


class WhatsAppClient(
    AccountsMixin, HandlersMixin, IngestMixin, FeaturesMixin, GroupsMixin, MediaMixin
):
    """An end-to-end encrypted messaging client.

    ::

        async with WhatsAppClient(server_url="http://localhost:8080") as client:
            await client.login("alice", "correct horse")

            @client.on_message
            async def echo(message):
                await client.send_message(message.from_user, "Echo: " + message.content)

            await client.run()

    Options are keyword arguments (see :class:`ClientConfig`); arguments win over the
    environment (``WHATSAPP_*``), which wins over a config file (:meth:`from_config`).
    """

    def __init__(
        self,
        server_url: str | None = None,
        storage_path: str | None = None,
        *,
        config: ClientConfig | None = None,
        **options: Any,
    ) -> None:
        overrides = dict(options)
        if server_url is not None:
            overrides["server_url"] = server_url
        if storage_path is not None:
            overrides["storage_path"] = storage_path
        if config is not None:
            self._config = config.replace(**overrides) if overrides else config
        else:
            self._config = build_config(overrides=overrides)
        set_level(self._config.log_level)
        cfg = self._config
        self._http = HttpApi(
            cfg.server_url,
            timeout=cfg.request_timeout,
            retries=cfg.http_retries,
            backoff=cfg.http_retry_backoff,
        )
        self._tasks = TaskSet()
        self._pending_reads: list[tuple[str, list[str]]] = []
        self._init_accounts()
        self._init_handlers()
        self._init_ingest()
        self._conn = Connection(
            config=cfg,
            session=lambda: self._http.session,
            token=lambda: self._http.token,
            on_frame=self._on_frame,
            on_connected=self._on_connected,
            on_state=self._on_state,
            on_fatal=lambda exc: self._emit("error", exc),
        )
        self._init_features()
        self._init_media()

    # --- construction ------------------------------------------------------------------

    @classmethod
    def from_config(cls, path: str, **overrides: Any) -> WhatsAppClient:
        """A client configured from a YAML or JSON file; environment and ``overrides`` win."""
        data = load_config_file(path)
        return cls(config=build_config(base=data, overrides=overrides))

    @property
    def config(self) -> ClientConfig:
        return self._config

    async def __aenter__(self) -> WhatsAppClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- users and keys ----------------------------------------------------------------

    async def get_user(self, user_id: str) -> User:
        """Looks a user up by id (``NotFoundError`` if there is none)."""
        validate_peer_id(user_id, "user_id")
        data = await self._http.request("GET", f"/api/users/{quote(user_id, safe='')}")
        return User(id=str(data["id"]), username=str(data["username"]))

    async def find_user(self, username: str) -> User:
        """Looks a user up by username (``NotFoundError`` if there is none)."""
        if not isinstance(username, str) or not username.strip():
            raise errors.ValidationError("username must be a non-empty string")
        data = await self._http.request("GET", "/api/users", params={"username": username})
        return User(id=str(data["id"]), username=str(data["username"]))

    get_user_by_username = find_user

    def get_fingerprint(self) -> str:
        """This device's identity fingerprint (64 hex characters)."""
        self._require_login()
        assert self._fingerprint is not None
        return self._fingerprint

    async def get_prekey_status(self) -> PrekeyStatus:
        """How many one-time prekeys the server holds for this account."""
        self._require_login()
        assert self._prekeys is not None
        return await self._prekeys.status()

    async def refresh_prekeys(self) -> None:
        """Rotates an old signed prekey and refills one-time prekeys now (also done in the
        background every ``prekey_check_interval`` seconds)."""
        self._require_login()
        assert self._prekeys is not None
        await self._prekeys.maintain()

    async def _maintenance(self) -> None:
        while True:
            await asyncio.sleep(self._config.prekey_check_interval)
            try:
                assert self._prekeys is not None
                await self._prekeys.maintain()
            except errors.WhatsAppError as exc:
                log.warning("prekey maintenance failed (%s); retrying later", exc)

    async def _quiet_maintain(self) -> None:
        try:
            assert self._prekeys is not None
            await self._prekeys.maintain()
        except errors.WhatsAppError as exc:
            log.info("prekey refill failed (%s); retrying later", exc)

    async def request_key_refresh(self, peer_id: str) -> None:
        """Starts a fresh session with ``peer_id`` (new X3DH with its current keys)."""
        validate_peer_id(peer_id)
        self._require_login()
        assert self._sessions is not None
        await self._sessions.refresh(peer_id)

    async def _identity_changed(self, peer_id: str) -> None:
        self._emit("identity_change", peer_id)

    def _message_failed(
        self, message_id: str, peer_id: str | None, exc: errors.WhatsAppError
    ) -> None:
        """The server or the outbox refused a message for good."""
        if peer_id is not None and isinstance(exc, errors.NotFoundError):
            self._forget_peer(peer_id)  # no such user: stop watching it
        self._emit("message_status", message_id, "failed")

    # --- messaging ---------------------------------------------------------------------

    async def send_message(self, to: str, content: str) -> Message:
        """Encrypts and sends a text message. The message is first stored in the outbox;
        while connected, the call then waits up to ``send_timeout`` for the server's
        ``sent`` and returns the message with ``status='sent'``. It returns it ``'pending'``
        at once when there is no connection, and after ``send_timeout`` or when the server
        asks to slow down: a pending message goes out by itself, and the returned object's
        ``status`` changes as it does.

        Raises ``ValidationError`` (empty, not text, over ``max_text_bytes``) before anything
        is stored, ``NotFoundError`` for an unknown user and ``SessionNotFoundError`` when
        the peer has no keys (nothing is stored or queued then)."""
        validate_peer_id(to, "to")
        if not isinstance(content, str):
            raise errors.ValidationError(
                "content must be a str (use send_image/send_file for bytes)"
            )
        size = len(content.encode("utf-8", "surrogatepass"))
        if size > self._config.max_text_bytes:
            raise errors.ValidationError(
                f"text is {size} bytes of UTF-8; the limit is {self._config.max_text_bytes}: "
                "split it into several messages",
                code="too_large",
            )
        try:
            content.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise errors.ValidationError("content is not valid Unicode (lone surrogate)") from exc
        return await self.send_payload(to, {"type": "text", "text": content}, content)

    async def send_payload(
        self,
        to: str,
        payload: Mapping[str, Any],
        content: str = "",
        *,
        message_id: str | None = None,
    ) -> Message:
        """Sends any plaintext payload object (PROTOCOL.md §5); used by the typed senders.
        ``message_id`` (default: a fresh UUID) lets a resumed attachment keep its id."""
        user, _, _ = self._require_login()
        assert self._sessions is not None
        assert self._outbox is not None
        validate_peer_id(to, "to")
        if to == user.id:
            raise errors.ValidationError("cannot send a message to yourself")
        plaintext = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        try:
            await self._sessions.ensure(to)
        except (errors.ConnectionError, errors.ServerError, errors.RateLimitError) as exc:
            log.info("cannot start a session with %s now (%s); the message is queued", to, exc)
        # Only a peer that exists (or cannot be checked now) is watched: an unknown user
        # raised NotFoundError above and leaves no trace.
        self._note_peer(to)
        message = Message(
            id=message_id or str(uuid.uuid4()),
            from_user=user.id,
            to=to,
            content=content,
            type=str(payload.get("type", "text")),
            timestamp=0,
            status="pending",
            direction="out",
            payload=dict(payload),
        )
        return await self._outbox.submit(message, plaintext, self._config.send_timeout)

    async def get_messages(
        self, peer_id: str, limit: int = 50, before: int | None = None
    ) -> list[Message]:
        """The local history with ``peer_id``, newest first; ``before`` is a timestamp (ms)."""
        validate_peer_id(peer_id)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 10_000:
            raise errors.ValidationError(
                "limit must be an integer between 1 and 10000 (page with before=)"
            )
        if before is not None and (
            not isinstance(before, int) or isinstance(before, bool) or before < 0
        ):
            raise errors.ValidationError("before must be a timestamp in milliseconds")
        _, store, executor = self._require_login()
        rows = await executor.run(store.messages, peer_id, limit, before)
        return [to_message(r) for r in rows]

    async def get_message(self, message_id: str) -> Message | None:
        """One message of the local history by id."""
        _, store, executor = self._require_login()
        row = await executor.run(store.get_message, message_id)
        return to_message(row) if row is not None else None

    async def pending_messages(self) -> int:
        """How many outgoing messages wait in the outbox."""
        _, store, executor = self._require_login()
        return len(await executor.run(store.outbox))

    async def mark_as_read(self, peer_id: str, message_ids: Iterable[str]) -> None:
        """Sends read receipts for messages from ``peer_id`` (frames of at most 100 ids) and
        marks them read locally. Receipts wait for the connection when it is down."""
        validate_peer_id(peer_id)
        ids = validate_ids(message_ids)
        _, store, executor = self._require_login()
        await executor.run(store.update_status, ids, "read")
        for frame in read_frames(peer_id, ids):
            try:
                await self._conn.send(frame)
            except errors.ConnectionError:
                self._pending_reads.append((peer_id, list(frame.message_ids)))

    # --- connection --------------------------------------------------------------------

    @property
    def connection_state(self) -> ConnectionState:
        return self._conn.state

    def is_connected(self) -> bool:
        return self._conn.is_connected()

    async def connect(self) -> None:
        """Opens and authenticates the WebSocket (done by login; use after disconnect())."""
        self._require_login()
        await self._conn.connect()

    async def disconnect(self) -> None:
        """Closes the WebSocket; messages sent meanwhile wait in the outbox."""
        await self._conn.disconnect()

    async def wait_until_connected(self, timeout: float | None = None) -> bool:
        return await self._conn.wait_connected(timeout)

    def _on_state(self, old: ConnectionState, new: ConnectionState) -> None:
        if new is ConnectionState.CONNECTED:
            self._emit("connection_change", True)
        elif old is ConnectionState.CONNECTED:
            if self._outbox is not None:
                self._outbox.fail_waiters()
            self._emit("connection_change", False)

    def _on_connected(self) -> None:
        if self._outbox is None:
            return
        self._outbox.flush_needed = True
        self._tasks.spawn(self._after_connect(), "whatsapp-flush")

    async def _after_connect(self) -> None:
        assert self._outbox is not None
        await self._outbox.flush()
        reads, self._pending_reads = self._pending_reads, []
        for peer, ids in reads:
            for frame in read_frames(peer, ids):
                try:
                    await self._conn.send(frame)
                except errors.ConnectionError:
                    self._pending_reads.append((peer, list(frame.message_ids)))

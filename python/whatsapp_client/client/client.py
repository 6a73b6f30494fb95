"""``WhatsAppClient``: the asynchronous facade of the SDK.

Features live in their own modules (connection, outbox, sessions, prekeys, receipts) and are
wired together here; later features (typing, presence, media, groups) slot in the same way:
a module, an event name in the registry and a frame handler in ``_frame_handlers``.
"""

from __future__ import annotations

import asyncio
import collections
import json
import re
import signal
import uuid
from collections.abc import Awaitable, Iterable, Mapping
from typing import Any, Callable, ClassVar, TypeVar
from urllib.parse import quote

from whatsapp_client import errors
from whatsapp_client.client import store as store_mod
from whatsapp_client.client.config import ClientConfig, build_config, load_config_file
from whatsapp_client.client.connection import Connection
from whatsapp_client.client.events import EventRegistry, Handler
from whatsapp_client.client.features import FeaturesMixin
from whatsapp_client.client.frames import (
    Ack,
    ErrorFrame,
    IncomingMessage,
    Pong,
    Sent,
    ServerFrame,
    Status,
    UnknownFrame,
    encode_frame,
)
from whatsapp_client.client.http import HttpApi
from whatsapp_client.client.logging import get_logger, set_level
from whatsapp_client.client.models import ConnectionState, Message, PrekeyStatus, User, status_rank
from whatsapp_client.client.outbox import Outbox
from whatsapp_client.client.prekeys import PrekeyManager
from whatsapp_client.client.receipts import read_frames, validate_ids
from whatsapp_client.client.sessions import SessionManager, validate_peer_id
from whatsapp_client.client.store import StoreExecutor, StoreProtocol
from whatsapp_client.client.tasks import TaskSet

__all__ = ["WhatsAppClient"]

log = get_logger("client")
H = TypeVar("H", bound=Handler)

_USERNAME = re.compile(r"^[a-z0-9_.\-]{3,32}$")
_INGEST_BATCH = 256


def _validate_credentials(username: Any, password: Any) -> None:
    if not isinstance(username, str) or not _USERNAME.match(username):
        raise errors.ValidationError(
            "username must be 3-32 characters of a-z 0-9 _ . - (lower case)",
            code="invalid_username",
        )
    if not isinstance(password, str) or len(password) < 8:
        raise errors.ValidationError(
            "password must be a string of at least 8 characters", code="weak_password"
        )


class _Signals:
    """One SIGINT/SIGTERM handler per loop that stops every running client of that loop."""

    clients: ClassVar[dict[asyncio.AbstractEventLoop, set[WhatsAppClient]]] = {}

    @classmethod
    def add(cls, client: WhatsAppClient) -> bool:
        loop = asyncio.get_running_loop()
        group = cls.clients.setdefault(loop, set())
        if not group:
            try:
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.add_signal_handler(sig, cls._fire, loop)
            # No loop signal handlers (Windows, or not the main thread): run() then stops on
            # KeyboardInterrupt or stop() instead.
            except (NotImplementedError, RuntimeError, ValueError):
                cls.clients.pop(loop, None)
                return False
        group.add(client)
        return True

    @classmethod
    def remove(cls, client: WhatsAppClient) -> None:
        loop = asyncio.get_running_loop()
        group = cls.clients.get(loop)
        if group is None:
            return
        group.discard(client)
        if not group:
            cls.clients.pop(loop, None)
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    @classmethod
    def _fire(cls, loop: asyncio.AbstractEventLoop) -> None:
        log.info("signal received; stopping")
        for c in list(cls.clients.get(loop, ())):
            c.stop()


class WhatsAppClient(FeaturesMixin):
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
        self._events = EventRegistry()
        self._tasks = TaskSet()
        self._user: User | None = None
        self._store_obj: StoreProtocol | None = None
        self._exec: StoreExecutor | None = None
        self._fingerprint: str | None = None
        self._stop_event: asyncio.Event | None = None
        self._closed = False
        self._dispatch_q: asyncio.Queue[tuple[str, tuple[Any, ...]]] | None = None
        self._ingest_q: asyncio.Queue[IncomingMessage | Sent | Status] | None = None
        self._seen: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._to_forget: list[str] = []
        self._pending_reads: list[tuple[str, list[str]]] = []
        self._conn = Connection(
            config=cfg,
            session=lambda: self._http.session,
            token=lambda: self._http.token,
            on_frame=self._on_frame,
            on_connected=self._on_connected,
            on_state=self._on_state,
            on_fatal=lambda exc: self._emit("error", exc),
        )
        self._sessions: SessionManager | None = None
        self._prekeys: PrekeyManager | None = None
        self._outbox: Outbox | None = None
        self._frame_handlers: dict[type[Any], Callable[[Any], Awaitable[None]]] = {
            IncomingMessage: self._enqueue_ingest,
            Sent: self._on_sent,
            Status: self._enqueue_ingest,
            ErrorFrame: self._on_error_frame,
            Pong: self._ignore,
        }
        self._unknown_frame_handlers: dict[str, Callable[[dict[str, Any]], Awaitable[None]]] = {}
        self._init_features()

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

    # --- accounts ----------------------------------------------------------------------

    @property
    def user(self) -> User | None:
        """The logged-in user (``id``, ``username``), or ``None``."""
        return self._user

    @property
    def user_id(self) -> str | None:
        return self._user.id if self._user else None

    def _require_login(self) -> tuple[User, StoreProtocol, StoreExecutor]:
        if self._user is None or self._store_obj is None or self._exec is None:
            raise errors.AuthenticationError(
                "not logged in: call login() or register() first", code="not_logged_in"
            )
        return self._user, self._store_obj, self._exec

    def _check_open(self) -> None:
        if self._closed:
            raise errors.WhatsAppError("this client is closed: create a new one", code="closed")

    async def register(self, username: str, password: str) -> User:
        """Creates an account and logs in (keys are created and uploaded, the socket opens).

        Raises ``UsernameTakenError`` when the name is taken and ``ValidationError`` for a bad
        username or a password under 8 characters."""
        self._check_open()
        _validate_credentials(username, password)
        if self._user is not None:
            raise errors.ValidationError("already logged in: logout() first", code="logged_in")
        data = await self._http.request(
            "POST",
            "/api/auth/register",
            json={"username": username, "password": password},
            auth=False,
            idempotent=False,
        )
        await self._start(data, password)
        assert self._user is not None
        log.info("registered %s (%s)", self._user.username, self._user.id)
        return self._user

    async def login(self, username: str, password: str) -> User:
        """Logs in. The first login on this device creates the identity, a signed prekey and
        one-time prekeys and uploads them; later logins unlock the local store."""
        self._check_open()
        if (
            not isinstance(username, str)
            or not username
            or not isinstance(password, str)
            or not password
        ):
            raise errors.ValidationError("username and password must be non-empty strings")
        if self._user is not None:
            raise errors.ValidationError("already logged in: logout() first", code="logged_in")
        data = await self._http.request(
            "POST",
            "/api/auth/login",
            json={"username": username, "password": password},
            auth=False,
            idempotent=False,
        )
        await self._start(data, password)
        assert self._user is not None
        log.info("logged in as %s (%s)", self._user.username, self._user.id)
        return self._user

    async def _start(self, data: Any, password: str) -> None:
        try:
            user = User(id=str(data["user"]["id"]), username=str(data["user"]["username"]))
            token = str(data["token"])
        except (KeyError, TypeError) as exc:
            raise errors.ServerError("the server's login answer lacks user or token") from exc
        self._http.token = token
        executor = StoreExecutor(f"whatsapp-store-{user.username}")
        try:
            store = await executor.run(store_mod.open_store, self._config, user.id, password)
        except BaseException:
            executor.shutdown()
            self._http.token = None
            raise
        self._exec, self._store_obj, self._user = executor, store, user
        self._seen.clear()
        self._sessions = SessionManager(
            http=self._http,
            executor=executor,
            store=self._store,
            config=self._config,
            on_identity_change=self._identity_changed,
        )
        self._prekeys = PrekeyManager(
            http=self._http, executor=executor, store=self._store, config=self._config
        )
        self._outbox = Outbox(
            executor=executor,
            store=self._store,
            conn=self._conn,
            sessions=self._sessions,
            on_failed=lambda mid, exc: self._emit("message_status", mid, "failed"),
            spawn=self._tasks.spawn,
        )
        try:
            await self._prekeys.setup()
            self._fingerprint = await executor.run(lambda: store.fingerprint)
            self._ensure_workers()
            self._tasks.spawn(self._maintenance(), "whatsapp-prekeys")
            await self._conn.connect()
        except BaseException:
            await self._teardown()
            raise

    def _store(self) -> StoreProtocol:
        return self._require_login()[1]

    async def logout(self) -> None:
        """Revokes the token, closes the socket and flushes and closes the local store."""
        if self._user is None:
            return
        try:
            await self._http.request("POST", "/api/auth/logout", idempotent=False)
        except errors.WhatsAppError as exc:
            log.warning("logout request failed (%s); cleaning up locally anyway", exc)
        finally:
            await self._teardown()

    async def _teardown(self) -> None:
        await self._conn.disconnect()
        if self._outbox is not None:
            self._outbox.cancel_all()
        await self._tasks.cancel_all()
        self._dispatch_q = None
        self._ingest_q = None
        self._pending_reads = []
        self._to_forget = []
        store, executor = self._store_obj, self._exec
        self._store_obj = None
        self._exec = None
        self._user = None
        self._http.token = None
        self._fingerprint = None
        if store is not None and executor is not None:
            try:
                await executor.run(store.close)
            finally:
                executor.shutdown()

    async def close(self) -> None:
        """Closes the socket, the store and the HTTP session (the token stays valid)."""
        if self._closed:
            return
        self._closed = True
        await self._teardown()
        await self._http.close()
        if self._stop_event is not None:
            self._stop_event.set()

    async def run(self) -> None:
        """Runs until :meth:`stop` is called or the process gets SIGINT/SIGTERM, then closes."""
        self._require_login()
        self._stop_event = asyncio.Event()
        installed = _Signals.add(self)
        try:
            await self._stop_event.wait()
        finally:
            if installed:
                _Signals.remove(self)
            await self.close()

    def stop(self) -> None:
        """Makes :meth:`run` return (safe to call from a handler)."""
        if self._stop_event is not None:
            self._stop_event.set()

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

    async def request_key_refresh(self, peer_id: str) -> None:
        """Starts a fresh session with ``peer_id`` (new X3DH with its current keys)."""
        validate_peer_id(peer_id)
        self._require_login()
        assert self._sessions is not None
        await self._sessions.refresh(peer_id)

    async def _identity_changed(self, peer_id: str) -> None:
        self._emit("identity_change", peer_id)

    # --- messaging ---------------------------------------------------------------------

    async def send_message(self, to: str, content: str) -> Message:
        """Encrypts and sends a text message; returns it with ``status='sent'`` once the
        server has it (``'pending'`` while it waits in the outbox for a connection).

        Raises ``ValidationError`` (empty, not text, over ``max_text_bytes``) before anything
        is sent, and ``SessionNotFoundError`` when the peer has no keys."""
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

    async def send_payload(self, to: str, payload: Mapping[str, Any], content: str = "") -> Message:
        """Sends any plaintext payload object (PROTOCOL.md §5); used by the typed senders."""
        user, _, _ = self._require_login()
        assert self._sessions is not None
        assert self._outbox is not None
        validate_peer_id(to, "to")
        if to == user.id:
            raise errors.ValidationError("cannot send a message to yourself")
        plaintext = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        self._note_peer(to)
        try:
            await self._sessions.ensure(to)
        except (errors.ConnectionError, errors.ServerError, errors.RateLimitError) as exc:
            log.info("cannot start a session with %s now (%s); the message is queued", to, exc)
        message = Message(
            id=str(uuid.uuid4()),
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
        return [_to_message(r) for r in rows]

    async def get_message(self, message_id: str) -> Message | None:
        """One message of the local history by id."""
        _, store, executor = self._require_login()
        row = await executor.run(store.get_message, message_id)
        return _to_message(row) if row is not None else None

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

    # --- events ------------------------------------------------------------------------

    def on_message(self, handler: H) -> H:
        """Decorator: ``handler(message: Message)`` for every new incoming message."""
        self._events.add("message", handler)
        return handler

    def on_message_status(self, handler: H) -> H:
        """Decorator: ``handler(message_id, status)`` for ``delivered`` / ``read`` (and
        ``failed`` when the server refuses a message for good)."""
        self._events.add("message_status", handler)
        return handler

    def on_connection_change(self, handler: H) -> H:
        """Decorator: ``handler(connected: bool)``."""
        self._events.add("connection_change", handler)
        return handler

    def on_identity_change(self, handler: H) -> H:
        """Decorator: ``handler(peer_id)`` when a peer's identity key changed."""
        self._events.add("identity_change", handler)
        return handler

    def on_error(self, handler: H) -> H:
        """Decorator: ``handler(error)`` for errors met in the background."""
        self._events.add("error", handler)
        return handler

    def on(self, event: str) -> Callable[[H], H]:
        """Decorator for any event by name."""
        return self._events.on(event)

    def remove_handler(self, event: str, handler: Handler) -> None:
        self._events.remove(event, handler)

    def _ensure_workers(self) -> None:
        if self._dispatch_q is None:
            self._dispatch_q = asyncio.Queue()
            self._tasks.spawn(self._dispatcher(self._dispatch_q), "whatsapp-handlers")
        if self._ingest_q is None:
            self._ingest_q = asyncio.Queue()
            self._tasks.spawn(self._ingester(self._ingest_q), "whatsapp-ingest")

    def _emit(self, name: str, *args: Any) -> None:
        if self._dispatch_q is None or not self._events.has(name):
            return
        self._dispatch_q.put_nowait((name, args))

    async def _dispatcher(self, queue: asyncio.Queue[tuple[str, tuple[Any, ...]]]) -> None:
        while True:
            name, args = await queue.get()
            try:
                await self._events.emit(name, *args)
            finally:
                queue.task_done()

    async def idle(self) -> None:
        """Waits until every frame received so far is processed and its events handled."""
        for _ in range(3):
            if self._ingest_q is not None:
                await self._ingest_q.join()
            if self._dispatch_q is not None:
                await self._dispatch_q.join()

    # --- frames ------------------------------------------------------------------------

    async def _on_frame(self, frame: ServerFrame | UnknownFrame) -> None:
        if isinstance(frame, UnknownFrame):
            handler = self._unknown_frame_handlers.get(frame.type)
            if handler is not None:
                await handler(frame.data)
            else:
                log.debug("ignoring frame of type %r", frame.type)
            return
        h = self._frame_handlers.get(type(frame))
        if h is not None:
            await h(frame)
        else:
            log.debug("no handler for %s frames", type(frame).__name__)

    async def _ignore(self, frame: Any) -> None:
        return None

    async def _on_sent(self, frame: Sent) -> None:
        if self._outbox is not None:
            self._outbox.on_sent(frame.id, frame.timestamp)
        await self._enqueue_ingest(frame)

    async def _on_error_frame(self, frame: ErrorFrame) -> None:
        log.warning("server error frame: %s %s", frame.code, frame.message)
        if frame.id and self._outbox is not None:
            await self._outbox.on_error(frame.id, frame.code, frame.message)
            return
        exc = errors.ServerError(f"server error {frame.code}: {frame.message}", code=frame.code)
        self._emit("error", exc)

    async def _enqueue_ingest(self, frame: IncomingMessage | Sent | Status) -> None:
        if self._ingest_q is not None:
            self._ingest_q.put_nowait(frame)

    async def _ingester(self, queue: asyncio.Queue[IncomingMessage | Sent | Status]) -> None:
        while True:
            batch = [await queue.get()]
            while len(batch) < _INGEST_BATCH and not queue.empty():
                batch.append(queue.get_nowait())
            try:
                await self._ingest(batch)
            except errors.StorageError as exc:
                log.error("the local store failed while processing frames: %s", exc)
                self._emit("error", exc)
            finally:
                for _ in batch:
                    queue.task_done()

    async def _ingest(self, batch: list[IncomingMessage | Sent | Status]) -> None:
        """Decrypts and stores incoming messages, persists sent/status updates, acknowledges,
        then hands new messages to the handlers — all in arrival order."""
        user, store, executor = self._require_login()
        assert self._outbox is not None
        outbox = self._outbox
        seen = self._seen
        forget, self._to_forget = self._to_forget, []
        StoredMessage = store_mod.message_record

        def work() -> list[tuple[str, Any]]:
            # One commit per database and kind of change for the whole batch: the decrypted
            # sessions and results (keys.db), then the history with the confirmed messages
            # taken out of the outbox (messages.db). The acks go out only after both.
            if forget:
                store.forget_received(forget)
            results: list[tuple[str, Any] | None] = []
            to_save: list[Any] = []
            sent_ids: list[str] = []
            statuses: list[Status] = []
            incoming: list[tuple[int, IncomingMessage]] = []
            batch_ids: set[str] = set()
            for frame in batch:
                if isinstance(frame, Sent):
                    info = outbox.inflight.pop(frame.id, None)
                    if info is not None:
                        to_save.append(
                            StoredMessage(
                                id=frame.id,
                                peer_id=info.peer_id,
                                from_user=user.id,
                                to=info.peer_id,
                                direction="out",
                                type=info.type,
                                timestamp=frame.timestamp,
                                status="sent",
                                content=info.plaintext,
                                group_id=None,
                            )
                        )
                    sent_ids.append(frame.id)
                elif isinstance(frame, Status):
                    statuses.append(frame)
                    results.append(("status", frame))
                elif frame.id in seen or frame.id in batch_ids:
                    results.append(("dup", frame.id))
                else:
                    batch_ids.add(frame.id)
                    incoming.append((len(results), frame))
                    results.append(None)
            # Whether a message is already in the history is learnt from the batch calls
            # themselves (no lookup per message): `save_messages` answers False for an id it
            # has; only a message that fails to decrypt is looked up, so that one the
            # history already has is not reported as an error.
            saved_at: list[tuple[int, int, str]] = []
            if incoming:
                decrypted = store.decrypt_many([(f.from_, f.content, f.id) for _, f in incoming])
                for (slot, frame), dec in zip(incoming, decrypted):
                    kind, value, record = _received(user.id, frame, dec, StoredMessage)
                    if kind == "bad" and store.get_message(frame.id) is not None:
                        kind, value = "dup", frame.id
                    results[slot] = (kind, value)
                    if record is not None:
                        saved_at.append((slot, len(to_save), frame.id))
                        to_save.append(record)
            if to_save or sent_ids:
                # Saved before the status updates, so that a status that arrives in the same
                # batch as the message's `sent` finds its row.
                saved = store.save_messages(to_save, remove_from_outbox=sent_ids)
                for slot, index, mid in saved_at:
                    if not saved[index]:
                        results[slot] = ("dup", mid)
            # Consecutive status frames of the same status: one update (one commit).
            run_ids: list[str] = []
            for k, status in enumerate(statuses):
                run_ids.extend(status.message_ids)
                if k + 1 == len(statuses) or statuses[k + 1].status != status.status:
                    store.update_status(run_ids, status.status)
                    run_ids = []
            if sent_ids:
                store.forget_sent(sent_ids)
            return [r for r in results if r is not None]

        results = await executor.run(work)
        acks: list[str] = []
        new_ids: list[str] = []
        for kind, value in results:
            if kind == "new":
                message, dec = value
                acks.append(message.id)
                new_ids.append(message.id)
                self._remember(message.id)
                if dec.identity_changed:
                    log.warning("the identity key of %s changed", message.from_user)
                    self._emit("identity_change", message.from_user)
                if dec.used_one_time_prekey is not None:
                    assert self._sessions is not None
                    self._sessions.forget(message.from_user)
                    self._tasks.spawn(self._quiet_maintain(), "whatsapp-refill")
                self._emit("message", message)
            elif kind == "dup":
                acks.append(value)
                self._remember(value)
            elif kind == "bad":
                mid, exc = value
                acks.append(mid)
                self._remember(mid)
                self._emit("error", exc)
            elif kind == "status":
                for mid in value.message_ids:
                    live = outbox.live.get(mid)
                    if live is not None and status_rank(value.status) > status_rank(live.status):
                        live.status = value.status
                    self._emit("message_status", mid, value.status)
        if acks:
            try:
                await self._conn.send_text(encode_frame(Ack(ids=acks)))
                self._to_forget.extend(new_ids)
            except errors.ConnectionError:
                log.info("connection lost before acknowledging %d message(s)", len(acks))

    async def _quiet_maintain(self) -> None:
        try:
            assert self._prekeys is not None
            await self._prekeys.maintain()
        except errors.WhatsAppError as exc:
            log.info("prekey refill failed (%s); retrying later", exc)

    def _remember(self, message_id: str) -> None:
        size = self._config.message_cache_size
        if size <= 0:
            return
        self._seen[message_id] = None
        self._seen.move_to_end(message_id)
        while len(self._seen) > size:
            self._seen.popitem(last=False)


def _received(me: str, frame: IncomingMessage, dec: Any, stored_cls: Any) -> tuple[str, Any, Any]:
    """One result of ``decrypt_many`` -> ("new"|"dup"|"bad", ..., record to save or None)."""
    if isinstance(dec, errors.DuplicateMessageError):
        return ("dup", frame.id, None)
    if isinstance(dec, errors.CryptoError):
        log.warning("cannot decrypt message %s from %s: %s", frame.id, frame.from_, dec.code)
        wrapped = errors.DecryptionError(
            f"message {frame.id} from {frame.from_} could not be decrypted ({dec.code}); "
            "ask the sender to resend, or call request_key_refresh(peer_id)",
            code=dec.code,
        )
        wrapped.__cause__ = dec
        return ("bad", (frame.id, wrapped), None)
    if isinstance(dec, BaseException):
        raise dec
    plaintext: bytes = dec.plaintext
    mtype, content, payload = _parse_payload(plaintext)
    record = stored_cls(
        id=frame.id,
        peer_id=frame.from_,
        from_user=frame.from_,
        to=frame.to or me,
        direction="in",
        type=mtype,
        timestamp=frame.timestamp,
        status="received",
        content=plaintext,
        group_id=None,
    )
    message = Message(
        id=frame.id,
        from_user=frame.from_,
        to=frame.to or me,
        content=content,
        type=mtype,
        timestamp=frame.timestamp,
        status="received",
        direction="in",
        payload=payload,
    )
    return ("new", (message, dec), record)


def _parse_payload(plaintext: bytes) -> tuple[str, str, dict[str, Any]]:
    try:
        obj = json.loads(plaintext.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        text = plaintext.decode("utf-8", "replace")
        return "text", text, {"type": "text", "text": text}
    if not isinstance(obj, dict):
        return "unknown", "", {"type": "unknown", "value": obj}
    raw_type = obj.get("type")
    mtype = raw_type if isinstance(raw_type, str) else "unknown"
    if mtype == "text":
        body = obj.get("text")
        return "text", body if isinstance(body, str) else "", obj
    caption = obj.get("caption")
    return str(mtype), caption if isinstance(caption, str) else "", obj


def _to_message(row: Any) -> Message:
    plaintext = bytes(row.content)
    mtype, content, payload = _parse_payload(plaintext)
    return Message(
        id=str(row.id),
        from_user=str(row.from_user),
        to=str(row.to),
        content=content,
        type=str(row.type or mtype),
        timestamp=int(row.timestamp),
        status=str(row.status),
        direction=str(row.direction),
        payload=payload,
        group_id=row.group_id,
    )

"""Accounts: register, log in (open the store, start the managers and workers, connect),
log out, close, and :meth:`run` until a signal or :meth:`stop`.

A mixin of :class:`~whatsapp_client.WhatsAppClient`; one login's state is built in
``_start`` and torn down in ``_teardown``, so nothing of one login outlives it.
"""

from __future__ import annotations

import asyncio
import collections
import re
from typing import TYPE_CHECKING, Any

from whatsapp_client import errors
from whatsapp_client.client import store as store_mod
from whatsapp_client.client.logging import get_logger
from whatsapp_client.client.models import User
from whatsapp_client.client.outbox import Outbox
from whatsapp_client.client.prekeys import PrekeyManager
from whatsapp_client.client.sessions import SessionManager
from whatsapp_client.client.signals import Signals
from whatsapp_client.client.store import StoreExecutor, StoreProtocol

if TYPE_CHECKING:
    from whatsapp_client.client.config import ClientConfig
    from whatsapp_client.client.connection import Connection
    from whatsapp_client.client.http import HttpApi
    from whatsapp_client.client.tasks import TaskSet

__all__ = ["AccountsMixin"]

log = get_logger("client")

_USERNAME = re.compile(r"^[a-z0-9_.\-]{3,32}$")


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


class AccountsMixin:
    """Account lifecycle of ``WhatsAppClient``."""

    # What the host class provides, declared for the type checker only.
    if TYPE_CHECKING:
        _config: ClientConfig
        _http: HttpApi
        _conn: Connection
        _tasks: TaskSet
        _seen: collections.OrderedDict[tuple[str, str], None]
        _to_forget: list[tuple[str, str]]
        _pending_reads: list[tuple[str, list[str]]]
        _dispatch_q: asyncio.Queue[Any] | None
        _ingest_q: asyncio.Queue[Any] | None

        def _emit(self, name: str, *args: Any) -> None: ...

        def _ensure_workers(self) -> None: ...

        async def _maintenance(self) -> None: ...

        async def _identity_changed(self, peer_id: str) -> None: ...

        def _message_failed(
            self, message_id: str, peer_id: str | None, exc: errors.WhatsAppError
        ) -> None: ...

    _user: User | None
    _store_obj: StoreProtocol | None
    _exec: StoreExecutor | None
    _fingerprint: str | None
    _stop_event: asyncio.Event | None
    _closed: bool
    _sessions: SessionManager | None
    _prekeys: PrekeyManager | None
    _outbox: Outbox | None

    def _init_accounts(self) -> None:
        self._user = None
        self._store_obj = None
        self._exec = None
        self._fingerprint = None
        self._stop_event = None
        self._closed = False
        self._sessions = None
        self._prekeys = None
        self._outbox = None

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
            on_failed=self._message_failed,
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
        installed = Signals.add(self)
        try:
            await self._stop_event.wait()
        finally:
            if installed:
                Signals.remove(self)
            await self.close()

    def stop(self) -> None:
        """Makes :meth:`run` return (safe to call from a handler)."""
        if self._stop_event is not None:
            self._stop_event.set()

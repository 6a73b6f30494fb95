"""Blocking facade for scripts and notebooks: ``whatsapp_client.sync.WhatsAppClient`` has
the methods of the asynchronous client without ``await``.

Each client runs its own event loop on a background thread. Handlers may be plain
functions (they run on a worker thread, so they may call the client's blocking methods) or
coroutine functions (they run on the client's loop and must not block)::

    from whatsapp_client.sync import WhatsAppClient

    with WhatsAppClient(server_url="http://localhost:8080") as client:
        client.login("alice", "correct horse")

        @client.on_message
        def show(message):
            print(message.from_user, message.content)

        client.send_message(bob_id, "Hello!")
        client.run()          # until Ctrl-C, SIGTERM or client.stop()
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import signal
import threading
from collections.abc import Coroutine, Iterable
from types import TracebackType
from typing import Any, Callable, TypeVar

from whatsapp_client.client.client import WhatsAppClient as AsyncWhatsAppClient
from whatsapp_client.client.config import ClientConfig, build_config, load_config_file
from whatsapp_client.client.events import Handler
from whatsapp_client.client.models import ConnectionState, Message, PrekeyStatus, User
from whatsapp_client.client.sync_features import SyncFeaturesMixin
from whatsapp_client.client.sync_media import SyncMediaMixin

__all__ = ["WhatsAppClient"]

T = TypeVar("T")
H = TypeVar("H", bound=Handler)


def _threaded(handler: Handler) -> Handler:
    if inspect.iscoroutinefunction(handler):
        return handler

    @functools.wraps(handler)
    async def run_in_thread(*args: Any) -> Any:
        return await asyncio.to_thread(handler, *args)

    return run_in_thread


class WhatsAppClient(SyncFeaturesMixin, SyncMediaMixin):
    """The blocking client. Same options and methods as the asynchronous one."""

    def __init__(
        self,
        server_url: str | None = None,
        storage_path: str | None = None,
        *,
        config: ClientConfig | None = None,
        **options: Any,
    ) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="whatsapp-sync-loop", daemon=True
        )
        self._thread.start()
        self._stopped = threading.Event()
        self._closed = False

        async def make() -> AsyncWhatsAppClient:
            c = AsyncWhatsAppClient(server_url, storage_path, config=config, **options)
            c._events.wrap = _threaded
            return c

        try:
            self._client = self._call(make())
        except BaseException:
            self._shutdown_loop()
            raise

    @classmethod
    def from_config(cls, path: str, **overrides: Any) -> WhatsAppClient:
        return cls(config=build_config(base=load_config_file(path), overrides=overrides))

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._closed:
            coro.close()
            from whatsapp_client.errors import WhatsAppError

            raise WhatsAppError("this client is closed: create a new one", code="closed")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def _shutdown_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    # --- lifecycle -----------------------------------------------------------------------

    def __enter__(self) -> WhatsAppClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._closed:
            return
        try:
            self._call(self._client.close())
        finally:
            self._closed = True
            self._stopped.set()
            self._shutdown_loop()

    def register(self, username: str, password: str) -> User:
        return self._call(self._client.register(username, password))

    def login(self, username: str, password: str) -> User:
        return self._call(self._client.login(username, password))

    def logout(self) -> None:
        self._call(self._client.logout())

    def run(self) -> None:
        """Blocks until :meth:`stop`, Ctrl-C or SIGTERM, then closes the client."""
        previous: Any = None
        in_main = threading.current_thread() is threading.main_thread()
        if in_main:
            previous = signal.signal(signal.SIGTERM, lambda *_: self._stopped.set())
        try:
            while not self._stopped.wait(0.2):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            if in_main:
                signal.signal(signal.SIGTERM, previous)
            self.close()

    def stop(self) -> None:
        self._stopped.set()

    # --- properties ----------------------------------------------------------------------

    @property
    def config(self) -> ClientConfig:
        return self._client.config

    @property
    def user(self) -> User | None:
        return self._client.user

    @property
    def user_id(self) -> str | None:
        return self._client.user_id

    @property
    def connection_state(self) -> ConnectionState:
        return self._client.connection_state

    def is_connected(self) -> bool:
        return self._client.is_connected()

    @property
    def aio(self) -> AsyncWhatsAppClient:
        """The underlying asynchronous client (its methods run on this client's loop)."""
        return self._client

    # --- calls ---------------------------------------------------------------------------

    def get_fingerprint(self) -> str:
        return self._client.get_fingerprint()

    def get_prekey_status(self) -> PrekeyStatus:
        return self._call(self._client.get_prekey_status())

    def refresh_prekeys(self) -> None:
        self._call(self._client.refresh_prekeys())

    def request_key_refresh(self, peer_id: str) -> None:
        self._call(self._client.request_key_refresh(peer_id))

    def get_user(self, user_id: str) -> User:
        return self._call(self._client.get_user(user_id))

    def find_user(self, username: str) -> User:
        return self._call(self._client.find_user(username))

    get_user_by_username = find_user

    def send_message(self, to: str, content: str) -> Message:
        return self._call(self._client.send_message(to, content))

    def get_messages(
        self, peer_id: str, limit: int = 50, before: int | None = None
    ) -> list[Message]:
        return self._call(self._client.get_messages(peer_id, limit, before))

    def get_message(self, message_id: str) -> Message | None:
        return self._call(self._client.get_message(message_id))

    def pending_messages(self) -> int:
        return self._call(self._client.pending_messages())

    def mark_as_read(self, peer_id: str, message_ids: Iterable[str]) -> None:
        self._call(self._client.mark_as_read(peer_id, list(message_ids)))

    def connect(self) -> None:
        self._call(self._client.connect())

    def disconnect(self) -> None:
        self._call(self._client.disconnect())

    def wait_until_connected(self, timeout: float | None = None) -> bool:
        return self._call(self._client.wait_until_connected(timeout))

    def idle(self) -> None:
        self._call(self._client.idle())

    # --- events --------------------------------------------------------------------------

    def on_message(self, handler: H) -> H:
        return self._client.on_message(handler)

    def on_message_status(self, handler: H) -> H:
        return self._client.on_message_status(handler)

    def on_connection_change(self, handler: H) -> H:
        return self._client.on_connection_change(handler)

    def on_identity_change(self, handler: H) -> H:
        return self._client.on_identity_change(handler)

    def on_error(self, handler: H) -> H:
        return self._client.on_error(handler)

    def on(self, event: str) -> Callable[[H], H]:
        return self._client.on(event)

"""Sessions with peers: X3DH on first contact, explicit refresh, identity changes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import Any, Callable
from urllib.parse import quote

from whatsapp_client import errors
from whatsapp_client.client.config import ClientConfig
from whatsapp_client.client.http import HttpApi
from whatsapp_client.client.logging import get_logger
from whatsapp_client.client.store import StoreExecutor, StoreProtocol

__all__ = ["SessionManager", "validate_peer_id"]

log = get_logger("sessions")
DAY = 86400
_USED_KEY = "session_used:"


def validate_peer_id(peer_id: Any, what: str = "peer_id") -> str:
    if not isinstance(peer_id, str) or not peer_id.strip():
        raise errors.ValidationError(f"{what} must be a non-empty user id string, got {peer_id!r}")
    if len(peer_id) > 256 or any(c in peer_id for c in "\x00\r\n"):
        raise errors.ValidationError(f"{what} is not a valid user id: {peer_id[:40]!r}")
    return peer_id


class SessionManager:
    def __init__(
        self,
        *,
        http: HttpApi,
        executor: StoreExecutor,
        store: Callable[[], StoreProtocol],
        config: ClientConfig,
        on_identity_change: Callable[[str], Awaitable[None]],
    ) -> None:
        self._http = http
        self._exec = executor
        self._store = store
        self._config = config
        self._on_identity_change = on_identity_change
        self._locks: dict[str, asyncio.Lock] = {}
        self.known: set[str] = set()
        """Peers known to have a session (a cache in front of the store)."""

    def _lock(self, peer_id: str) -> asyncio.Lock:
        lock = self._locks.get(peer_id)
        if lock is None:
            lock = self._locks[peer_id] = asyncio.Lock()
        return lock

    async def fetch_bundle(self, peer_id: str) -> Any:
        from whatsapp_client._core import PreKeyBundle

        try:
            data = await self._http.request("GET", f"/api/users/{quote(peer_id, safe='')}/prekeys")
        except errors.SessionNotFoundError as exc:
            raise errors.SessionNotFoundError(
                f"user {peer_id!r} has no keys on the server, so no session can be started: "
                "the peer must log in once with a client first",
                code="no_session",
            ) from exc
        if not isinstance(data, dict):
            raise errors.ServerError("the prekey bundle is not a JSON object")
        try:
            return PreKeyBundle.from_dict(data)
        except errors.WhatsAppError:
            raise
        except (ValueError, TypeError, KeyError) as exc:
            raise errors.InvalidMessageError(
                f"the prekey bundle of {peer_id!r} is malformed"
            ) from exc

    async def has_session(self, peer_id: str) -> bool:
        if peer_id in self.known:
            return True
        store = self._store()
        ok = await self._exec.run(store.has_session, peer_id)
        if ok:
            self.known.add(peer_id)
        return ok

    async def ensure(self, peer_id: str) -> None:
        """A usable session with ``peer_id``: starts one with X3DH when there is none, or when
        the current one was not used for ``session_timeout_days``."""
        if peer_id in self.known:
            return
        async with self._lock(peer_id):
            store = self._store()

            def check() -> tuple[bool, bool]:
                has = store.has_session(peer_id)
                stale = False
                if has:
                    raw = store.kv_get(_USED_KEY + peer_id)
                    if raw:
                        used = int(raw.decode())
                        stale = time.time() - used > self._config.session_timeout_days * DAY
                    store.kv_set(_USED_KEY + peer_id, str(int(time.time())).encode())
                return has, stale

            has, stale = await self._exec.run(check)
            if has and not stale:
                self.known.add(peer_id)
                return
            if stale:
                log.info("the session with %s timed out; starting a fresh one", peer_id)
            await self._start(peer_id)

    async def refresh(self, peer_id: str) -> None:
        """Starts a fresh session with the peer's current bundle."""
        async with self._lock(peer_id):
            await self._start(peer_id)

    async def _start(self, peer_id: str) -> None:
        bundle = await self.fetch_bundle(peer_id)
        store = self._store()

        def start() -> bool:
            changed = bool(store.start_session(peer_id, bundle))
            store.kv_set(_USED_KEY + peer_id, str(int(time.time())).encode())
            return changed

        changed = await self._exec.run(start)
        self.known.add(peer_id)
        log.info("started a session with %s", peer_id)
        if changed:
            log.warning("the identity key of %s changed; its verified flag was cleared", peer_id)
            await self._on_identity_change(peer_id)

    def forget(self, peer_id: str) -> None:
        self.known.discard(peer_id)

    def clear(self) -> None:
        self.known.clear()

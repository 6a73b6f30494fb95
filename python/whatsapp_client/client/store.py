"""Access to the encrypted local store (``whatsapp_client._core.KeyStore``).

Every store call touches the disk, so it runs on one dedicated thread per client: that keeps
the event loop free and serialises the store's use.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import functools
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Callable, Protocol, TypeVar

from whatsapp_client import errors
from whatsapp_client.client.config import ClientConfig

__all__ = ["StoreExecutor", "StoreProtocol", "open_store"]

T = TypeVar("T")


class StoreProtocol(Protocol):
    """The part of ``KeyStore`` the client uses."""

    def close(self) -> None: ...
    def has_identity(self) -> bool: ...
    def create_identity(self) -> None: ...
    @property
    def identity_key(self) -> bytes: ...
    @property
    def signing_key(self) -> bytes: ...
    @property
    def fingerprint(self) -> str: ...
    def rotate_signed_prekey(self, now: int) -> Any: ...
    def expire_signed_prekeys(self, older_than: int) -> int: ...
    @property
    def signed_prekey(self) -> Any: ...
    def generate_one_time_prekeys(self, count: int) -> list[Any]: ...
    def keys_payload(self) -> dict[str, Any]: ...
    def has_session(self, peer_id: str) -> bool: ...
    def start_session(self, peer_id: str, bundle: Any) -> bool: ...
    def encrypt(self, peer_id: str, plaintext: bytes, message_id: str | None = None) -> str: ...
    def encrypt_many(
        self,
        peer_id: str,
        plaintexts: Sequence[bytes],
        message_ids: Sequence[str] | None = None,
    ) -> list[str]: ...
    def forget_sent(self, message_ids: Sequence[str]) -> None: ...
    def decrypt(self, peer_id: str, wire: str, message_id: str | None = None) -> Any: ...
    def decrypt_many(self, items: Sequence[tuple[str, str, str]]) -> list[Any]: ...
    def forget_received(self, message_ids: Sequence[str | tuple[str, str]]) -> None: ...
    def peer_identity(self, peer_id: str) -> Any: ...
    def set_verified(self, peer_id: str, verified: bool) -> None: ...
    def mark_verified(self, peer_id: str, fingerprint: str) -> bool: ...
    def kv_get(self, key: str) -> bytes | None: ...
    def kv_set(self, key: str, value: bytes) -> None: ...
    def save_message(self, message: Any) -> bool: ...
    def save_messages(
        self, messages: Sequence[Any], *, remove_from_outbox: Sequence[str] = ...
    ) -> list[Any]: ...
    def update_status(self, message_ids: Sequence[str], status: str) -> int: ...
    def get_message(
        self, message_id: str, peer_id: str | None = None, from_user: str | None = None
    ) -> Any: ...
    def messages(self, peer_id: str, limit: int = 50, before: int | None = None) -> list[Any]: ...
    def outbox_add(
        self, message_id: str, peer_id: str, payload: bytes, created_at: int
    ) -> None: ...
    def outbox_add_many(self, items: Sequence[tuple[str, str, bytes, int]]) -> None: ...
    def outbox(self) -> list[Any]: ...
    def outbox_remove(self, message_id: str) -> None: ...
    def outbox_remove_many(self, message_ids: Sequence[str]) -> None: ...


class StoreExecutor:
    """Runs blocking store calls on one dedicated thread."""

    def __init__(self, name: str) -> None:
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._closed = False

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if self._closed:
            raise errors.StorageError(
                "the local store is closed: log in again", code="store_closed"
            )
        loop = asyncio.get_running_loop()
        ctx = contextvars.copy_context()
        call = functools.partial(ctx.run, fn, *args, **kwargs)
        return await loop.run_in_executor(self._pool, call)

    def shutdown(self) -> None:
        self._closed = True
        self._pool.shutdown(wait=False)


def store_directory(config: ClientConfig, user_id: str) -> Path:
    """``<storage_path>/<user_id>``; the user id must be a safe single path component."""
    if (
        not user_id
        or "/" in user_id
        or "\\" in user_id
        or user_id in (".", "..")
        or "\x00" in user_id
    ):
        raise errors.ServerError(f"the server returned an unusable user id {user_id!r}")
    return config.storage_dir / user_id


def message_record(**fields: Any) -> Any:
    """A ``StoredMessage`` of the store with these fields."""
    from whatsapp_client._core import StoredMessage

    return StoredMessage(**fields)


def open_store(config: ClientConfig, user_id: str, password: str) -> StoreProtocol:
    """Opens (creating if needed) the account's encrypted store. Blocking: run off the loop."""
    from whatsapp_client import _core

    directory = store_directory(config, user_id)
    directory.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    store: StoreProtocol = _core.KeyStore.open(
        os.fspath(directory),
        password,
        durability=config.durability,
        create=True,
        kdf_memory_kib=config.kdf_memory_kib,
        kdf_iterations=config.kdf_iterations,
    )
    return store

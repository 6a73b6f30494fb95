"""Fixtures of the local store tests: small Argon2 parameters keep every open fast."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest

from whatsapp_client._core import KeyStore

FAST_KDF: dict[str, Any] = {"kdf_memory_kib": 64, "kdf_iterations": 1}
"""Argon2id at 64 KiB and one pass: only the test of the defaults pays for 64 MiB."""

PASSWORD = "correct horse battery staple"

OpenStore = Callable[..., KeyStore]


@pytest.fixture
def open_store(tmp_path: Path) -> Iterator[OpenStore]:
    """Opens stores under ``tmp_path`` by account name and closes them all afterwards."""
    opened: list[KeyStore] = []

    def _open(name: str = "me", password: str = PASSWORD, **kwargs: Any) -> KeyStore:
        options = {**FAST_KDF, **kwargs}
        store = KeyStore.open(str(tmp_path / name), password, **options)
        opened.append(store)
        return store

    yield _open
    for store in opened:
        store.close()


def new_identity(open_store: OpenStore, name: str, **kwargs: Any) -> KeyStore:
    """A store with an identity, a signed prekey and five one-time prekeys."""
    store = open_store(name, **kwargs)
    store.create_identity()
    store.rotate_signed_prekey(1_700_000_000)
    store.generate_one_time_prekeys(5)
    return store

"""The store's failures through the Python API: a wrong password changes nothing, a
password change, opening without create, a second process locked out, permissions
checked, and damaged files reported as corrupt, never reset."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from whatsapp_client._core import KeyStore
from whatsapp_client.errors import (
    NotFoundError,
    StorageAuthError,
    StorageCorruptError,
    StorageError,
    StoreLockedError,
    ValidationError,
)

from .conftest import FAST_KDF, PASSWORD, OpenStore, new_identity


def test_wrong_password_changes_nothing(open_store: OpenStore, tmp_path: Path) -> None:
    store = new_identity(open_store, "me")
    store.close()
    before = {p.name: p.read_bytes() for p in (tmp_path / "me").iterdir()}
    with pytest.raises(StorageAuthError):
        KeyStore.open(str(tmp_path / "me"), "wrong password", **FAST_KDF)
    assert {p.name: p.read_bytes() for p in (tmp_path / "me").iterdir()} == before


def test_change_password(open_store: OpenStore, tmp_path: Path) -> None:
    store = new_identity(open_store, "me")
    fingerprint = store.fingerprint
    with pytest.raises(StorageAuthError):
        store.change_password("not it", "new password")
    store.change_password(PASSWORD, "new password")
    store.close()
    with pytest.raises(StorageAuthError):
        open_store("me")
    assert open_store("me", password="new password").fingerprint == fingerprint


def test_open_without_create(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        KeyStore.open(str(tmp_path / "nobody"), PASSWORD, create=False, **FAST_KDF)
    with pytest.raises(ValidationError):
        KeyStore.open(str(tmp_path / "x"), PASSWORD, durability="sometimes", **FAST_KDF)


def test_a_second_process_is_locked_out(open_store: OpenStore, tmp_path: Path) -> None:
    open_store("me")
    with pytest.raises(StoreLockedError):
        KeyStore.open(str(tmp_path / "me"), PASSWORD, **FAST_KDF)
    code = (
        "import sys\n"
        "from whatsapp_client._core import KeyStore\n"
        "from whatsapp_client.errors import StoreLockedError\n"
        "try:\n"
        "    KeyStore.open(sys.argv[1], sys.argv[2], kdf_memory_kib=64, kdf_iterations=1)\n"
        "except StoreLockedError:\n"
        "    sys.exit(7)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "me"), PASSWORD], check=False, timeout=60
    )
    assert done.returncode == 7


def test_permissions_are_checked(open_store: OpenStore, tmp_path: Path) -> None:
    store = open_store("me")
    store.create_identity()
    root = tmp_path / "me"
    for name in ("keys.db-wal", "keys.db-shm", "messages.db-wal", "messages.db-shm", ".lock"):
        assert stat.S_IMODE((root / name).stat().st_mode) == 0o600, name
    store.close()
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert stat.S_IMODE((root / "keys.db").stat().st_mode) == 0o600
    assert stat.S_IMODE((root / "messages.db").stat().st_mode) == 0o600
    root.chmod(0o755)
    with pytest.raises(StorageError, match="chmod 700"):
        open_store("me")
    root.chmod(0o700)
    (root / "messages.db").chmod(0o644)
    with pytest.raises(StorageError, match="chmod 600"):
        open_store("me")


@pytest.mark.parametrize("damage", ["empty", "half", "header", "pages", "wal-garbage"])
def test_damaged_files_raise_corrupt_and_are_not_reset(
    open_store: OpenStore, tmp_path: Path, damage: str
) -> None:
    store = new_identity(open_store, "me")
    for i in range(100):
        store.kv_set(f"k{i}", bytes(500))
    store.close()
    path = tmp_path / "me" / "keys.db"
    data = bytearray(path.read_bytes())
    if damage == "empty":
        data = bytearray()
    elif damage == "half":
        del data[len(data) // 2 :]
    elif damage == "header":
        data[0:16] = bytes(16)
    elif damage == "pages":
        for i in range(4096, min(len(data), 4096 * 4)):
            data[i] ^= 0x5A
    path.write_bytes(bytes(data))
    if damage == "wal-garbage":
        # A torn WAL tail is normal after a crash; SQLite ignores frames whose checksum fails.
        (tmp_path / "me" / "keys.db-wal").write_bytes(os.urandom(10_000))
        (tmp_path / "me" / "keys.db-wal").chmod(0o600)
        again = open_store("me")
        assert again.kv_get("k1") == bytes(500)
        return
    with pytest.raises(StorageCorruptError):
        open_store("me")
    assert path.read_bytes() == bytes(data)

"""Issue 10 items 5 and 13: the Argon2 floor outside the test switch, and a forked child
neither uses its parent's store nor keeps it locked."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from whatsapp_client._core import KeyStore
from whatsapp_client.errors import StorageError, StoreLockedError

from .conftest import FAST_KDF, PASSWORD, OpenStore

_STRICT = """
import sys
from whatsapp_client._core import KeyStore
from whatsapp_client.errors import ValidationError
try:
    KeyStore.open(sys.argv[1], "pw", kdf_memory_kib=64, kdf_iterations=1)
except ValidationError as e:
    print("refused", e.code)
else:
    print("accepted")
"""


def test_weak_argon2_parameters_need_the_test_switch(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "WAC1_TEST_WEAK_KDF"}
    out = subprocess.run(
        [sys.executable, "-c", _STRICT, str(tmp_path / "s")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert out.stdout.split() == ["refused", "validation_error"], out.stderr


def _child(store: KeyStore, directory: str, to_parent: int, from_parent: int) -> int:
    """The forked child's steps; its exit status says which one failed (0: none)."""
    try:
        store.kv_set("k", b"v")
        return 1
    except StorageError as e:
        if e.code != "store_forked":
            return 2
    try:
        KeyStore.open(directory, PASSWORD, **FAST_KDF)
        return 3  # the parent still has it open
    except StoreLockedError:
        pass
    os.write(to_parent, b"1")
    os.read(from_parent, 1)  # the parent closed and reopened its store, then closed it
    own = KeyStore.open(directory, PASSWORD, **FAST_KDF)
    store.close()  # dropping the inherited handle must not release the child's own lock
    own.kv_set("child", b"wrote")
    os.write(to_parent, b"2")
    os.read(from_parent, 1)  # the parent checked that the child holds the lock
    own.close()
    return 0


# Windows has no fork(), so there is nothing to inherit there; CI (Linux) always runs it.
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_forked_child_neither_uses_nor_keeps_the_store(open_store: OpenStore) -> None:
    store = open_store("me")
    store.create_identity()
    directory = store.directory
    c2p_r, c2p_w = os.pipe()
    p2c_r, p2c_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        status = 9
        try:
            os.close(c2p_r)
            os.close(p2c_w)
            status = _child(store, directory, c2p_w, p2c_r)
        finally:
            os._exit(status)
    # Only the child writes to the parent: a child that stops early ends the reads (no hang).
    os.close(c2p_w)
    os.close(p2c_r)
    try:
        store.kv_set("parent", b"still works")
        assert os.read(c2p_r, 1) == b"1"
        store.close()
        # The child is alive and holds copies of every descriptor: the lock is free anyway.
        again = KeyStore.open(directory, PASSWORD, **FAST_KDF)
        assert again.kv_get("parent") == b"still works"
        again.close()
        os.write(p2c_w, b"x")
        assert os.read(c2p_r, 1) == b"2"
        with pytest.raises(StoreLockedError):
            KeyStore.open(directory, PASSWORD, **FAST_KDF)
        os.write(p2c_w, b"x")
    finally:
        os.close(p2c_w)  # a child still waiting reads the end of the pipe and finishes
        _, status = os.waitpid(pid, 0)
        os.close(c2p_r)
    assert os.waitstatus_to_exitcode(status) == 0
    final = KeyStore.open(directory, PASSWORD, **FAST_KDF)
    assert final.kv_get("child") == b"wrote"
    final.close()

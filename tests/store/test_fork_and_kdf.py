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


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_forked_child_neither_uses_nor_keeps_the_store(open_store: OpenStore) -> None:
    store = open_store("me")
    store.create_identity()
    directory = store.directory
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: must not use the parent's store, nor open it meanwhile
        status = 1
        try:
            os.close(write_fd)
            try:
                store.kv_set("k", b"v")
            except StorageError as e:
                status = 0 if e.code == "store_forked" else 2
            try:
                KeyStore.open(directory, PASSWORD, **FAST_KDF)
                status = 3
            except StoreLockedError:
                pass
            os.read(read_fd, 1)  # live on until the parent has reopened the store
        finally:
            os._exit(status)
    os.close(read_fd)
    try:
        store.kv_set("parent", b"still works")
        store.close()
        # The child is still alive, holding copies of every descriptor: the lock is free.
        again = KeyStore.open(directory, PASSWORD, **FAST_KDF)
        assert again.kv_get("parent") == b"still works"
        again.close()
    finally:
        os.write(write_fd, b"x")
        os.close(write_fd)
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0

"""A throwaway ``redis-server`` for the tests that need a real one (shared by tests/cloud
and tests/server; each conftest imports the fixtures from here).

The server gets a free port on 127.0.0.1, a temporary directory, no persistence
(``--save "" --appendonly no``), and is killed at the end of the session. Nothing is
skipped: without ``redis-server`` the fixture fails and says how to install it.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

_START_ATTEMPTS = 3
_READY_WITHIN = 15.0  # seconds for the server to answer PING; startup only, not a test


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_ready(proc: subprocess.Popen[bytes], port: int) -> bool:
    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)
    deadline = time.monotonic() + _READY_WITHIN
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return False  # exited: most likely the port was taken in between
            try:
                if client.ping():
                    return True
            except redis.ConnectionError:
                time.sleep(0.05)
        return False
    finally:
        client.close()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The url of a fresh redis-server, e.g. ``redis://127.0.0.1:40123/0``."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail(
            "redis-server is not installed: these tests need a real one "
            "(apt-get install redis-server, or brew install redis); scripts/test.sh installs it"
        )
    workdir: Path = tmp_path_factory.mktemp("redis")
    for _ in range(_START_ATTEMPTS):
        port = _free_port()
        log = (workdir / f"redis-{port}.log").open("wb")
        proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(workdir),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            if _wait_ready(proc, port):
                try:
                    yield f"redis://127.0.0.1:{port}/0"
                finally:
                    proc.kill()
                    proc.wait(timeout=10)
                    log.close()
                return
        except BaseException:
            proc.kill()
            proc.wait(timeout=10)
            log.close()
            raise
        proc.kill()
        proc.wait(timeout=10)
        log.close()
    pytest.fail(f"redis-server did not start; see the logs in {workdir}")


@pytest.fixture
def key_prefix() -> str:
    """A key prefix of its own per test, so tests sharing the server never see each other."""
    return f"test:{uuid.uuid4().hex}:"


class RedisProcess:
    """A redis-server of one test's own, to stop and start again on the same port."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed (apt-get install redis-server)")
        argv = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        argv += ["--appendonly", "no", "--dir", str(self.workdir)]
        self._proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        if not _wait_ready(self._proc, self.port):
            self.kill()
            pytest.fail(f"redis-server did not start on port {self.port}")

    def kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait(timeout=10)
            self._proc = None

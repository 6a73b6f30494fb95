"""The data directory and database are private (issue 10 item 9): 0700 / 0600, checked."""

from __future__ import annotations

import os
import pathlib
import stat
from collections.abc import Iterator

import aiohttp
import pytest

from tests.server.helpers import call, connect, message, register
from whatsapp_client.server.cli import main
from whatsapp_client.server.storage.files import InsecurePermissionsError
from whatsapp_client.server.testing import running_server


def _mode(path: pathlib.Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.usefixtures("umask_022")
async def test_a_new_data_directory_and_its_files_are_private(tmp_path: pathlib.Path) -> None:
    data = tmp_path / "data"
    async with running_server(str(data)) as server, aiohttp.ClientSession() as http:
        alice = await register(http, server.url)
        bob = await register(http, server.url)
        a = await connect(http, server.ws_url, alice)
        frame = message(bob.id, "stored")
        await a.send(frame)
        await a.expect("sent", id=frame["id"])
        status, _ = await call(http, "GET", f"{server.url}/api/messages/pending", bob)
        assert status == 200
        assert _mode(data) == 0o700
        files = sorted(p.name for p in data.iterdir() if p.is_file())
        assert "server.sqlite3" in files and "server.sqlite3-wal" in files
        for name in files:
            assert _mode(data / name) == 0o600, name
        await a.close()


@pytest.mark.parametrize("mode", [0o755, 0o750, 0o701])
async def test_an_open_data_directory_is_refused(tmp_path: pathlib.Path, mode: int) -> None:
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(mode)
    with pytest.raises(InsecurePermissionsError, match="chmod 700"):
        async with running_server(str(data)):
            pass
    assert not (data / "server.sqlite3").exists()


@pytest.mark.parametrize("name", ["server.sqlite3", "server.sqlite3-wal", "server.sqlite3-shm"])
async def test_an_open_database_file_is_refused(tmp_path: pathlib.Path, name: str) -> None:
    data = tmp_path / "data"
    async with running_server(str(data)):
        pass
    target = data / name
    target.touch()
    target.chmod(0o644)
    with pytest.raises(InsecurePermissionsError, match="chmod 600"):
        async with running_server(str(data)):
            pass


def test_serve_reports_an_open_data_directory(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o755)
    assert main(["--port", "0", "--data", str(data), "--log-level", "ERROR"]) == 1
    err = capsys.readouterr().err
    assert "other users can read it" in err and f"chmod 700 '{data}'" in err

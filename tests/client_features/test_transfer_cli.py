"""``whatsapp-client send-file`` and ``receive-files`` as a user runs them: real processes
against the real server, a file large enough to go as an attachment, progress bars, and the
SHA-256 of what arrived."""

from __future__ import annotations

import asyncio
import hashlib
import os
import sys
from pathlib import Path

from whatsapp_client.server.testing import ServerHandle


async def _cli(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "whatsapp_client",
        *args,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def _env(server: ServerHandle, store: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONASYNCIODEBUG"}
    env.update(
        WHATSAPP_SERVER_URL=server.url,
        WHATSAPP_STORAGE_PATH=str(store),
        WHATSAPP_PASSWORD="correct horse battery",
        WHATSAPP_KDF_MEMORY_KIB="64",
        WHATSAPP_KDF_ITERATIONS="1",
    )
    return env


async def test_a_file_sent_and_received_from_the_command_line(
    server: ServerHandle, tmp_path: Path
) -> None:
    env = _env(server, tmp_path / "stores")
    # bob exists before alice looks him up
    code, _, err = await _cli(
        env, "receive-files", "--username", "bob", "--register", "--wait", "0"
    )
    assert code == 0, err
    data = os.urandom(300_000)
    source = tmp_path / "report.bin"
    source.write_bytes(data)
    code, _, err = await _cli(
        env, "send-file", "--username", "alice", "--register", "bob", str(source)
    )
    assert code == 0, err
    assert "upload    [####################] 100%" in err
    assert "sent      " in err and "[sent]" in err
    into = tmp_path / "inbox"
    code, out, err = await _cli(
        env, "receive-files", "--username", "bob", "--into", str(into), "--count", "1"
    )
    assert code == 0, err
    assert "download  [####################] 100%" in err
    assert "receiving report.bin from alice (300000 bytes)" in err
    path_text, digest = out.strip().split("\t")
    assert Path(path_text).parent == into
    assert await asyncio.to_thread(Path(path_text).read_bytes) == data
    assert digest == "sha256:" + hashlib.sha256(data).hexdigest()


async def test_wrong_password_and_unknown_recipient_fail_cleanly(
    server: ServerHandle, tmp_path: Path
) -> None:
    env = _env(server, tmp_path / "stores")
    code, _, err = await _cli(
        env, "receive-files", "--username", "carol", "--register", "--wait", "0"
    )
    assert code == 0, err
    source = tmp_path / "note.txt"
    source.write_bytes(b"hello")
    code, _, err = await _cli(env, "send-file", "--username", "carol", "nobody_here", str(source))
    assert code == 1 and "whatsapp-client:" in err and "Traceback" not in err
    env["WHATSAPP_PASSWORD"] = "not the password"
    code, _, err = await _cli(env, "receive-files", "--username", "carol", "--wait", "0")
    assert code == 1 and "whatsapp-client:" in err and "Traceback" not in err

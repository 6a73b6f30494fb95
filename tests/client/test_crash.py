from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from tests.client.conftest import PASSWORD, ClientFactory, Registered, eventually, unique_name
from whatsapp_client.client import Message
from whatsapp_client.server.testing import ServerHandle

CHILD = str(Path(__file__).with_name("crash_child.py"))
ROOT = str(Path(__file__).resolve().parents[2])


async def spawn_child(*args: str) -> asyncio.subprocess.Process:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, env.get("PYTHONPATH", "")) if p)
    env.pop("PYTHONASYNCIODEBUG", None)
    return await asyncio.create_subprocess_exec(
        sys.executable, CHILD, *args, stdout=asyncio.subprocess.PIPE, env=env
    )


async def test_sigkill_mid_send_then_restart_loses_nothing(
    make_client: ClientFactory, registered: Registered, server: ServerHandle, tmp_path: Path
) -> None:
    bob = await registered("bob")
    assert bob.user_id
    got: list[Message] = []
    errors_seen: list[Exception] = []
    bob.on_message(got.append)
    bob.on_error(errors_seen.append)

    name = unique_name("crashy")
    storage = str(tmp_path / "crashy")
    setup = make_client(storage="crashy")
    await setup.register(name, PASSWORD)
    await setup.close()

    for _round in range(2):
        proc = await spawn_child("send", server.url, storage, name, PASSWORD, bob.user_id)
        assert proc.stdout is not None
        submitted = 0
        while submitted < 60:
            line = await asyncio.wait_for(proc.stdout.readline(), 30)
            assert line, "the child ended early"
            submitted += 1
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        assert proc.returncode == -signal.SIGKILL

    proc = await spawn_child("drain", server.url, storage, name, PASSWORD, bob.user_id)
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0
    lines = out.decode().splitlines()
    assert lines[-1] == "DONE"
    have = {line.split()[1] for line in lines if line.startswith("HAVE ")}
    assert have, "nothing was sent before the kill"
    await eventually(lambda: {m.id for m in got} >= have, timeout=20, what="peer gets all")
    await bob.idle()
    ids = [m.id for m in got]
    assert len(ids) == len(set(ids)), "a message reached the handler twice"
    assert set(ids) == have
    assert errors_seen == [], f"the peer failed to decrypt: {errors_seen}"
    contents = [m.content for m in got]
    assert all(c.startswith("crash #") for c in contents)

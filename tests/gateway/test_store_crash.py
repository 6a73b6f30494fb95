"""Crash safety of the gateway storage: a child process enqueueing sends is killed with
SIGKILL mid-stream, several times; no acknowledged write may be lost, and the queue and
history must agree (no half-written send) every time the storage is opened again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.gateway import _store_support as f
from whatsapp_client.gateway._models import MessageFilter
from whatsapp_client.gateway._sqlite import SqliteStorage
from whatsapp_client.gateway._vault import Vault

KEY = bytes(range(32))
CHILD = str(Path(__file__).with_name("_store_crash_child.py"))
KILLS = int(os.environ.get("WAC1_GATEWAY_CRASH_KILLS", "4"))
# Acknowledged writes to wait for before each kill (varied, so kills land at other points).
ACKS_BEFORE_KILL = (150, 37, 400, 1, 260, 90)


def _run_and_kill(data_dir: Path, session_id: str, acks: int) -> list[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, CHILD, str(data_dir), session_id, KEY.hex()],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    acked: list[str] = []
    try:
        assert proc.stdout.readline() == "ready\n"
        while len(acked) < acks:
            line = proc.stdout.readline()
            assert line.endswith("\n"), f"child ended early (exit {proc.poll()})"
            acked.append(line[:-1])
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        # Lines already printed were acknowledged before the kill; a cut-off one was not.
        rest = proc.stdout.read()
        proc.wait()
        proc.stdout.close()
    acked += [line for line in rest.split("\n")[:-1] if line]
    return acked


async def _check(data_dir: Path, session_id: str, acked: set[str]) -> None:
    storage = SqliteStorage(data_dir, Vault.from_key(KEY))
    await storage.open()
    try:
        history, cursor = [], None
        while True:
            page, cursor = await storage.list_messages(
                session_id, MessageFilter(), limit=1000, cursor=cursor
            )
            history += [m.id for m in page]
            if cursor is None:
                break
        stored = set(history)
        missing = acked - stored
        assert not missing, f"{len(missing)} acknowledged sends lost"
        # Every history row has its queue row and vice versa: depth counter included.
        assert await storage.queue_depth(session_id) == len(stored)
        head = await storage.next_queued(session_id)
        assert head is not None and head.message_id in stored
    finally:
        await storage.close()


async def test_kill_during_enqueues_loses_no_acknowledged_write(tmp_path: Path) -> None:
    storage = SqliteStorage(tmp_path, Vault.from_key(KEY))
    await storage.open()
    rec = f.session()
    await storage.create_session(rec, b"c", [])
    await storage.close()
    acked: set[str] = set()
    for round_ in range(KILLS):
        got = _run_and_kill(tmp_path, rec.id, ACKS_BEFORE_KILL[round_ % len(ACKS_BEFORE_KILL)])
        assert got, "the child acknowledged nothing"
        acked.update(got)
        await _check(tmp_path, rec.id, acked)

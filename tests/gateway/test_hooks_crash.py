"""kill -9 of a process delivering webhooks: after a restart every event arrives, in order
per endpoint; the only repeats are those in flight or not yet recorded (same webhook-id).
On SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Optional

import pytest
from aiohttp import web

from tests.gateway._hooks_crash_child import storage_of
from tests.gateway._hooks_support import make_event, receiver
from tests.gateway.test_hooks_storage import new_session
from tests.support import eventually
from whatsapp_client.gateway._ids import now_ms
from whatsapp_client.gateway._requests import WebhookSpec
from whatsapp_client.gateway._signing import generate_secret

CHILD = Path(__file__).with_name("_hooks_crash_child.py")
PYTHON_DIR = Path(__file__).resolve().parents[2] / "python"


@pytest.fixture(params=["sqlite", "postgres"])
async def database(request: pytest.FixtureRequest) -> Optional[str]:
    """None: SQLite in the data directory; else a fresh PostgreSQL database's DSN."""
    if request.param == "sqlite":
        return None
    dsn: str = request.getfixturevalue("pg_database")
    return dsn


async def _start_child(data_dir: Path, database: Optional[str]) -> asyncio.subprocess.Process:
    env = {**os.environ, "PYTHONPATH": str(PYTHON_DIR)}
    args = [str(data_dir)] + ([database] if database else [])
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(CHILD), *args, stdout=asyncio.subprocess.PIPE, env=env
    )
    assert proc.stdout is not None
    assert await asyncio.wait_for(proc.stdout.readline(), 60) == b"ready\n"
    return proc


def _first_seen(ids: list[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def _resumed_in_order(ids: list[str], want: list[str]) -> bool:
    """``ids`` is ``want[:cut]`` then ``want[k:]`` for some ``k <= cut``: nothing skipped,
    nothing reordered, and the only repeats are a run of the last events before the cut."""
    for cut in range(len(want) + 1):
        if ids[:cut] != want[:cut]:
            break
        k = len(want) - (len(ids) - cut)
        if 0 <= k <= cut and ids[cut:] == want[k:]:
            return True
    return False


async def test_kill_9_mid_delivery_loses_nothing_and_keeps_order(
    tmp_path: Path, database: Optional[str]
) -> None:
    secret = generate_secret()
    in_flight, gate = asyncio.Event(), asyncio.Event()
    seen = [0]

    async def hold_the_tenth(request: web.Request) -> web.StreamResponse:
        seen[0] += 1
        if seen[0] == 10:
            in_flight.set()
            await gate.wait()  # the process that sent it dies meanwhile
        return web.Response(status=204)

    async with receiver([secret]) as a, receiver([secret]) as b:
        a.answer = hold_the_tenth
        store = storage_of(tmp_path, database)
        await store.open()
        try:
            specs = [WebhookSpec(url=a.url, secret=secret), WebhookSpec(url=b.url, secret=secret)]
            session, _ = await new_session(store, specs)
            events = [make_event(session.id, n) for n in range(30)]
            for event in events:  # dated now: a failed try must not be past the 24 h age
                event.timestamp = now_ms()
            await store.add_events(events)
        finally:
            await store.close()

        child = await _start_child(tmp_path, database)
        try:
            await asyncio.wait_for(in_flight.wait(), 60)
            child.send_signal(signal.SIGKILL)
            await child.wait()
        finally:
            gate.set()
        child = await _start_child(tmp_path, database)
        try:
            want = [e.id for e in events]
            await eventually(
                lambda: _first_seen(a.ids()) == want and _first_seen(b.ids()) == want,
                timeout=60,
                what="every event at both endpoints after the restart",
            )
        finally:
            child.send_signal(signal.SIGKILL)
            await child.wait()
    # Endpoint a: the first ten came in order; after the restart delivery resumed from the
    # oldest event whose outcome was not yet committed (the held one, or one just before it
    # whose 2xx was still being recorded: outcomes are committed behind the next POST), and
    # went on in order with nothing skipped.
    assert a.ids()[:10] == want[:10]
    assert _resumed_in_order(a.ids(), want) and len(a.ids()) > len(want)
    # Endpoint b was cut at some point too, in the same way.
    assert _resumed_in_order(b.ids(), want)

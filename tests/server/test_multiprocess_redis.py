"""Two real server processes sharing one real redis-server: presence, typing, a SIGKILL.

Each process still has its own SQLite database (messages are shared only once the
PostgreSQL storage is in), so both start from a copy of one data directory: the same
accounts and tokens on both, and what crosses between them is the Redis fan-out alone.
Message relay across processes is tested with the PostgreSQL storage.
"""

from __future__ import annotations

import shutil
import signal
from pathlib import Path

import aiohttp

from tests.server.helpers import Account, connect, register
from tests.server.process import ServerProcess, server_process
from whatsapp_client.server.testing import running_server

TTL = "2"  # seconds of --redis-presence-ttl: a killed process's users go offline this fast


async def _accounts(data: Path, count: int) -> list[Account]:
    async with running_server(str(data)) as server, aiohttp.ClientSession() as http:
        return [await register(http, server.url) for _ in range(count)]


async def test_presence_and_typing_cross_processes_and_a_killed_process_goes_offline(
    tmp_path: Path, redis_server: str, key_prefix: str
) -> None:
    alice, bob, carol = await _accounts(tmp_path / "a", 3)
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    flags = ("--redis", redis_server, "--redis-presence-ttl", TTL)
    one_ctx = server_process(str(tmp_path / "a"), *flags)
    two_ctx = server_process(str(tmp_path / "b"), *flags)
    async with one_ctx as one, two_ctx as two, aiohttp.ClientSession() as http:
        await _scenario(one, two, http, alice, bob, carol)


async def _scenario(
    one: ServerProcess,
    two: ServerProcess,
    http: aiohttp.ClientSession,
    alice: Account,
    bob: Account,
    carol: Account,
) -> None:
    a = await connect(http, one.ws_url, alice)
    await a.send({"type": "subscribe_presence", "user_ids": [bob.id, carol.id]})
    assert (await a.expect("online", user_id=bob.id))["online"] is False
    assert (await a.expect("online", user_id=carol.id))["online"] is False

    # bob and carol connect to the other process: alice, on the first, sees them.
    b = await connect(http, two.ws_url, bob)
    assert (await a.expect("online", user_id=bob.id))["online"] is True
    c = await connect(http, two.ws_url, carol)
    assert (await a.expect("online", user_id=carol.id))["online"] is True

    # A second subscriber on the first process gets the current state at once.
    a2 = await connect(http, one.ws_url, alice)
    await a2.send({"type": "subscribe_presence", "user_ids": [bob.id]})
    assert (await a2.expect("online", user_id=bob.id))["online"] is True

    # Typing crosses in both directions, to every device of the recipient.
    await b.send({"type": "typing", "to": alice.id, "typing": True})
    for sock in (a, a2):
        assert await sock.expect("typing") == {
            "type": "typing",
            "from": bob.id,
            "typing": True,
        }
    await a.send({"type": "typing", "to": bob.id, "typing": False})
    assert (await b.expect("typing"))["from"] == alice.id

    # carol leaves cleanly: offline at once, with a last_seen.
    await c.close()
    gone = await a.expect("online", user_id=carol.id)
    assert gone["online"] is False
    assert isinstance(gone["last_seen"], int)

    # The second process dies without a word: bob goes offline within the TTL (the
    # wait is bounded by the helper's receive timeout, far above it).
    two.signal(signal.SIGKILL)
    assert await two.wait() == -signal.SIGKILL
    for sock in (a, a2):
        dropped = await sock.expect("online", user_id=bob.id)
        assert dropped["online"] is False
        assert isinstance(dropped["last_seen"], int)

    # bob reconnects to the surviving process and is online again for alice.
    b_again = await connect(http, one.ws_url, bob)
    assert (await a.expect("online", user_id=bob.id))["online"] is True
    await b_again.close()
    await a.close()
    await a2.close()

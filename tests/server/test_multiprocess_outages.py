"""Redis or PostgreSQL going away under a running server process, and coming back: what
the SDK's clients see and that no message is lost or duplicated (docs/scaling.md,
"Failure behaviour"). Each test has a Redis or a PostgreSQL of its own to stop."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from tests.pg_support import create_database, postgres_cluster
from tests.redis_support import RedisProcess
from tests.server.cluster_support import inbox, sdk_clients, shared_servers
from tests.support import eventually
from whatsapp_client import WhatsAppClient

# Generous: only there so that a server that never recovers fails instead of hanging.
RECOVERY = 60.0


async def _ready_status(url: str) -> int:
    async with aiohttp.ClientSession() as http, http.get(f"{url}/ready") as resp:
        return resp.status


async def test_redis_going_away_closes_sockets_and_nothing_is_lost(
    tmp_path: Path, pg_dsn: str
) -> None:
    redis = RedisProcess(tmp_path)
    redis.start()
    try:
        async with (
            shared_servers(tmp_path, pg_dsn, redis.url, count=1) as (one,),
            sdk_clients(tmp_path) as make,
        ):
            alice: WhatsAppClient = await make(one.url, "alice")
            bob: WhatsAppClient = await make(one.url, "bob")
            assert alice.user_id and bob.user_id
            at_bob = inbox(bob)
            drops: list[str] = []
            alice.on_connection_change(lambda up: None if up else drops.append("alice"))
            bob.on_connection_change(lambda up: None if up else drops.append("bob"))
            await alice.send_message(bob.user_id, "before")
            await eventually(lambda: len(at_bob) == 1, what="the first message")

            # Redis dies (restarted empty later): the process drops its sockets, since
            # frames published meanwhile could be missed.
            redis.kill()
            await eventually(lambda: {"alice", "bob"} <= set(drops), RECOVERY, what="drops")
            # Storage still answers: the process stays ready.
            assert await _ready_status(one.url) == 200
            # A message written now waits in alice's outbox (new sockets are refused
            # until Redis is back).
            during = await alice.send_message(bob.user_id, "during")
            assert during.status == "pending"
            assert not alice.is_connected()

            redis.start()
            await eventually(lambda: alice.is_connected() and bob.is_connected(), RECOVERY)
            await eventually(lambda: len(at_bob) == 2, RECOVERY, what="the queued message")
            after = await alice.send_message(bob.user_id, "after")
            assert after.status == "sent"
            await eventually(lambda: len(at_bob) == 3, what="a message after recovery")
            await bob.idle()
            assert [m.content for m in at_bob] == ["before", "during", "after"]
            # Presence was registered again in the empty Redis.
            await alice.subscribe_presence([bob.user_id])
            await eventually(lambda: alice.is_user_online(bob.user_id or ""), RECOVERY)
    finally:
        redis.kill()


async def test_postgresql_going_away_is_not_ready_and_nothing_is_lost(
    tmp_path: Path, redis_server: str
) -> None:
    with postgres_cluster() as cluster:
        dsn = await create_database(cluster)
        async with (
            shared_servers(tmp_path, dsn, redis_server, count=1) as (one,),
            sdk_clients(tmp_path) as make,
        ):
            alice: WhatsAppClient = await make(one.url, "alice")
            bob: WhatsAppClient = await make(one.url, "bob")
            assert alice.user_id and bob.user_id
            at_bob = inbox(bob)
            await alice.send_message(bob.user_id, "before")
            await eventually(lambda: len(at_bob) == 1, what="the first message")

            await asyncio.to_thread(cluster.stop)
            assert await _ready_status(one.url) == 503
            # Not stored, so not acknowledged: it stays in the outbox and is resent.
            during = await alice.send_message(bob.user_id, "during")
            assert during.status == "pending"

            await asyncio.to_thread(cluster.start)
            await eventually(lambda: len(at_bob) == 2, RECOVERY, what="the resent message")
            assert await _ready_status(one.url) == 200
            after = await alice.send_message(bob.user_id, "after")
            assert after.status == "sent"
            await eventually(lambda: len(at_bob) == 3, what="a message after recovery")
            await bob.idle()
            assert [m.content for m in at_bob] == ["before", "during", "after"]

"""A server process SIGKILLed in the middle of a flood: the clients, behind a load
balancer, reconnect to the other process and nothing is lost, duplicated or reordered.

Two real server processes share one PostgreSQL and one Redis; the SDK's clients reach them
through a TCP balancer that sends each new connection to the first backend that accepts.
alice and bob start on the first process, carol is connected to the second directly.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from tests.server.cluster_support import Factory, balancer, inbox, sdk_clients, shared_servers
from tests.support import eventually
from whatsapp_client import WhatsAppClient
from whatsapp_client.client import Message

FLOOD = 300  # messages per sender
BURST = 25  # sends started together: several are on the wire when the process dies
KILL_AFTER = 80  # bob has received this many of alice's messages when the first process dies
# Generous bounds, there only so that a broken reconnect fails instead of hanging.
SETTLE_SECONDS = 120.0


async def _flood(sender: WhatsAppClient, to: str, tag: str, acked: set[str]) -> list[Message]:
    """Sends ``FLOOD`` numbered messages in bursts, in order; returns them as queued.
    ``acked`` collects, as they come, the ids whose send returned acknowledged."""

    def note(task: asyncio.Future[Message]) -> None:
        if not task.cancelled() and task.exception() is None and task.result().status == "sent":
            acked.add(task.result().id)

    sent: list[Message] = []
    for start in range(0, FLOOD, BURST):
        # Sends started in one go enter the outbox in call order (the session exists).
        tasks = [
            asyncio.ensure_future(sender.send_message(to, f"{tag}{i}"))
            for i in range(start, min(start + BURST, FLOOD))
        ]
        for task in tasks:
            task.add_done_callback(note)
        sent.extend(await asyncio.gather(*tasks))
    return sent


def _from(got: list[Message], sender: WhatsAppClient) -> list[str]:
    return [m.content for m in got if m.from_user == sender.user_id]


async def test_a_killed_process_loses_nothing_through_the_balancer(
    tmp_path: Path, pg_dsn: str, redis_server: str
) -> None:
    async with (
        shared_servers(tmp_path, pg_dsn, redis_server) as (one, two),
        balancer([one.port, two.port]) as front,
        sdk_clients(tmp_path) as make,
    ):
        await _scenario(make, front.url, two.url, one.signal, one.wait)
        assert one.port in front.routed and two.port in front.routed


async def _scenario(
    make: Factory, front_url: str, direct_url: str, kill: object, died: object
) -> None:
    alice: WhatsAppClient = await make(front_url, "alice")
    bob: WhatsAppClient = await make(front_url, "bob")
    carol: WhatsAppClient = await make(direct_url, "carol")
    assert alice.user_id and bob.user_id and carol.user_id
    at_alice, at_bob = inbox(alice), inbox(bob)

    # Sessions first, so every later send goes straight into the outbox in call order.
    await alice.send_message(bob.user_id, "hi bob")
    await bob.send_message(alice.user_id, "hi alice")
    await carol.send_message(bob.user_id, "hi from carol")
    await eventually(lambda: len(at_bob) == 2 and len(at_alice) == 1, what="warm-up")

    acked = {"a": set[str](), "b": set[str](), "c": set[str]()}
    floods = [
        asyncio.ensure_future(_flood(alice, bob.user_id, "a", acked["a"])),
        asyncio.ensure_future(_flood(bob, alice.user_id, "b", acked["b"])),
        asyncio.ensure_future(_flood(carol, bob.user_id, "c", acked["c"])),
    ]

    # Mid-flood, the process holding alice's and bob's sockets dies without a word.
    await eventually(lambda: len(_from(at_bob, alice)) >= KILL_AFTER, SETTLE_SECONDS)
    assert callable(kill) and callable(died)
    kill(signal.SIGKILL)
    assert await died() == -signal.SIGKILL
    acked_at_kill = {tag: set(ids) for tag, ids in acked.items()}

    sent_a, sent_b, sent_c = await asyncio.gather(*floods)
    expect_a = ["hi bob"] + [m.content for m in sent_a]
    expect_b = ["hi alice"] + [m.content for m in sent_b]
    expect_c = ["hi from carol"] + [m.content for m in sent_c]

    def complete() -> bool:
        return (
            len(_from(at_bob, alice)) >= len(expect_a)
            and len(_from(at_alice, bob)) >= len(expect_b)
            and len(_from(at_bob, carol)) >= len(expect_c)
        )

    await eventually(complete, SETTLE_SECONDS, what="every message after the failover")
    for client in (alice, bob, carol):
        await client.idle()

    # Exactly once, in each sender's order, to the handlers: acknowledged or not.
    assert _from(at_bob, alice) == expect_a
    assert _from(at_alice, bob) == expect_b
    assert _from(at_bob, carol) == expect_c
    # The kill did land mid-flood: some sends were acknowledged before it and some not;
    # those were sent again by the outboxes, and every message is acknowledged now.
    for tag in ("a", "b"):
        assert 0 < len(acked_at_kill[tag]) < FLOOD
    everything = sent_a + sent_b + sent_c
    assert len(acked["a"]) < FLOOD or len(acked["b"]) < FLOOD  # some returned `pending`
    assert all(m.status in ("sent", "delivered", "read") for m in everything)

"""Against a server with a low message rate limit, the outbox paces itself: a burst beyond the
limit raises nothing (the refused messages are ``pending``, not errors), and every message
goes out on its own, once and in order, without another send or a reconnect."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from tests.support import (
    CLIENT_OPTIONS,
    SERVER_SETTINGS,
    Registered,
    client_factory,
    eventually,
    eventually_async,
    registering,
)
from whatsapp_client.client import Message, WhatsAppClient
from whatsapp_client.client.frames import ErrorFrame
from whatsapp_client.server.testing import ServerHandle, running_server

RATE = 5.0
BURST = 3


@pytest.fixture
async def slow_server(tmp_path: Path) -> AsyncIterator[ServerHandle]:
    asyncio.get_running_loop().set_debug(True)
    settings = {**SERVER_SETTINGS, "messages_per_second": RATE, "message_burst": BURST}
    async with running_server(data_dir=str(tmp_path / "server"), **settings) as srv:
        yield srv


@pytest.fixture
async def registered(slow_server: ServerHandle, tmp_path: Path) -> AsyncIterator[Registered]:
    async with client_factory(slow_server, tmp_path, CLIENT_OPTIONS) as make:
        yield registering(make)


def _count_refusals(client: WhatsAppClient) -> list[ErrorFrame]:
    """Records the ``rate_limited`` error frames the client receives (then handles them)."""
    refusals: list[ErrorFrame] = []
    handle = client._frame_handlers[ErrorFrame]

    async def spy(frame: ErrorFrame) -> None:
        if frame.code == "rate_limited":
            refusals.append(frame)
        await handle(frame)

    client._frame_handlers[ErrorFrame] = spy
    return refusals


def _outbox_empty(client: WhatsAppClient) -> Callable[[], Awaitable[bool]]:
    async def empty() -> bool:
        return await client.pending_messages() == 0

    return empty


async def _setup(registered: Registered) -> tuple[WhatsAppClient, WhatsAppClient, list[Message]]:
    alice = await registered("alice")
    bob = await registered("bob")
    assert alice.user_id and bob.user_id
    got: list[Message] = []
    bob.on_message(got.append)
    await alice.send_message(bob.user_id, "hello")  # the session exists before the burst
    await eventually(lambda: len(got) == 1)
    await asyncio.sleep(BURST / RATE)  # (not an assertion) the server's bucket refills
    return alice, bob, got


async def test_a_burst_beyond_the_limit_is_paced_not_refused(registered: Registered) -> None:
    alice, bob, got = await _setup(registered)
    assert bob.user_id
    refusals = _count_refusals(alice)
    connects = alice._conn.connects
    texts = [f"m{i}" for i in range(12)]
    sent = await asyncio.gather(*(alice.send_message(bob.user_id, t) for t in texts))
    assert all(m.status != "failed" for m in sent)
    await eventually(lambda: len(got) == 1 + len(texts), timeout=60, what="every message")
    await bob.idle()
    assert [m.content for m in got[1:]] == texts, "each message once, in order"
    await eventually(lambda: all(m.status != "pending" for m in sent), what="every 'sent'")
    await eventually_async(_outbox_empty(alice), what="the outbox emptied")
    assert alice._conn.connects == connects, "no reconnect was needed"
    assert refusals, "the burst did not reach the server's limit: the test proves nothing"


async def test_the_resend_after_a_reconnect_is_paced(registered: Registered) -> None:
    alice, bob, got = await _setup(registered)
    assert bob.user_id
    refusals = _count_refusals(alice)
    await alice.disconnect()
    texts = [f"q{i}" for i in range(12)]
    queued = [await alice.send_message(bob.user_id, t) for t in texts]
    assert all(m.status == "pending" for m in queued)
    await alice.connect()
    connects = alice._conn.connects
    await eventually(lambda: len(got) == 1 + len(texts), timeout=60, what="every message")
    await bob.idle()
    assert [m.content for m in got[1:]] == texts, "each message once, in order"
    await eventually(lambda: all(m.status != "pending" for m in queued), what="every 'sent'")
    await eventually_async(_outbox_empty(alice), what="the outbox emptied")
    assert alice._conn.connects == connects, "no reconnect was needed"
    assert refusals, "the resend did not reach the server's limit: the test proves nothing"


def test_the_pacer_learns_the_rate_from_the_servers_hints() -> None:
    from whatsapp_client.client.pacing import Pacer

    now = [100.0]
    pacer = Pacer(lambda: now[0])
    assert pacer.take(50), "unthrottled until the server refuses something"
    pacer.refused(0.2)  # a hint given with an empty bucket: the server refills 5 per second
    assert pacer.rate == pytest.approx(4.5)
    assert not pacer.take()
    assert pacer.delay() == pytest.approx(1 / 4.5)  # the hint, and a token at the paced rate
    now[0] += 1 / 4.5
    assert pacer.take()
    assert not pacer.take(), "room for one message at a time once limited"
    pacer.refused(0.05)  # a hint with the bucket nearly full implies a higher rate: ignored
    assert pacer.rate == pytest.approx(4.5)
    pacer.refused(None)  # no hint: a fixed pause
    assert pacer.delay() == pytest.approx(1.0)


@pytest.fixture
async def small_queue_clients(tmp_path: Path) -> AsyncIterator[Registered]:
    settings = {**SERVER_SETTINGS, "max_pending_per_recipient": 2}
    async with contextlib.AsyncExitStack() as stack:
        srv = await stack.enter_async_context(
            running_server(data_dir=str(tmp_path / "server"), **settings)
        )
        make = await stack.enter_async_context(client_factory(srv, tmp_path, CLIENT_OPTIONS))
        yield registering(make)


async def test_a_message_refused_for_a_full_queue_is_retried_not_failed(
    small_queue_clients: Registered,
) -> None:
    """The server refuses a message because the recipient's queue is full (a transient
    refusal): the caller gets it ``pending``, not an error and not ``failed``, and it goes
    out by itself once the recipient has drained the queue."""
    alice, bob, got = await _setup(small_queue_clients)
    assert bob.user_id
    await bob.disconnect()
    statuses: list[tuple[str, str]] = []
    alice.on_message_status(lambda mid, status: statuses.append((mid, status)))
    sent = [await alice.send_message(bob.user_id, f"f{i}") for i in range(3)]
    assert [m.status for m in sent[:2]] == ["sent", "sent"]
    assert sent[2].status == "pending"
    await bob.connect()
    await eventually(lambda: len(got) == 4, timeout=60, what="the refused message, later")
    assert [m.content for m in got[1:]] == ["f0", "f1", "f2"]
    assert not [s for s in statuses if s[1] == "failed"]

"""The wac1 engine across a stop or a crash: a message the gateway had not recorded comes
again, in its place, and one arriving while the session stops is not acknowledged."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.gateway._runtime_support import PASSWORD, Recorder, unique_name, wac1_factory
from tests.gateway._wac1_pair import Pair, open_pair, started
from tests.support import eventually, eventually_async
from whatsapp_client.gateway._engine import InboundMessage
from whatsapp_client.server.testing import ServerHandle


@pytest.fixture
async def pair(chat_server: ServerHandle, tmp_path: Path) -> AsyncIterator[Pair]:
    async with open_pair(chat_server, tmp_path) as p:
        yield p


class Stuck(Recorder):
    """A listener that never finishes recording a message: the gateway dies meanwhile."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = asyncio.Event()

    async def on_message(self, message: InboundMessage) -> None:
        self.entered.set()
        await asyncio.Event().wait()


async def _bob_stopped_before_recording(
    pair: Pair, text: str, message_id: str, *then: str
) -> Recorder:
    """Alice sends ``text`` to Bob, whose gateway stops while recording it; Alice sends
    ``then`` meanwhile; Bob's session starts again. Returns what Bob's listener receives."""
    a, _ = await started(pair, Recorder(), "alice")
    stuck = Stuck()
    name = unique_name("bob")
    factory = wac1_factory()
    config, creds = factory.validate(
        {"server_url": pair.server.url, "username": name, "password": PASSWORD, "register": True}
    )
    b = factory.build("ses_b", config, creds, pair.tmp / name, stuck, register=True)
    await b.start()
    await eventually(lambda: stuck.last_status == "connected", what="bob connected")
    assert b.user_id is not None
    await a.send_text(b.user_id, None, text, message_id=message_id)
    await asyncio.wait_for(stuck.entered.wait(), 10)
    await b.stop()  # the gateway stops before the message is recorded
    for n in then:
        await a.send_text(b.user_id, None, n, message_id=f"msg_{n}")
    rb = Recorder()
    again = factory.build("ses_b", config, creds, pair.tmp / name, rb, register=False)
    pair.engines.append(again)
    await again.start()
    return rb


async def test_a_message_not_recorded_before_a_crash_comes_again(pair: Pair) -> None:
    rb = await _bob_stopped_before_recording(pair, "do not lose me", "msg_keep")
    await eventually(lambda: len(rb.messages) == 1, what="the message comes again")
    assert (rb.messages[0].engine_message_id, rb.messages[0].text) == ("msg_keep", "do not lose me")


async def test_a_message_not_recorded_before_a_crash_keeps_its_place(pair: Pair) -> None:
    # The server delivers the unacknowledged message again together with the ones sent
    # while the session was down; the stored copy must be handed over first, in its place.
    rb = await _bob_stopped_before_recording(pair, "first", "msg_first", "second", "third")
    await eventually(lambda: len(rb.messages) == 3, what="all three")
    assert [m.text for m in rb.messages] == ["first", "second", "third"]


async def test_a_message_arriving_while_the_session_stops_is_not_acknowledged(
    pair: Pair,
) -> None:
    """Between the start of stop() (no listener call any more) and the socket's close, a
    message can still arrive. It must stay unacknowledged, so the server delivers it again
    after the restart; acknowledging it would lose it."""
    a, _ = await started(pair, Recorder(), "alice")
    rb = Recorder()
    name = unique_name("bob")
    factory = wac1_factory()
    config, creds = factory.validate(
        {"server_url": pair.server.url, "username": name, "password": PASSWORD, "register": True}
    )
    b = factory.build("ses_b", config, creds, pair.tmp / name, rb, register=True)
    await b.start()
    await eventually(lambda: rb.last_status == "connected", what="bob connected")
    assert b.user_id is not None
    client = b._client
    assert client is not None
    closing, release = asyncio.Event(), asyncio.Event()
    close_client = b._close_client

    async def held_close() -> None:
        closing.set()
        await release.wait()
        await close_client()

    b._close_client = held_close  # type: ignore[method-assign]
    stopping = asyncio.ensure_future(b.stop())
    await asyncio.wait_for(closing.wait(), 10)  # stop() began; the socket is still open
    await a.send_text(b.user_id, None, "in the gap", message_id="msg_gap")

    async def stored() -> bool:
        return await client.get_message("msg_gap") is not None

    await eventually_async(stored, what="bob's SDK has it")
    await client.idle()
    release.set()
    await stopping
    assert rb.messages == []
    again_rec = Recorder()
    again = factory.build("ses_b", config, creds, pair.tmp / name, again_rec, register=False)
    pair.engines.append(again)
    await again.start()
    await eventually(lambda: len(again_rec.messages) == 1, what="the message comes again")
    assert again_rec.messages[0].engine_message_id == "msg_gap"

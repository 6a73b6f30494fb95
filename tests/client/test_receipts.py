from __future__ import annotations

from tests.client.conftest import Registered, eventually
from whatsapp_client.client import Message
from whatsapp_client.client.frames import Read


async def test_delivered_and_read_receipts(registered: Registered) -> None:
    alice = await registered("alice")
    bob = await registered("bob")
    assert alice.user_id
    assert bob.user_id
    statuses: list[tuple[str, str]] = []
    alice.on_message_status(lambda mid, st: statuses.append((mid, st)))
    received: list[Message] = []

    @bob.on_message
    async def read_it(message: Message) -> None:
        received.append(message)
        await bob.mark_as_read(message.from_user, [message.id])

    sent = await alice.send_message(bob.user_id, "read me")
    assert sent.status == "sent"
    await eventually(lambda: (sent.id, "read") in statuses, what="read receipt")
    assert statuses.index((sent.id, "delivered")) < statuses.index((sent.id, "read"))
    # The Message object and the local history reflect the status.
    assert sent.status == "read"
    stored = await alice.get_message(sent.id)
    assert stored is not None
    assert stored.status == "read"
    mine = await bob.get_message(sent.id)
    assert mine is not None
    assert mine.status == "read"
    assert mine.direction == "in"


async def test_mark_as_read_in_frames_of_100(registered: Registered) -> None:
    alice = await registered("alice")
    bob = await registered("bob")
    assert alice.user_id
    assert bob.user_id
    n = 150
    got: list[Message] = []
    bob.on_message(got.append)
    read: set[str] = set()
    alice.on_message_status(lambda mid, st: read.add(mid) if st == "read" else None)
    for i in range(n):
        await alice.send_message(bob.user_id, f"#{i}")
    await eventually(lambda: len(got) == n, what="150 messages")
    frames: list[Read] = []
    real_send = bob._conn.send

    async def spy(frame: object) -> None:
        if isinstance(frame, Read):
            frames.append(frame)
        await real_send(frame)  # type: ignore[arg-type]

    bob._conn.send = spy  # type: ignore[method-assign]
    await bob.mark_as_read(alice.user_id, [m.id for m in got])
    assert [len(f.message_ids) for f in frames] == [100, 50]
    await eventually(lambda: len(read) == n, what="150 read receipts")
    history = await alice.get_messages(bob.user_id, limit=200)
    assert {m.status for m in history} == {"read"}


async def test_read_receipts_wait_for_the_connection(registered: Registered) -> None:
    alice = await registered("alice")
    bob = await registered("bob")
    assert alice.user_id
    assert bob.user_id
    got: list[Message] = []
    bob.on_message(got.append)
    read: list[str] = []
    alice.on_message_status(lambda mid, st: read.append(mid) if st == "read" else None)
    sent = await alice.send_message(bob.user_id, "x")
    await eventually(lambda: len(got) == 1)
    await bob.disconnect()
    await bob.mark_as_read(alice.user_id, [sent.id])
    assert read == []
    await bob.connect()
    await eventually(lambda: read == [sent.id], what="queued read receipt")

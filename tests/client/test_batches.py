"""The receive path processes a batch of frames with the store's batch calls: one
``decrypt_many`` for every incoming message, one ``save_messages`` for the history (with the
confirmed messages leaving the outbox), then the status updates; events keep arrival order."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.client.conftest import Registered, eventually
from whatsapp_client.client import Message
from whatsapp_client.client.frames import IncomingMessage, Sent, Status
from whatsapp_client.client.outbox import InFlight
from whatsapp_client.errors import DecryptionError, WhatsAppError


async def test_a_batch_with_good_bad_and_repeated_messages(registered: Registered) -> None:
    alice = await registered("alice")
    bob = await registered("bob")
    assert alice.user_id and bob.user_id
    got: list[Message] = []
    bob.on_message(got.append)
    errors_seen: list[Exception] = []
    bob.on_error(errors_seen.append)
    await alice.send_message(bob.user_id, "first")
    await eventually(lambda: len(got) == 1)

    store = alice._store()
    wires = [
        store.encrypt(bob.user_id, f'{{"type":"text","text":"n{i}"}}'.encode()) for i in range(3)
    ]

    def frame(mid: str, wire: str) -> IncomingMessage:
        return IncomingMessage(
            id=mid, from_=alice.user_id or "", to=bob.user_id or "", content=wire, timestamp=5
        )

    calls: list[str] = []
    bob_store = bob._store()

    class Counting:
        def __getattr__(self, name: str) -> Any:
            calls.append(name)
            return getattr(bob_store, name)

    bob._store_obj = Counting()
    try:
        await bob._ingest(
            [
                frame("b-0", wires[0]),
                frame("b-bad", 'E2EE:{"v":9}'),
                frame("b-1", wires[1]),
                frame("b-1", wires[1]),
                frame("b-2", wires[2]),
            ]
        )
    finally:
        bob._store_obj = bob_store
    await bob.idle()
    assert [m.content for m in got[1:]] == ["n0", "n1", "n2"], "each message once, in order"
    assert len(errors_seen) == 1 and isinstance(errors_seen[0], DecryptionError)
    assert calls.count("decrypt_many") == 1 and "decrypt" not in calls
    assert calls.count("save_messages") == 1 and "save_message" not in calls
    history = await bob.get_messages(alice.user_id, limit=10)
    assert sorted(m.id for m in history if m.id.startswith("b-")) == ["b-0", "b-1", "b-2"]


async def test_sent_and_status_in_one_batch(registered: Registered) -> None:
    alice = await registered("alice")
    bob = await registered("bob")
    assert alice.user_id and bob.user_id
    outbox = alice._outbox
    assert outbox is not None
    store = alice._store()
    ids = ["s-1", "s-2"]
    store.outbox_add_many([(mid, bob.user_id, b'{"type":"text","text":"hi"}', 1) for mid in ids])
    for mid in ids:
        outbox.inflight[mid] = InFlight(bob.user_id, b'{"type":"text","text":"hi"}', "text")
    statuses: list[tuple[str, str]] = []
    alice.on_message_status(lambda mid, status: statuses.append((mid, status)))
    await alice._ingest(
        [
            Sent(id="s-1", timestamp=10),
            Status(message_ids=["s-1"], status="delivered"),
            Sent(id="s-2", timestamp=11),
            Status(message_ids=["s-2"], status="delivered"),
            Status(message_ids=["s-1"], status="read"),
        ]
    )
    await alice.idle()
    first, second = await alice.get_message("s-1"), await alice.get_message("s-2")
    assert first is not None and first.status == "read"
    assert second is not None and second.status == "delivered"
    assert await alice.pending_messages() == 0
    assert statuses == [("s-1", "delivered"), ("s-2", "delivered"), ("s-1", "read")]


async def test_a_redelivered_message_already_in_the_history_is_not_handed_out_again(
    registered: Registered,
) -> None:
    alice = await registered("alice")
    bob = await registered("bob")
    assert alice.user_id and bob.user_id
    got: list[Message] = []
    bob.on_message(got.append)
    errors_seen: list[Exception] = []
    bob.on_error(errors_seen.append)
    await alice.send_message(bob.user_id, "first")
    await eventually(lambda: len(got) == 1)
    wire = alice._store().encrypt(bob.user_id, b'{"type":"text","text":"once"}', "r-1")
    frame = IncomingMessage(id="r-1", from_=alice.user_id, to=bob.user_id, content=wire)
    await bob._ingest([frame])
    await bob.idle()
    assert [m.content for m in got] == ["first", "once"]
    # As after a restart between the commits and the ack: the id is no longer in memory and
    # its stored decrypt result is still kept, so decrypt_many returns it again; the history
    # already has the message, so it is acknowledged without a second event.
    bob._seen.clear()
    bob._to_forget = []
    await bob._ingest([frame])
    # With the stored result forgotten, the wire is a replay: still no event, no error.
    bob._seen.clear()
    bob._store().forget_received(["r-1"])
    await bob._ingest([frame])
    await bob.idle()
    assert [m.content for m in got] == ["first", "once"]
    assert errors_seen == []


async def test_concurrent_sends_share_store_batches(registered: Registered) -> None:
    """A burst of concurrent ``send_message`` calls is persisted and encrypted in a few large
    batches, in call order: no caller waits for a turn of its own on the store (that convoy
    once cost one fsync per message)."""
    alice = await registered("alice")
    bob = await registered("bob")
    assert alice.user_id and bob.user_id
    got: list[Message] = []
    bob.on_message(got.append)
    await alice.send_message(bob.user_id, "hello")  # the session exists before the burst
    await eventually(lambda: len(got) == 1)

    calls: list[tuple[str, int]] = []
    alice_store = alice._store()

    class Counting:
        def __getattr__(self, name: str) -> Any:
            attr = getattr(alice_store, name)
            if name not in ("outbox_add_many", "encrypt_many"):
                return attr

            def counted(*args: Any) -> Any:
                calls.append((name, len(args[-1])))
                return attr(*args)

            return counted

    alice._store_obj = Counting()
    try:
        burst = 300
        sent = await asyncio.gather(
            *(alice.send_message(bob.user_id, f"burst {i}") for i in range(burst))
        )
    finally:
        alice._store_obj = alice_store
    assert all(m.status == "sent" for m in sent)
    adds = [n for name, n in calls if name == "outbox_add_many"]
    assert sum(adds) == burst
    assert len(adds) <= 3, f"{len(adds)} outbox batches for {burst} concurrent sends"
    assert sum(n for name, n in calls if name == "encrypt_many") == burst
    await eventually(lambda: len(got) == burst + 1)
    assert [m.content for m in got[1:]] == [f"burst {i}" for i in range(burst)]


async def test_closing_with_sends_in_flight_leaves_no_caller_waiting(
    registered: Registered,
) -> None:
    """Sends still being queued for the outbox when the client closes end with a clear error
    or their message, never a hang or a stray ``CancelledError``."""
    alice = await registered("alice")
    bob = await registered("bob")
    assert alice.user_id and bob.user_id
    await alice.send_message(bob.user_id, "hello")
    alice_store = alice._store()

    class Slow:
        """The outbox write takes long enough for close() to cancel the outbox task."""

        def __getattr__(self, name: str) -> Any:
            attr = getattr(alice_store, name)
            if name != "outbox_add_many":
                return attr

            def slow(*args: Any) -> Any:
                time.sleep(0.3)
                return attr(*args)

            return slow

    alice._store_obj = Slow()
    sends = [asyncio.ensure_future(alice.send_message(bob.user_id, f"late {i}")) for i in range(50)]
    await asyncio.sleep(0.05)  # the outbox task is inside the slow write
    await alice.close()
    done, pending = await asyncio.wait(sends, timeout=10)
    assert not pending, "a send_message call is still waiting after close()"
    for task in done:
        assert not task.cancelled(), "a caller that was not cancelled got CancelledError"
        exc = task.exception()
        assert exc is None or isinstance(exc, WhatsAppError), repr(exc)

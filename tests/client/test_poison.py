"""A poison message never stops the receive pipeline: whatever one message does to the store
or the payload parser, it is reported through ``on_error`` (with its id and sender), it is
acknowledged, and the messages after it are delivered. Received messages are told apart by
(sender, id), never by id alone."""

from __future__ import annotations

import json
from typing import Any

from tests.client.conftest import Registered, eventually, eventually_async
from whatsapp_client.client import Message, WhatsAppClient
from whatsapp_client.client.frames import OutgoingMessage
from whatsapp_client.errors import DecryptionError


async def _server_queue(client: WhatsAppClient) -> list[dict[str, Any]]:
    """The messages the server still holds for ``client`` (not yet acknowledged)."""
    data = await client._http.request("GET", "/api/messages/pending")
    return list(data["messages"])


async def _queue_is_empty(client: WhatsAppClient) -> bool:
    return await _server_queue(client) == []


def _inbox(client: WhatsAppClient) -> list[Message]:
    got: list[Message] = []
    client.on_message(got.append)
    return got


def _errors(client: WhatsAppClient) -> list[Exception]:
    seen: list[Exception] = []
    client.on_error(seen.append)
    return seen


async def _send_raw(sender: WhatsAppClient, to: str, mid: str, plaintext: bytes) -> None:
    """A correctly encrypted message with a chosen id, sent past the outbox."""
    wire = sender._store().encrypt(to, plaintext, mid)
    await sender._conn.send(OutgoingMessage(id=mid, to=to, content=wire))


async def test_a_store_failure_on_one_message_does_not_stop_the_others(
    registered: Registered,
) -> None:
    """The store call fails with an unexpected error (not a StorageError) for one message,
    in the batch call and on its own: the messages around it are still delivered, the poison
    is reported with its id and sender, and the server holds nothing afterwards."""
    alice = await registered("alice")
    bob = await registered("bob")
    assert alice.user_id and bob.user_id
    got = _inbox(bob)
    errs = _errors(bob)
    await alice.send_message(bob.user_id, "before")
    await eventually(lambda: [m.content for m in got] == ["before"])

    poison = "poison-" + alice.user_id
    real = bob._store()

    class Hostile:
        """The store, except that any decrypt_many holding the poison blows up."""

        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def decrypt_many(self, items: list[tuple[str, str, str]]) -> list[Any]:
            if any(mid == poison for _, _, mid in items):
                raise RuntimeError("simulated engine failure")
            return real.decrypt_many(items)

    bob._store_obj = Hostile()  # type: ignore[assignment]
    await bob.disconnect()
    # Queued on the server while bob is away, so the three arrive in one burst.
    await _send_raw(alice, bob.user_id, "good-1", b'{"type":"text","text":"one"}')
    await _send_raw(alice, bob.user_id, poison, b'{"type":"text","text":"poison"}')
    await _send_raw(alice, bob.user_id, "good-2", b'{"type":"text","text":"two"}')
    await eventually_async(lambda: _queue_has(bob, 3), what="three messages queued")
    await bob.connect()
    await eventually(lambda: len(got) == 3, what="the good messages")
    assert [m.content for m in got] == ["before", "one", "two"]
    await eventually(lambda: len(errs) == 1, what="the poison reported")
    assert isinstance(errs[0], DecryptionError)
    assert getattr(errs[0], "message_id", None) == poison
    assert getattr(errs[0], "sender", None) == alice.user_id
    assert "poison" not in str(errs[0]).replace(poison, "")  # no plaintext in the report
    await eventually_async(lambda: _queue_is_empty(bob), what="the server queue emptied")
    # A later message still flows (the pipeline is alive), and nothing is redelivered.
    await alice.send_message(bob.user_id, "after")
    await eventually(lambda: len(got) == 4)
    await bob.idle()
    assert [m.content for m in got] == ["before", "one", "two", "after"]
    assert len(errs) == 1


async def _queue_has(client: WhatsAppClient, n: int) -> bool:
    return len(await _server_queue(client)) >= n


async def test_a_deeply_nested_payload_does_not_stop_the_pipeline(registered: Registered) -> None:
    """A peer encrypts a JSON payload nested too deep for the parser: the message is not
    fatal to the receiver, and the next message arrives."""
    alice = await registered("alice")
    bob = await registered("bob")
    assert alice.user_id and bob.user_id
    got = _inbox(bob)
    await alice.send_message(bob.user_id, "hi")
    await eventually(lambda: len(got) == 1)
    deep = b"[" * 200_000 + b"]" * 200_000
    await _send_raw(alice, bob.user_id, "deep-" + alice.user_id, deep)
    await alice.send_message(bob.user_id, "still here")
    await eventually(lambda: "still here" in [m.content for m in got], what="next message")
    await eventually_async(lambda: _queue_is_empty(bob), what="the server queue emptied")


async def test_the_same_id_from_two_senders_is_not_a_duplicate(registered: Registered) -> None:
    """Mallory reuses the id of a message alice sent: it is not silently taken for a
    redelivery of alice's message. It is reported (or delivered) and acknowledged, and
    alice's message is delivered exactly once."""
    alice = await registered("alice")
    mallory = await registered("mallory")
    bob = await registered("bob")
    assert alice.user_id and mallory.user_id and bob.user_id
    got = _inbox(bob)
    errs = _errors(bob)
    shared = (await alice.send_message(bob.user_id, "A")).id
    await mallory.send_message(bob.user_id, "hello")  # mallory has a session with bob
    await eventually(lambda: len(got) == 2)
    await _send_raw(
        mallory, bob.user_id, shared, json.dumps({"type": "text", "text": "M"}).encode()
    )
    await mallory.send_message(bob.user_id, "fresh id")
    await eventually(lambda: len(got) >= 3, what="mallory's next message")
    await bob.idle()
    from_mallory = [m for m in got if m.from_user == mallory.user_id and m.id == shared]
    reported = [e for e in errs if getattr(e, "message_id", None) == shared]
    assert from_mallory or reported, "mallory's message was silently taken for a duplicate"
    for e in reported:
        assert getattr(e, "sender", None) == mallory.user_id
    assert [m.content for m in got if m.from_user == alice.user_id] == ["A"]
    await eventually_async(lambda: _queue_is_empty(bob), what="the server queue emptied")


async def test_a_frame_handler_failure_does_not_drop_the_connection(
    registered: Registered,
) -> None:
    """A group message whose processing fails with an unexpected error is reported; the
    connection stays up and later messages still arrive."""
    from whatsapp_client.client.frames import GroupMessageOut

    alice = await registered("alice")
    bob = await registered("bob")
    assert alice.user_id and bob.user_id
    got = _inbox(bob)
    errs = _errors(bob)
    group = await alice.create_group("poison", "", [bob.user_id])
    real = bob._store()
    poison = "gpoison-" + alice.user_id

    class Hostile:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def save_message(self, record: Any) -> bool:
            if record.id == poison:
                raise RuntimeError("simulated failure")
            return bool(real.save_message(record))

    bob._store_obj = Hostile()
    connects = bob._conn.connects
    await alice._conn.send(GroupMessageOut(id=poison, group_id=group.id, content="boom"))
    await alice.send_message(bob.user_id, "after the group message")
    await eventually(lambda: len(got) == 1, what="the direct message")
    await eventually(lambda: len(errs) == 1, what="the failure reported")
    assert bob._conn.connects == connects, "the connection was dropped"


async def test_a_poison_group_message_does_not_stop_the_catch_up(registered: Registered) -> None:
    """Group messages fetched after a connect are stored one by one: one that the store
    refuses does not keep the others out of the history."""
    alice = await registered("alice")
    bob = await registered("bob")
    assert alice.user_id and bob.user_id
    await bob.disconnect()
    # Sent before bob joins: he first sees them in the group's history after his connect.
    group = await alice.create_group("catch-up", "", [])
    for text in ("one", "boom", "two"):
        await alice.send_group_message(group.id, text)
    await alice.add_group_member(group.id, bob.user_id)
    real = bob._store()

    class Hostile:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def save_message(self, record: Any) -> bool:
            if b"boom" in bytes(record.content):
                raise RuntimeError("simulated failure")
            return bool(real.save_message(record))

    bob._store_obj = Hostile()
    await bob.connect()

    async def both_stored() -> bool:
        texts = [m.content for m in await bob.get_group_messages(group.id)]
        return sorted(texts) == ["one", "two"]

    await eventually_async(both_stored, what="the good group messages")


async def test_a_failing_frame_handler_is_reported_and_the_connection_stays(
    registered: Registered,
) -> None:
    """Whatever handler a frame reaches, its failure goes to on_error; the socket stays."""
    from whatsapp_client.client.frames import Typing

    alice = await registered("alice")
    bob = await registered("bob")
    assert alice.user_id and bob.user_id
    got = _inbox(bob)
    errs = _errors(bob)

    async def broken(frame: Typing) -> None:
        raise RuntimeError("simulated handler bug")

    bob._frame_handlers[Typing] = broken
    connects = bob._conn.connects
    await alice.send_typing(bob.user_id, True)
    await alice.send_message(bob.user_id, "after the typing frame")
    await eventually(lambda: len(got) == 1, what="the message after the broken frame")
    await eventually(lambda: len(errs) == 1, what="the failure reported")
    assert "Typing" in str(errs[0])
    assert bob._conn.connects == connects, "the connection was dropped"

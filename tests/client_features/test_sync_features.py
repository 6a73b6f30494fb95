"""The feature methods of the blocking client, against a server on its own thread."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

from whatsapp_client.client import Message
from whatsapp_client.server.testing import server_in_thread
from whatsapp_client.sync import WhatsAppClient

from .conftest import CLIENT_OPTIONS, PASSWORD, SERVER_SETTINGS, unique_name

PNG = b"\x89PNG\r\n\x1a\n" + bytes(40)


def test_blocking_features(tmp_path: Path) -> None:
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(server_in_thread(str(tmp_path / "server"), **SERVER_SETTINGS))
        opts = {"server_url": server.url, "storage_path": str(tmp_path / "s"), **CLIENT_OPTIONS}
        alice = stack.enter_context(WhatsAppClient(**opts))
        bob = stack.enter_context(WhatsAppClient(**opts))
        alice.register(unique_name("alice"), PASSWORD)
        bob.register(unique_name("bob"), PASSWORD)
        assert alice.user_id and bob.user_id
        got: list[Message] = []
        typing: list[tuple[str, bool]] = []
        group_msgs: list[Message] = []
        arrived = threading.Event()
        group_arrived = threading.Event()
        typed = threading.Event()

        @bob.on_message
        def on_message(message: Message) -> None:  # runs on a worker thread
            got.append(message)
            arrived.set()

        @bob.on_typing
        def on_typing(user_id: str, is_typing: bool) -> None:
            typing.append((user_id, is_typing))
            typed.set()

        @bob.on_group_message
        def on_group(message: Message) -> None:
            group_msgs.append(message)
            group_arrived.set()

        assert alice.send_typing(bob.user_id)
        assert typed.wait(10) and typing[0] == (alice.user_id, True)
        alice.send_image(bob.user_id, image_data=PNG, caption="pic")
        assert arrived.wait(10)
        assert got[0].type == "image" and bob.decode_image(got[0]) == PNG
        assert alice.safety_number(bob.user_id) == bob.safety_number(alice.user_id)
        alice.verify_fingerprint(bob.user_id, bob.get_fingerprint())
        assert alice.is_fingerprint_verified(bob.user_id)
        group = alice.create_group("Sync", member_ids=[bob.user_id])
        assert [g.id for g in bob.get_groups()] == [group.id]
        alice.send_group_message(group.id, "hello")
        assert group_arrived.wait(10) and group_msgs[0].content == "hello"
        assert len(alice.get_group_messages(group.id)) == 1

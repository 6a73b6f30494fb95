from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from tests.client.conftest import CLIENT_OPTIONS, PASSWORD, unique_name
from whatsapp_client.client import Message
from whatsapp_client.errors import ValidationError, WhatsAppError
from whatsapp_client.server.testing import ServerHandle
from whatsapp_client.sync import WhatsAppClient


def _blocking_session(url: str, storage: str) -> list[str]:
    got: list[str] = []
    done = threading.Event()
    with (
        WhatsAppClient(server_url=url, storage_path=storage, **CLIENT_OPTIONS) as alice,
        WhatsAppClient(url, storage, **CLIENT_OPTIONS) as bob,
    ):
        alice.register(unique_name("salice"), PASSWORD)
        user = bob.register(unique_name("sbob"), PASSWORD)
        assert bob.user == user
        assert bob.user_id == user.id
        assert bob.is_connected()
        assert str(bob.connection_state) == "connected"
        assert len(bob.get_fingerprint()) == 64
        assert bob.get_prekey_status().available == 100
        assert alice.find_user(user.username) == user
        assert alice.get_user(user.id) == user
        assert alice.config.server_url == url

        @bob.on_message
        def handle(message: Message) -> None:
            got.append(message.content)
            # a plain handler runs on a worker thread and may call blocking methods
            bob.mark_as_read(message.from_user, [message.id])
            if len(got) == 2:
                done.set()

        statuses: list[str] = []
        alice.on_message_status(lambda mid, st: statuses.append(st))
        m = alice.send_message(user.id, "blocking hello ☕")
        assert m.status == "sent"
        alice.send_message(user.id, "second")
        assert done.wait(10)
        bob.idle()
        assert [x.content for x in bob.get_messages(alice.user_id or "")] == [
            "second",
            "blocking hello ☕",
        ]
        msg = bob.get_message(m.id)
        assert msg is not None
        with pytest.raises(ValidationError):
            alice.send_message(user.id, "x" * 20000)
        alice.disconnect()
        assert not alice.is_connected()
        alice.connect()
        assert alice.wait_until_connected(5)
        alice.request_key_refresh(user.id)
        alice.refresh_prekeys()
        assert alice.pending_messages() == 0
        bob.logout()
        assert bob.user is None
    return got


async def test_blocking_facade(server: ServerHandle, tmp_path: Path) -> None:
    got = await asyncio.to_thread(_blocking_session, server.url, str(tmp_path / "s"))
    assert got == ["blocking hello ☕", "second"]


def test_closed_blocking_client_refuses_calls() -> None:
    c = WhatsAppClient(server_url="http://127.0.0.1:9", **CLIENT_OPTIONS)
    c.close()
    c.close()
    with pytest.raises(WhatsAppError, match="closed"):
        c.login("x", "y")


def test_run_returns_after_stop() -> None:
    c = WhatsAppClient(server_url="http://127.0.0.1:9", **CLIENT_OPTIONS)
    threading.Timer(0.1, c.stop).start()
    c.run()
    with pytest.raises(WhatsAppError):
        c.get_messages("x")


def test_bad_options_raise_in_the_constructor() -> None:
    with pytest.raises(ValidationError):
        WhatsAppClient(server_url="nope")

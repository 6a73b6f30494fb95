"""Refusing a tampered message without losing the session; a dropped connection (the server
stopped and started again on the same port) with nothing lost either way; the history and
the outbox kept across a reload."""

from __future__ import annotations

import re

from playwright.sync_api import WebSocketRoute, expect

from tests.webchat._app import WAIT_MS, OpenUser, Served
from tests.webchat._peer import RawPeer, tampered


def test_a_tampered_message_is_refused_and_the_session_still_works(
    served: Served, web_users: OpenUser
) -> None:
    ann = web_users("ann").register()
    peer = RawPeer(served.url, served.loop, "rawpeer")
    ann_id = peer.user_id_of("ann")
    peer.send(ann_id, peer.encrypt(ann_id, "first"))
    ann.open("rawpeer")
    ann.expect_message("first")

    peer.send(ann_id, tampered(peer.encrypt(ann_id, "never shown")))
    refused = ann.messages().filter(has_text="could not be decrypted")
    expect(refused).to_have_count(1, timeout=WAIT_MS)
    expect(refused).to_contain_text("decryption_failed")
    expect(ann.message("never shown")).to_have_count(0)

    peer.send(ann_id, peer.encrypt(ann_id, "third"))
    ann.expect_message("third")
    ann.send("reply after the tampering")
    # The peer is not connected: stored by the server (✓), then delivered (✓✓) once it
    # fetches and acknowledges it.
    ann.expect_status("reply after the tampering", "sent")
    assert peer.receive_texts(1) == ["reply after the tampering"]
    ann.expect_status("reply after the tampering", "delivered")
    expect(ann.messages()).to_have_count(4)


def test_nothing_is_lost_across_a_dropped_connection_and_a_reload(
    served: Served, web_users: OpenUser
) -> None:
    bot = served.bot("pybot")
    ann = web_users("ann").register()
    ann.find("pybot")
    ann.send("before the drop")
    bot.wait_for("the first message", lambda: len(bot.inbox) == 1)
    ann_id = bot.inbox[0].from_user

    served.stop()
    expect(ann.page.locator("body")).to_have_attribute(
        "data-connection", "offline", timeout=WAIT_MS
    )
    ann.send("written offline 1")
    ann.send("written offline 2")
    for text in ("written offline 1", "written offline 2"):
        ann.expect_status(text, "pending")

    # The server is back, but the page's WebSocket stays cut (closed by the browser) while it
    # is reloaded: the session, the history and the outbox come from the sealed store.
    cut = [True]

    def websocket(ws: WebSocketRoute) -> None:
        if cut[0]:
            ws.close()
        else:
            ws.connect_to_server()

    ann.context.route_web_socket(re.compile(r"/ws$"), websocket)
    served.start()
    ann.page.reload()
    ann.open("pybot")
    for text in ("before the drop", "written offline 1", "written offline 2"):
        ann.expect_message(text)
    ann.expect_status("written offline 2", "pending")
    assert len(bot.inbox) == 1

    cut[0] = False  # the next reconnection attempt goes through
    ann.wait_connected()
    bot.wait_for("the outbox", lambda: len(bot.inbox) == 3)
    assert [m.content for m in bot.inbox] == [
        "before the drop",
        "written offline 1",
        "written offline 2",
    ]
    ann.expect_status("written offline 2", "delivered")

    bot.run(bot.client.send_message(ann_id, "welcome back"))
    ann.expect_message("welcome back")
    ann.page.reload()
    ann.open("pybot")
    texts = ["before the drop", "written offline 1", "written offline 2", "welcome back"]
    expect(ann.messages()).to_have_count(4, timeout=WAIT_MS)
    for index, text in enumerate(texts):
        expect(ann.messages().nth(index)).to_contain_text(text)

"""Sending from the session page: a text typed in the `Send` tab reaches a second session;
the sender's `Messages` log shows it delivered and the receiver's shows it received, and
their `Overview` counters count it."""

from __future__ import annotations

import re

from playwright.sync_api import FilePayload, Page, expect

from tests.dashboard import _ui as ui
from tests.dashboard._api import Api, unique_name
from tests.dashboard._harness import ADMIN_EMAIL, Stack


def test_a_message_sent_from_the_form_is_delivered_and_received(
    page: Page, stack: Stack, admin: Api
) -> None:
    alice = admin.create_session(stack.chat_url, name=unique_name("alice"))
    bob = admin.create_session(stack.chat_url, name=unique_name("bob"))
    admin.wait_status(alice["id"], "connected")
    admin.wait_status(bob["id"], "connected")
    text = f"hello from the dashboard {unique_name('msg')}"

    ui.login(page, stack.url, ADMIN_EMAIL, stack.admin_password)
    ui.open_session(page, stack.url, alice["id"])
    panel = ui.open_tab(page, "Send")
    panel.get_by_label("To", exact=True).fill(bob["name"])
    panel.get_by_label("Text", exact=True).fill(text)
    ui.button(panel, "Send").click()

    log = ui.open_tab(page, "Messages")
    # Alice's log holds this one message, and it turns delivered (the status word is shown).
    expect(ui.data_rows(log)).to_have_count(1)
    expect(ui.data_rows(log).filter(has_text=text).filter(has_text="delivered")).to_have_count(1)

    overview = ui.open_tab(page, "Overview")
    expect(overview).to_contain_text(re.compile(r"\bSent\s+1\b"), use_inner_text=True)

    ui.open_session(page, stack.url, bob["id"])
    inbox = ui.open_tab(page, "Messages")
    expect(ui.data_rows(inbox)).to_have_count(1)
    expect(ui.data_rows(inbox).filter(has_text=text).filter(has_text="received")).to_have_count(1)
    overview = ui.open_tab(page, "Overview")
    expect(overview).to_contain_text(re.compile(r"\bReceived\s+1\b"), use_inner_text=True)

    # The gateway agrees: one outbound message delivered, the same text received by bob.
    outbound = [m for m in admin.messages(alice["id"]) if m["direction"] == "outbound"]
    assert [(m["text"], m["status"]) for m in outbound] == [(text, "delivered")]
    inbound = [m for m in admin.messages(bob["id"]) if m["direction"] == "inbound"]
    assert [m["text"] for m in inbound] == [text]


def test_a_file_sent_from_the_form_arrives_with_its_caption(
    page: Page, stack: Stack, admin: Api
) -> None:
    alice = admin.create_session(stack.chat_url, name=unique_name("alice"))
    bob = admin.create_session(stack.chat_url, name=unique_name("bob"))
    admin.wait_status(alice["id"], "connected")
    admin.wait_status(bob["id"], "connected")
    caption = f"the report {unique_name('file')}"
    content = b"quarterly figures\n" * 100

    ui.login(page, stack.url, ADMIN_EMAIL, stack.admin_password)
    ui.open_session(page, stack.url, alice["id"])
    panel = ui.open_tab(page, "Send")
    panel.get_by_label("To", exact=True).fill(bob["name"])
    panel.get_by_label("Text", exact=True).fill(caption)
    report: FilePayload = {"name": "report.txt", "mimeType": "text/plain", "buffer": content}
    panel.get_by_label("File", exact=True).set_input_files(files=report)
    ui.button(panel, "Send").click()

    log = ui.open_tab(page, "Messages")
    expect(ui.data_rows(log).filter(has_text=caption).filter(has_text="delivered")).to_have_count(1)
    ui.open_session(page, stack.url, bob["id"])
    inbox = ui.open_tab(page, "Messages")
    expect(ui.data_rows(inbox).filter(has_text=caption).filter(has_text="received")).to_have_count(
        1
    )

    inbound = [m for m in admin.messages(bob["id"]) if m["direction"] == "inbound"]
    assert [(m["type"], m["caption"]) for m in inbound] == [("document", caption)]
    media = inbound[0]["media"]
    assert media is not None
    assert media["filename"] == "report.txt"
    got = admin.http.get(
        media["url"] if media["url"].startswith("http") else stack.url + media["url"]
    )
    assert got.status_code == 200
    assert got.content == content

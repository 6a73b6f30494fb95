"""Two browser users: a conversation both ways with receipts, the same safety number on both
sides (and the QR code of each fingerprint decodes to it), verification, the warning after
an identity change, and a group."""

from __future__ import annotations

import re
from io import BytesIO

import zxingcpp
from PIL import Image
from playwright.sync_api import expect

from tests.webchat._app import WAIT_MS, OpenUser, Served, WebUser

SAFETY_NUMBER = re.compile(r"^\d{5}( \d{5}){11}$")


def decode_qr(user: WebUser) -> str:
    expect(user.page.locator("#safety-number")).to_have_text(SAFETY_NUMBER, timeout=WAIT_MS)
    shot = user.page.locator("#safety-qr svg").screenshot()
    found = zxingcpp.read_barcodes(Image.open(BytesIO(shot)))
    assert len(found) == 1, f"{len(found)} codes in the picture"
    assert found[0].format == zxingcpp.BarcodeFormat.QRCode
    return str(found[0].text)


def test_two_browsers_chat_and_agree_on_the_safety_number(
    served: Served, web_users: OpenUser
) -> None:
    ann = web_users("ann").register()
    bob = web_users("bob").register()
    ann.find("bob")
    ann.send("Hi Bob ✨")
    bob.open("ann")
    bob.expect_message("Hi Bob ✨")
    # Ann became a contact by writing first: Bob sees her presence too.
    expect(bob.page.locator("#peer-status")).to_have_text("online", timeout=WAIT_MS)
    ann.expect_status("Hi Bob ✨", "read")  # bob has the conversation open
    bob.send("Hello Ann 🙂")
    ann.expect_message("Hello Ann 🙂")
    bob.expect_status("Hello Ann 🙂", "read")
    for user in (ann, bob):
        expect(user.messages()).to_have_count(2)

    number = ann.safety_number()
    assert number == bob.safety_number() and len(number) == 60

    # The QR code is drawn in the page; a real decoder reads the fingerprint back.
    ann.page.get_by_role("button", name="Safety number").click()
    payload = decode_qr(ann)
    fingerprint = ann.page.locator("#my-fingerprint").inner_text()
    assert payload.startswith("WAC1-FP:") and payload.endswith(":" + fingerprint)
    # Bob's dialog shows ann's fingerprint as "theirs": the one in ann's QR code.
    bob.page.get_by_role("button", name="Safety number").click()
    expect(bob.page.locator("#their-fingerprint")).to_have_text(fingerprint)
    bob.page.get_by_role("button", name="Mark as verified").click()
    expect(bob.page.locator("#verified-state")).to_have_text("✔ Verified", timeout=WAIT_MS)
    bob.page.get_by_role("button", name="Close").click()


def test_identity_change_warns_and_clears_verification(served: Served, web_users: OpenUser) -> None:
    ann = web_users("ann").register()
    bob = web_users("bob").register()
    ann.find("bob")
    ann.send("before")
    bob.open("ann")
    bob.expect_message("before")
    bob.page.get_by_role("button", name="Safety number").click()
    bob.page.get_by_role("button", name="Mark as verified").click()
    expect(bob.page.locator("#verified-state")).to_have_text("✔ Verified", timeout=WAIT_MS)
    bob.page.get_by_role("button", name="Close").click()
    warning = bob.page.get_by_role("alert").filter(has_text="security keys have changed")
    expect(warning).to_have_count(0)

    # Ann signs in from another browser: new keys, the same account.
    again = web_users("ann").login()
    again.find("bob")
    again.send("from my new browser")
    bob.expect_message("from my new browser")
    expect(warning).to_be_visible(timeout=WAIT_MS)
    bob.page.get_by_role("button", name="Safety number").click()
    expect(bob.page.locator("#verified-state")).to_have_text("Not verified", timeout=WAIT_MS)


def test_a_group_conversation(served: Served, web_users: OpenUser) -> None:
    ann = web_users("ann").register()
    bob = web_users("bob").register()
    ann.page.get_by_text("New group").click()
    ann.page.get_by_label("Group name").fill("hikers")
    ann.page.get_by_label("Members").fill("bob")
    ann.page.get_by_role("button", name="Create group").click()
    expect(ann.page.locator("#peer-name")).to_have_text("hikers", timeout=WAIT_MS)
    ann.send("Saturday at 9? 🥾")
    ann.expect_message("Saturday at 9? 🥾")
    bob.open("# hikers", title="hikers")
    item = bob.expect_message("Saturday at 9? 🥾")
    expect(item.locator(".who")).to_have_text("ann")
    bob.send("Count me in")
    ann.expect_message("Count me in")

    # Bob closes the app; what the group says meanwhile comes from its history when he is back.
    bob.page.close()
    ann.send("Bring water 💧")
    # Stored by the server (its `sent` answer) before Bob comes back.
    expect(ann.message("Bring water 💧")).to_have_attribute("data-status", "sent", timeout=WAIT_MS)
    bob.page = bob.context.new_page()
    bob.page.goto(f"{served.url}/app/")
    bob.wait_connected()
    bob.open("# hikers", title="hikers")
    bob.expect_message("Bring water 💧")
    expect(bob.messages()).to_have_count(3)

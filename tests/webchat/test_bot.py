"""A browser user and a Python bot (the SDK) hold a conversation both ways: text with emoji,
an inline image, an attachment above the inline limit, receipts (sent, delivered, read),
typing, and the same safety number on both sides."""

from __future__ import annotations

import os
import re
from pathlib import Path

from playwright.sync_api import expect

from tests.webchat._app import WAIT_MS, OpenUser, Served

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c63f8cfc0f01f0005000201e2a0a2b90000000049454e44ae426082"
)


def test_browser_and_bot_talk_both_ways(served: Served, web_users: OpenUser) -> None:
    bot = served.bot("pybot")
    ann = web_users("ann").register()
    ann.find("pybot")
    ann.send("Hello bot 👋")
    ann.expect_message("Hello bot 👋")
    bot.wait_for("the first message", lambda: len(bot.inbox) == 1)
    first = bot.inbox[0]
    assert first.content == "Hello bot 👋" and first.type == "text"
    # The bot stored it (ack → delivered) and reads it (read receipt).
    ann.expect_status("Hello bot 👋", "delivered")
    bot.run(bot.client.mark_as_read(first.from_user, [first.id]))
    ann.expect_status("Hello bot 👋", "read")

    reply = bot.run(bot.client.send_message(first.from_user, "Hi ann 😀"))
    ann.expect_message("Hi ann 😀")
    bot.wait_for("the read receipt", lambda: (reply.id, "read") in bot.statuses)

    bot.run(bot.client.send_typing(first.from_user, True))
    expect(ann.page.locator("#peer-status")).to_have_text("typing…", timeout=WAIT_MS)
    bot.run(bot.client.send_typing(first.from_user, False))
    expect(ann.page.locator("#peer-status")).to_have_text("online", timeout=WAIT_MS)

    # An inline image from the browser, and a 300 kB file that travels as an attachment.
    ann.attach("dot.png", "image/png", PNG)
    bot.wait_for("the image", lambda: len(bot.inbox) == 2)
    image = bot.inbox[1]
    assert image.type == "image" and image.mime == "image/png" and image.data == PNG
    big = os.urandom(300_000)
    ann.attach("data.bin", "application/octet-stream", big)
    bot.wait_for("the attachment", lambda: len(bot.inbox) == 3)
    attachment = bot.inbox[2]
    assert attachment.type == "file" and attachment.is_attachment
    assert attachment.filename == "data.bin"
    assert bot.run(bot.client.download(attachment)) == big

    # The bot sends an attachment back; the browser opens it (digest and chunks checked).
    back = os.urandom(200_000)
    bot.run(bot.client.send_file(first.from_user, data=back, filename="back.bin"))
    item = ann.expect_message("back.bin")
    with ann.page.expect_download(timeout=WAIT_MS) as download:
        item.get_by_role("button", name="Save back.bin").click()
    path = download.value.path()
    assert Path(path).read_bytes() == back

    bot.run(bot.client.send_image(first.from_user, image_data=PNG, caption="a dot"))
    image_item = ann.expect_message("a dot")
    expect(image_item.get_by_role("img", name="a dot")).to_have_attribute(
        "src", re.compile("^blob:"), timeout=WAIT_MS
    )

    # Both sides compute the same safety number.
    assert ann.safety_number() == bot.run(bot.client.safety_number(first.from_user))

    # The bot goes away: presence turns to "last seen".
    bot.run(bot.client.close())
    expect(ann.page.locator("#peer-status")).to_contain_text("last seen", timeout=WAIT_MS)

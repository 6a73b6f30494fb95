"""Each example bot, run as a process against the real server and driven by a client."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
from pathlib import Path
from typing import Callable

from tests.client_features.conftest import Registered, eventually
from whatsapp_client import WhatsAppClient
from whatsapp_client.client import Message
from whatsapp_client.server.testing import ServerHandle

from .conftest import run_example


def inbox(client: WhatsAppClient) -> list[Message]:
    got: list[Message] = []
    client.on_message(got.append)
    return got


async def test_echo_bot(server: ServerHandle, registered: Registered, tmp_path: Path) -> None:
    async with run_example("echo_bot.py", server.url, tmp_path) as bot_id:
        alice = await registered("alice")
        got = inbox(alice)
        statuses: list[tuple[str, str]] = []
        alice.on_message_status(lambda mid, st: statuses.append((mid, st)))
        sent = await alice.send_message(bot_id, "Hello, bot! 👋")
        await eventually(lambda: len(got) == 1, what="the echo")
        assert got[0].content == "Echo: Hello, bot! 👋" and got[0].from_user == bot_id
        # The bot marks what it read (the receipt may come after the reply).
        await eventually(lambda: (sent.id, "read") in statuses, what="the read receipt")
        gif = b"GIF89a" + bytes(20)
        await alice.send_image(bot_id, image_data=gif, caption="tiny")
        await eventually(lambda: len(got) == 2, what="the image echo")
        assert got[1].type == "image" and got[1].data == gif
        assert got[1].mime == "image/gif" and got[1].caption == "Echo: tiny"
        await alice.send_file(bot_id, data=b"%PDF-1.7 ...", filename="notes.pdf")
        await eventually(lambda: len(got) == 3, what="the file echo")
        assert got[2].type == "file" and got[2].filename == "notes.pdf"
        assert got[2].data == b"%PDF-1.7 ..." and got[2].mime == "application/pdf"
        # Above 64 KiB: an encrypted attachment, downloaded by the bot and sent back as one.
        video = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00" + os.urandom(300_000)
        await alice.send_video(bot_id, video, "big")
        await eventually(lambda: len(got) == 4, what="the video echo")
        assert got[3].type == "video" and got[3].is_attachment and got[3].caption == "Echo: big"
        assert got[3].mime == "video/mp4" and await alice.download(got[3]) == video


async def test_command_bot(server: ServerHandle, registered: Registered, tmp_path: Path) -> None:
    async with run_example("command_bot.py", server.url, tmp_path) as bot_id:
        alice = await registered("alice")
        got = inbox(alice)
        for text in ("/help", "/time", "/echo same words 🌍", "/nope", "hello"):
            await alice.send_message(bot_id, text)
        await eventually(lambda: len(got) == 5, what="five replies")
        replies = [m.content for m in got]
        assert replies[0].startswith("Commands:") and "/time" in replies[0]
        assert re.fullmatch(
            r"The time is \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00 \(UTC\)", replies[1]
        )
        assert replies[2] == "same words 🌍"
        assert replies[3] == "Unknown command /nope. Try /help"
        assert replies[4] == "I only understand commands. Try /help"

        await alice.send_message(bot_id, "/safety")
        await eventually(lambda: len(got) == 6, what="the safety number")
        number = await alice.safety_number(bot_id)
        grouped = " ".join(number[i : i + 5] for i in range(0, 60, 5))
        assert got[5].content == f"Our safety number: {grouped}"

        # The bot watches the presence of whoever writes to it; ask until it knows.
        assert alice.user is not None

        def replies_are(n: int) -> Callable[[], bool]:
            return lambda: len(got) == n

        for attempt in range(50):
            await alice.send_message(bot_id, "/online")
            await eventually(replies_are(7 + attempt), what="an /online reply")
            if got[-1].content == f"Online now: {alice.user.username}":
                break
            await asyncio.sleep(0.05)
        assert got[-1].content == f"Online now: {alice.user.username}"


async def test_group_bot(server: ServerHandle, registered: Registered, tmp_path: Path) -> None:
    async with run_example("group_bot.py", server.url, tmp_path) as bot_id:
        alice = await registered("alice")
        assert alice.user and alice.user_id
        group_msgs: list[Message] = []
        alice.on_group_message(group_msgs.append)
        direct = inbox(alice)

        # A group alice made, with the bot in it.
        group = await alice.create_group("Team", member_ids=[bot_id])
        await alice.send_group_message(group.id, "!ping")
        await eventually(lambda: len(group_msgs) == 1, what="pong")
        assert group_msgs[0].content == "pong" and group_msgs[0].from_user == bot_id
        await alice.send_group_message(group.id, "!members")
        await eventually(lambda: len(group_msgs) == 2, what="members")
        assert group_msgs[1].content.startswith(f"Members: {alice.user.username} (owner), ")
        assert group_msgs[1].content.endswith(" (member)")
        await alice.send_group_message(group.id, "just chatting")
        await alice.send_group_message(group.id, "!whoami")
        await eventually(lambda: len(group_msgs) == 3, what="whoami")
        assert group_msgs[2].content == "You are owner in Team"

        # A group the bot makes on request.
        await alice.send_message(bot_id, "/newgroup Book club")
        await eventually(lambda: len(direct) == 1, what="the bot's answer")
        assert direct[0].content.startswith("Created 'Book club': ")
        new_id = direct[0].content.rsplit(" ", 1)[-1]
        made = await alice.get_group(new_id)
        assert made.owner_id == bot_id and made.role_of(alice.user_id) == "admin"
        await eventually(lambda: len(group_msgs) == 4, what="the greeting")
        assert group_msgs[3].group_id == new_id
        assert group_msgs[3].content.startswith("Hello Book club!")


async def test_file_info_bot(server: ServerHandle, registered: Registered, tmp_path: Path) -> None:
    async with run_example("file_info_bot.py", server.url, tmp_path) as bot_id:
        alice = await registered("alice")
        got = inbox(alice)
        small = b"%PDF-1.7 tiny"
        large = os.urandom(3 * 1024 * 1024 + 5)  # an encrypted attachment
        await alice.send_file(bot_id, data=small, filename="tiny.pdf")
        await eventually(lambda: len(got) == 1, what="the first answer")
        await alice.send_file(bot_id, data=large, filename="big.bin")
        await eventually(lambda: len(got) == 2, what="the second answer")
        await alice.send_message(bot_id, "hello")
        await eventually(lambda: len(got) == 3, what="the third answer")
        assert [m.content for m in got] == [
            f"tiny.pdf: {len(small)} bytes, SHA-256 {hashlib.sha256(small).hexdigest()}",
            f"big.bin: {len(large)} bytes, SHA-256 {hashlib.sha256(large).hexdigest()}",
            "Send me a file, I tell you its SHA-256.",
        ]

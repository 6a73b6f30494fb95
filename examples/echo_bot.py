"""Echo bot: sends every direct message back: text, images, video, audio and files.

Run the reference server, then the bot::

    whatsapp-client serve                    # terminal 1 (http://127.0.0.1:8080)
    python examples/echo_bot.py              # terminal 2
    python examples/echo_bot.py --server http://127.0.0.1:8080 --username echo_bot

Options come from the command line or the environment: ``WHATSAPP_SERVER_URL``,
``BOT_USERNAME``, ``BOT_PASSWORD`` and every client option (``WHATSAPP_STORAGE_PATH``...).
The bot registers its account on first start and logs in afterwards. Ctrl-C stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from collections.abc import Sequence
from typing import Any

from whatsapp_client import AuthenticationError, WhatsAppClient
from whatsapp_client.client import Message

DEV_PASSWORD = "echo-bot-dev-password"  # noqa: S105 - a local development default


async def echo_media(client: WhatsAppClient, message: Message) -> None:
    """Sends an image, video, audio or file back. Small media rides inline in the message;
    larger media is an encrypted attachment, downloaded (and verified) into a temporary
    folder first, and sent back as a new attachment."""
    to = message.from_user
    caption = f"Echo: {message.caption}" if message.caption else "Echo"
    with tempfile.TemporaryDirectory(prefix="echo-bot-") as folder:
        media = await client.download(message, folder)
        if message.type == "image":
            await client.send_image(to, media, caption=caption)
        elif message.type in ("video", "audio"):
            send = client.send_video if message.type == "video" else client.send_audio
            kind = message.mime if (message.mime or "").startswith(message.type + "/") else None
            await send(to, media, caption, mime=kind)
        else:
            name = message.filename or "file.bin"
            await client.send_file(to, media, filename=name, caption="Echo", mime=message.mime)


async def start_bot(
    server_url: str, username: str, password: str, **options: Any
) -> WhatsAppClient:
    """Logs the bot in (registering it the first time) and installs its handler."""
    client = WhatsAppClient(server_url=server_url, **options)
    try:
        await client.login(username, password)
    except AuthenticationError:
        await client.register(username, password)

    @client.on_message
    async def echo(message: Message) -> None:
        await client.mark_as_read(message.from_user, [message.id])
        await client.send_typing(message.from_user, True)
        if message.type == "text":
            await client.send_message(message.from_user, f"Echo: {message.content}")
        elif message.is_media:
            await echo_media(client, message)
        else:
            await client.send_message(message.from_user, f"Echo: a {message.type!r} message")
        await client.send_typing(message.from_user, False)

    return client


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--server",
        default=os.environ.get("WHATSAPP_SERVER_URL", "http://127.0.0.1:8080"),
        help="server URL (default: $WHATSAPP_SERVER_URL or http://127.0.0.1:8080)",
    )
    parser.add_argument("--username", default=os.environ.get("BOT_USERNAME", "echo_bot"))
    parser.add_argument("--password", default=os.environ.get("BOT_PASSWORD", DEV_PASSWORD))
    return parser.parse_args(list(argv))


async def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    client = await start_bot(args.server, args.username, args.password)
    print(f"ready: {args.username} {client.user_id} (echo bot; Ctrl-C to stop)", flush=True)
    await client.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(sys.argv[1:])))

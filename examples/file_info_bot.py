"""File info bot: answers every image, video, audio or file it receives with its size and
SHA-256, computed on the decrypted bytes.

Run the reference server, then the bot::

    whatsapp-client serve                    # terminal 1 (http://127.0.0.1:8080)
    python examples/file_info_bot.py         # terminal 2
    python examples/file_info_bot.py --server http://127.0.0.1:8080 --username file_info_bot

Small media rides inline in the message; anything above 64 KiB arrives as an encrypted
attachment, which the bot downloads into a temporary folder (verified chunk by chunk on the
way), hashes and deletes. Options come from the command line or the environment:
``WHATSAPP_SERVER_URL``, ``BOT_USERNAME``, ``BOT_PASSWORD`` and every client option.
Ctrl-C stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from whatsapp_client import AttachmentCorruptError, AuthenticationError, WhatsAppClient
from whatsapp_client.client import Message

DEV_PASSWORD = "file-info-bot-dev-password"  # noqa: S105 - a local development default


def size_and_sha256(path: Path) -> tuple[int, str]:
    """Size and SHA-256 of a file, read a MiB at a time (a 100 MiB file never sits in
    memory)."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()


async def describe(client: WhatsAppClient, message: Message) -> str:
    """``<name>: <size> bytes, SHA-256 <hex>`` of a received media message."""
    name = message.filename or f"{message.type} ({message.mime})"
    with tempfile.TemporaryDirectory(prefix="file-info-bot-") as folder:
        path = await client.download(message, Path(folder) / "media")
        size, digest = await asyncio.to_thread(size_and_sha256, path)
    return f"{name}: {size} bytes, SHA-256 {digest}"


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
    async def on_message(message: Message) -> None:
        if not message.is_media:
            await client.send_message(message.from_user, "Send me a file, I tell you its SHA-256.")
            return
        try:
            reply = await describe(client, message)
        except AttachmentCorruptError:
            reply = "That attachment did not verify (tampered or truncated): nothing kept."
        await client.send_message(message.from_user, reply)

    return client


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--server",
        default=os.environ.get("WHATSAPP_SERVER_URL", "http://127.0.0.1:8080"),
        help="server URL (default: $WHATSAPP_SERVER_URL or http://127.0.0.1:8080)",
    )
    parser.add_argument("--username", default=os.environ.get("BOT_USERNAME", "file_info_bot"))
    parser.add_argument("--password", default=os.environ.get("BOT_PASSWORD", DEV_PASSWORD))
    return parser.parse_args(list(argv))


async def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    client = await start_bot(args.server, args.username, args.password)
    print(f"ready: {args.username} {client.user_id} (file info bot; Ctrl-C to stop)", flush=True)
    await client.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(sys.argv[1:])))

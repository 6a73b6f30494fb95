"""Command bot: answers ``/help``, ``/time``, ``/echo <text>``, ``/safety`` and ``/online``.

``/safety`` replies with the safety number of the bot and you (compare it with the one your
client shows: ``await client.safety_number(bot_id)``); ``/online`` lists the bot's contacts
that are online now.

Run the reference server, then the bot::

    whatsapp-client serve                    # terminal 1 (http://127.0.0.1:8080)
    python examples/command_bot.py           # terminal 2

Options come from the command line or the environment: ``WHATSAPP_SERVER_URL``,
``BOT_USERNAME``, ``BOT_PASSWORD`` and every client option (``WHATSAPP_STORAGE_PATH``...).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import sys
from collections.abc import Awaitable, Sequence
from typing import Any, Callable

from whatsapp_client import AuthenticationError, WhatsAppClient
from whatsapp_client.client import Message

DEV_PASSWORD = "command-bot-dev-password"  # noqa: S105 - a local development default

HELP = (
    "Commands:\n/help - this list\n/time - the current UTC time\n/echo <text> - repeat text\n"
    "/safety - our safety number\n/online - who is online"
)


async def cmd_help(arg: str) -> str:
    return HELP


async def cmd_time(arg: str) -> str:
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    return f"The time is {now.isoformat()} (UTC)"


async def cmd_echo(arg: str) -> str:
    return arg if arg else "Usage: /echo <text>"


COMMANDS: dict[str, Callable[[str], Awaitable[str]]] = {
    "/help": cmd_help,
    "/time": cmd_time,
    "/echo": cmd_echo,
}


async def answer(client: WhatsAppClient, sender: str, text: str) -> str:
    """The bot's reply to one message."""
    stripped = text.strip()
    if not stripped.startswith("/"):
        return "I only understand commands. Try /help"
    name, _, arg = stripped.partition(" ")
    if name.lower() == "/safety":
        number = await client.safety_number(sender)
        groups = " ".join(number[i : i + 5] for i in range(0, len(number), 5))
        return f"Our safety number: {groups}"
    if name.lower() == "/online":
        users = [await client.get_user(uid) for uid in sorted(client.get_online_users())]
        names = sorted(u.username for u in users)
        return "Online now: " + (", ".join(names) if names else "nobody")
    command = COMMANDS.get(name.lower())
    if command is None:
        return f"Unknown command {name}. Try /help"
    return await command(arg.strip())


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
        await client.mark_as_read(message.from_user, [message.id])
        if message.type != "text":
            await client.send_message(message.from_user, "Send me a text command. Try /help")
            return
        reply = await answer(client, message.from_user, message.content)
        await client.send_message(message.from_user, reply)

    return client


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--server",
        default=os.environ.get("WHATSAPP_SERVER_URL", "http://127.0.0.1:8080"),
        help="server URL (default: $WHATSAPP_SERVER_URL or http://127.0.0.1:8080)",
    )
    parser.add_argument("--username", default=os.environ.get("BOT_USERNAME", "command_bot"))
    parser.add_argument("--password", default=os.environ.get("BOT_PASSWORD", DEV_PASSWORD))
    return parser.parse_args(list(argv))


async def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    client = await start_bot(args.server, args.username, args.password)
    print(f"ready: {args.username} {client.user_id} (command bot; Ctrl-C to stop)", flush=True)
    await client.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(sys.argv[1:])))

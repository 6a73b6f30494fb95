"""Group bot: creates groups on request and answers commands inside them.

In a direct message to the bot:
    /newgroup <name>   the bot creates the group, adds you as admin and says hello

In any group the bot belongs to:
    !help      the commands
    !ping      pong
    !members   the members and their roles
    !whoami    your role in the group

Run the reference server, then the bot::

    whatsapp-client serve                    # terminal 1 (http://127.0.0.1:8080)
    python examples/group_bot.py             # terminal 2

Options come from the command line or the environment: ``WHATSAPP_SERVER_URL``,
``BOT_USERNAME``, ``BOT_PASSWORD`` and every client option (``WHATSAPP_STORAGE_PATH``...).
Group messages are relayed by the server and are not end-to-end encrypted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from typing import Any

from whatsapp_client import AuthenticationError, WhatsAppClient, WhatsAppError
from whatsapp_client.client import Group, Message

DEV_PASSWORD = "group-bot-dev-password"  # noqa: S105 - a local development default

GROUP_HELP = "Group commands: !help, !ping, !members, !whoami"


def describe_members(group: Group) -> str:
    order = {"owner": 0, "admin": 1, "member": 2}
    members = sorted(group.members, key=lambda m: (order.get(m.role, 3), m.username))
    return "Members: " + ", ".join(f"{m.username} ({m.role})" for m in members)


async def start_bot(
    server_url: str, username: str, password: str, **options: Any
) -> WhatsAppClient:
    """Logs the bot in (registering it the first time) and installs its handlers."""
    client = WhatsAppClient(server_url=server_url, **options)
    try:
        await client.login(username, password)
    except AuthenticationError:
        await client.register(username, password)

    @client.on_message
    async def on_direct(message: Message) -> None:
        text = message.content.strip()
        if not text.startswith("/newgroup"):
            await client.send_message(message.from_user, "Say /newgroup <name> to get a group")
            return
        name = text[len("/newgroup") :].strip() or "New group"
        group = await client.create_group(name, "made by the group bot", [message.from_user])
        await client.add_group_member(group.id, message.from_user, role="admin")
        await client.send_message(message.from_user, f"Created {name!r}: {group.id}")
        await client.send_group_message(group.id, f"Hello {name}! {GROUP_HELP}")

    @client.on_group_message
    async def on_group(message: Message) -> None:
        assert message.group_id is not None
        command = message.content.strip().lower()
        if not command.startswith("!"):
            return
        try:
            if command == "!ping":
                reply = "pong"
            elif command == "!members":
                reply = describe_members(await client.get_group(message.group_id))
            elif command == "!whoami":
                group = await client.get_group(message.group_id)
                reply = f"You are {group.role_of(message.from_user)} in {group.name}"
            else:
                reply = GROUP_HELP
            await client.send_group_message(message.group_id, reply)
        except WhatsAppError as exc:  # e.g. removed from the group meanwhile
            print(f"cannot answer in {message.group_id}: {exc}", file=sys.stderr)

    return client


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--server",
        default=os.environ.get("WHATSAPP_SERVER_URL", "http://127.0.0.1:8080"),
        help="server URL (default: $WHATSAPP_SERVER_URL or http://127.0.0.1:8080)",
    )
    parser.add_argument("--username", default=os.environ.get("BOT_USERNAME", "group_bot"))
    parser.add_argument("--password", default=os.environ.get("BOT_PASSWORD", DEV_PASSWORD))
    return parser.parse_args(list(argv))


async def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    client = await start_bot(args.server, args.username, args.password)
    print(f"ready: {args.username} {client.user_id} (group bot; Ctrl-C to stop)", flush=True)
    await client.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(sys.argv[1:])))

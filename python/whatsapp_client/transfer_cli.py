"""``whatsapp-client send-file`` and ``whatsapp-client receive-files``: move files end to end
encrypted from the command line, with a progress bar.

The account's password comes from ``WHATSAPP_PASSWORD`` (or a prompt), never from the
command line, where other users of the machine could read it. Every client option can be
set through its environment variable (``WHATSAPP_SERVER_URL``, ``WHATSAPP_STORAGE_PATH``...).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import hashlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from whatsapp_client._progress import ProgressBar
from whatsapp_client._waits import wait_for
from whatsapp_client.errors import UsernameTakenError, WhatsAppError

PASSWORD_ENV = "WHATSAPP_PASSWORD"  # noqa: S105 - the name of the variable, not a password


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _parser(prog: str, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"whatsapp-client {prog}", description=description)
    parser.add_argument("--server", help="server URL (default: $WHATSAPP_SERVER_URL)")
    parser.add_argument("--username", required=True, help="your account")
    parser.add_argument(
        "--register", action="store_true", help="create the account if it does not exist"
    )
    return parser


def _password() -> str:
    password = os.environ.get(PASSWORD_ENV)
    if password:
        return password
    if not sys.stdin.isatty():
        raise SystemExit(f"whatsapp-client: set {PASSWORD_ENV} (no terminal to ask on)")
    return getpass.getpass("password: ")


async def _signed_in(args: argparse.Namespace) -> Any:
    from whatsapp_client import WhatsAppClient

    options = {"server_url": args.server} if args.server else {}
    client = WhatsAppClient(**options)
    password = _password()
    try:
        if args.register:
            try:
                await client.register(args.username, password)
            except UsernameTakenError:
                await client.login(args.username, password)
        else:
            await client.login(args.username, password)
    except BaseException:
        await client.close()
        raise
    return client


async def _username(client: Any, user_id: str) -> str:
    try:
        return str((await client.get_user(user_id)).username)
    except WhatsAppError:  # gone since it sent: show its id
        return user_id


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


async def _send(args: argparse.Namespace) -> int:
    client = await _signed_in(args)
    try:
        peer = await client.find_user(args.to)
        message = await client.send_file(
            peer.id, Path(args.path), caption=args.caption, progress=ProgressBar("upload", _say)
        )
        _say(f"  sent      {args.path} to {args.to} as message {message.id} [{message.status}]")
        if message.status == "pending":
            _say("            it is in the outbox and goes out on the next run")
        return 0
    finally:
        await client.close()


async def _receive(args: argparse.Namespace) -> int:
    client = await _signed_in(args)
    into = Path(args.into)
    saved = 0
    queue: asyncio.Queue[Any] = asyncio.Queue()
    client.on_message(queue.put_nowait)
    try:
        loop = asyncio.get_running_loop()
        end = loop.time() + args.wait
        while loop.time() < end and (args.count == 0 or saved < args.count):
            try:
                message = await wait_for(queue.get(), end - loop.time())
            except asyncio.TimeoutError:
                break
            if not message.is_media:
                continue
            label = message.filename or message.id
            sender = await _username(client, message.from_user)
            _say(f"  receiving {label} from {sender} ({message.size or 0} bytes)")
            path = await client.download(
                message, f"{into}{os.sep}", progress=ProgressBar("download", _say)
            )
            digest = await asyncio.to_thread(_sha256, path)
            print(f"{path}\tsha256:{digest}", flush=True)
            saved += 1
        return 0 if saved or args.count == 0 else 1
    finally:
        await client.close()


def _run(coro: Any) -> int:
    try:
        return int(asyncio.run(coro))
    except WhatsAppError as exc:
        print(f"whatsapp-client: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def send_main(argv: Sequence[str]) -> int:
    """Entry point of ``whatsapp-client send-file``."""
    parser = _parser("send-file", "Send a file, end-to-end encrypted, with a progress bar.")
    parser.add_argument("to", help="the recipient's username")
    parser.add_argument("path", help="the file (above 64 KiB it goes as an attachment)")
    parser.add_argument("--caption", help="a caption shown with the file")
    return _run(_send(parser.parse_args(list(argv))))


def receive_main(argv: Sequence[str]) -> int:
    """Entry point of ``whatsapp-client receive-files``."""
    parser = _parser(
        "receive-files",
        "Download the files sent to you (waiting ones first), verified, with a progress bar; "
        "prints each path and its SHA-256.",
    )
    parser.add_argument("--into", default="downloads", help="folder (default: ./downloads)")
    parser.add_argument("--wait", type=float, default=10.0, help="seconds to wait (default 10)")
    parser.add_argument(
        "--count", type=int, default=0, help="stop after this many files (default: no limit)"
    )
    return _run(_receive(parser.parse_args(list(argv))))

"""``whatsapp-client serve`` and ``python -m whatsapp_client.server``.

Every setting is a flag (``--max-group-size 50``) and an environment variable
(``WHATSAPP_SERVER_MAX_GROUP_SIZE=50``); flags win over the environment.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
from collections.abc import Sequence
from typing import Any

from whatsapp_client.server.logs import configure_logging
from whatsapp_client.server.runner import serve
from whatsapp_client.server.settings import ENV_PREFIX, Settings, coerce_setting, settings_from_env

_HELP = {
    "host": "address to listen on",
    "port": "TCP port (0 picks a free one)",
    "data": "directory for the database (default: a temporary directory)",
    "bcrypt_cost": "bcrypt work factor for passwords",
    "sqlite_synchronous": "full (fsync each group commit) or normal",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="whatsapp-client serve",
        description="Run the reference WAC1 chat server (REST + WebSocket).",
        epilog=f"Every option can also be set as {ENV_PREFIX}<NAME>, e.g. {ENV_PREFIX}PORT=9000.",
    )
    defaults = Settings()
    for field in dataclasses.fields(Settings):
        flag = "--" + field.name.replace("_", "-")
        default = getattr(defaults, field.name)
        help_text = _HELP.get(field.name, field.name.replace("_", " "))
        if isinstance(default, bool):
            parser.add_argument(
                flag,
                dest=field.name,
                action=argparse.BooleanOptionalAction,
                default=None,
                help=f"{help_text} (default: {default})",
            )
        else:
            parser.add_argument(
                flag,
                dest=field.name,
                default=None,
                metavar=field.name.upper(),
                help=f"{help_text} (default: {default})",
            )
    return parser


def settings_from_args(argv: Sequence[str] | None = None) -> Settings:
    args = build_parser().parse_args(argv)
    settings = settings_from_env()
    changes: dict[str, Any] = {}
    for field in dataclasses.fields(Settings):
        value = getattr(args, field.name)
        if value is None:
            continue
        changes[field.name] = (
            value if isinstance(value, bool) else coerce_setting(field.name, value)
        )
    return settings.replace(**changes)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``whatsapp-client serve``; returns the process exit status."""
    try:
        settings = settings_from_args(argv)
    except ValueError as exc:
        print(f"whatsapp-client serve: {exc}")
        return 2
    configure_logging(settings.log_level)
    try:
        asyncio.run(serve(settings))
    except KeyboardInterrupt:  # only where signal handlers are unavailable
        pass
    except OSError as exc:
        print(f"whatsapp-client serve: {exc}")
        return 1
    return 0

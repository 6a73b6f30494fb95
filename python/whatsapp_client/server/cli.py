"""``whatsapp-client serve`` and ``python -m whatsapp_client.server``.

Every setting is a flag (``--max-group-size 50``) and an environment variable
(``WHATSAPP_SERVER_MAX_GROUP_SIZE=50``); flags win over the environment.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import errno
import sys
from collections.abc import Sequence
from typing import Any

from whatsapp_client.server.logs import configure_logging
from whatsapp_client.server.runner import serve
from whatsapp_client.server.settings import ENV_PREFIX, Settings, coerce_setting, settings_from_env
from whatsapp_client.server.storage.files import InsecurePermissionsError
from whatsapp_client.server.storage.schema import SchemaError

# One line per setting; the default is appended once, in the unit the text names.
_HELP = {
    "host": "address to listen on",
    "port": "TCP port; 0 picks a free one",
    "data": "directory of the database and attachments (default: a temporary directory"
    " deleted on exit)",
    "database": "postgresql:// DSN of a shared PostgreSQL database (default: SQLite in --data)",
    "log_level": "DEBUG, INFO, WARNING or ERROR",
    "access_log": "one log line per REST request",
    "bcrypt_cost": "bcrypt work factor for passwords",
    "sqlite_synchronous": "full (fsync each group commit) or normal",
    "writer_max_batch": "database operations per commit, at most",
    "reader_threads": "database reader threads",
    "max_frame_bytes": "WebSocket frame limit, bytes",
    "max_body_bytes": "REST body limit, bytes",
    "auth_timeout": "seconds a WebSocket has to send its auth frame",
    "max_unauthenticated": "unauthenticated WebSockets at once",
    "header_timeout": "seconds a new connection has to send a complete request head",
    "keepalive_timeout": "seconds an idle keep-alive connection is kept",
    "request_timeout": "seconds to receive a JSON body, or each chunk of an upload",
    "max_anonymous_connections": "connections not yet authenticated, at once (at most half"
    " the file descriptor limit); past it the oldest is closed",
    "outbound_queue_frames": "frames queued for a slow client before it is disconnected",
    "max_inflight_per_connection": "unanswered messages per socket before reading pauses",
    "login_attempts_per_username": "failed logins for one username from one address, per"
    " login window",
    "login_attempts_per_address": "failed logins from one address, per login window",
    "login_window_seconds": "login window, seconds",
    "registrations_per_address": "registrations from one address, per registration window",
    "registration_window_seconds": "registration window, seconds",
    "messages_per_second": "frames per second per socket (message, group_message, typing, read)",
    "message_burst": "frames a socket may send at once before the rate applies",
    "max_pending_per_recipient": "undelivered direct messages one user may have waiting",
    "max_pending_bytes_per_recipient": "bytes of undelivered direct-message content one user"
    " may have waiting",
    "bundle_fetches_per_requester": "prekey bundles one account may fetch, per bundle window",
    "prekeys_per_target": "one-time prekeys of one user handed out, per bundle window",
    "prekeys_per_requester_and_target": "one-time prekeys of one user handed to one account,"
    " per bundle window",
    "bundle_window_seconds": "bundle window, seconds",
    "max_one_time_prekeys": "one-time prekeys stored per account",
    "max_group_size": "members per group, owner included",
    "wal_scrub_interval": "seconds between WAL truncations after message content is deleted",
    "max_attachment_bytes": "largest attachment blob, bytes",
    "attachment_quota_bytes": "attachment bytes one account may store",
    "attachment_retention_seconds": "seconds an attachment is kept",
    "attachment_sweep_interval": "seconds between sweeps of expired attachments",
    "trust_forwarded_for": "take the client address from X-Forwarded-For (behind your own"
    " proxy only)",
}


def _default_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return " (default: on)" if value else " (default: off)"
    return f" (default: {value})"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="whatsapp-client serve",
        description="Run the reference WAC1 chat server (REST + WebSocket).",
        epilog=f"Every option can also be set as {ENV_PREFIX}<NAME>, e.g. {ENV_PREFIX}PORT=9000."
        " Options win over the environment.",
    )
    defaults = Settings()
    for field in dataclasses.fields(Settings):
        flag = "--" + field.name.replace("_", "-")
        default = getattr(defaults, field.name)
        help_text = _HELP.get(field.name, field.name.replace("_", " ")) + _default_text(default)
        # argparse's own "%" formatting must not see a literal percent sign.
        help_text = help_text.replace("%", "%%")
        if isinstance(default, bool):
            parser.add_argument(
                flag,
                dest=field.name,
                action=_Switch,
                default=None,
                help=help_text,
            )
        else:
            parser.add_argument(
                flag,
                dest=field.name,
                default=None,
                metavar=_metavar(field),
                type=_parser_for(field.name, flag),
                help=help_text,
            )
    return parser


class _Switch(argparse.BooleanOptionalAction):
    """``--x`` / ``--no-x`` without the "(default: ...)" that some Pythons append again."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.help is not None and self.help.endswith(" (default: %(default)s)"):
            self.help = self.help[: -len(" (default: %(default)s)")]


def _metavar(field: dataclasses.Field[Any]) -> str:
    kind = str(field.type)
    if "int" in kind:
        return "N"
    if "float" in kind:
        return (
            "SECONDS" if any(w in field.name for w in ("timeout", "seconds", "interval")) else "X"
        )
    return field.name.split("_")[-1].upper()


def _parser_for(name: str, flag: str) -> Any:
    def parse(raw: str) -> Any:
        try:
            return coerce_setting(name, raw)
        except ValueError as exc:
            # argparse reports this as "argument --port: <message>".
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = flag
    return parse


def settings_from_args(argv: Sequence[str] | None = None) -> Settings:
    args = build_parser().parse_args(argv)
    settings = settings_from_env()
    changes: dict[str, Any] = {}
    for field in dataclasses.fields(Settings):
        value = getattr(args, field.name)
        if value is None:
            continue
        changes[field.name] = value
    return settings.replace(**changes)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``whatsapp-client serve``; returns the process exit status."""
    try:
        settings = settings_from_args(argv)
    except ValueError as exc:  # a bad WHATSAPP_SERVER_* variable (flags are argparse's)
        print(f"whatsapp-client serve: {exc}", file=sys.stderr)
        return 2
    except SystemExit as exc:  # argparse: --help, or a bad flag already reported
        return int(exc.code) if isinstance(exc.code, int) else 2
    configure_logging(settings.log_level)
    try:
        asyncio.run(serve(settings))
    except KeyboardInterrupt:  # only where signal handlers are unavailable
        pass
    except OSError as exc:
        print(f"whatsapp-client serve: {_os_error_text(exc, settings)}", file=sys.stderr)
        return 1
    except (InsecurePermissionsError, SchemaError) as exc:
        print(f"whatsapp-client serve: {exc}", file=sys.stderr)
        return 1
    return 0


def _os_error_text(exc: OSError, settings: Settings) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (
            f"cannot listen on {settings.host}:{settings.port}: the address is already in use"
            " (another server running? pick another --port, or 0 for any free one)"
        )
    return str(exc)

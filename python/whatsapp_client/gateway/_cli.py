"""``whatsapp-client gateway``: run the gateway until SIGINT/SIGTERM.

Every setting is a flag (``--max-queue 500``) and an environment variable
(``WHATSAPP_GATEWAY_MAX_QUEUE=500``), and may sit in a config file (``--config``, JSON or
YAML); flags win over the environment, which wins over the file.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import ssl
import sys
from collections.abc import Sequence
from typing import Any, Callable, Optional

from aiohttp import web

from whatsapp_client.gateway._config import FIELDS, ConfigError, coerce, load_settings
from whatsapp_client.gateway._settings import ENV_PREFIX, GatewaySettings

_HELP = {
    "host": "address to listen on",
    "port": "TCP port; 0 picks a free one",
    "data_dir": "directory of everything the gateway keeps (database, master key, media)",
    "database": "a postgresql:// DSN to keep the records in PostgreSQL (default: SQLite in"
    " the data directory; media files stay in the data directory either way)",
    "database_max_connections": "most PostgreSQL connections the gateway opens",
    "base_url": "the address callers reach the gateway at, for media URLs in webhooks",
    "config": "a JSON or YAML file of settings (keys as the option names)",
    "log_level": "DEBUG, INFO, WARNING or ERROR",
    "tls_cert": "serve HTTPS with this certificate (PEM); needs --tls-key",
    "tls_key": "the certificate's private key (PEM)",
    "api_keys": "comma-separated admin API keys (better in the environment than on a command line)",
    "trusted_proxies": "comma-separated proxy addresses or networks whose X-Forwarded-For is"
    " believed (default: none)",
    "max_file_bytes": "largest media file to send, bytes",
    "max_queue": "messages waiting per session before 429 queue_full",
    "rate_limit_per_minute": "default sends per minute per session",
    "idempotency_ttl_seconds": "how long an Idempotency-Key answer is kept",
    "max_reconnect_failures": "failed reconnects in a row before a session is failed",
    "reconnect_base_delay": "first reconnect delay, seconds (doubles each time)",
    "reconnect_max_delay": "longest reconnect delay, seconds",
    "webhook_timeout": "seconds a webhook receiver has to answer",
    "webhook_block_private": "refuse webhook URLs on loopback, private and link-local addresses",
    "webhook_max_age_seconds": "an event undelivered for this long is dead-lettered",
    "webhook_concurrency": "webhook deliveries in flight at once (over all endpoints)",
    "delivery_retention_seconds": "finished webhook deliveries are kept this long (then pruned)",
    "retention_sweep_interval": "seconds between two retention sweeps",
    "auth_failures_per_address": "failed API key attempts per client address before 429",
    "auth_failure_window_seconds": "window of those attempts, seconds",
    # Operator accounts.
    "admin_email": "email of the admin created on the first start",
    "admin_password": "that admin's password (at least 12 characters; better in the"
    " environment); without it a random one is printed once and must be changed",
    "cookie_secure": "mark the dashboard cookies Secure also over http (behind a TLS proxy)",
    "access_token_seconds": "lifetime of an access token (JWT), seconds",
    "refresh_token_seconds": "lifetime of a refresh token, seconds",
    "browser_session_seconds": "lifetime of a dashboard login, seconds",
    "login_failures_per_address": "failed logins per client address before 429",
    "login_failures_per_email": "failed logins per email before 429",
    "login_failure_window_seconds": "window of those failed logins, seconds",
    "log_buffer_records": "log records kept in memory for the dashboard's Logs tab",
    "stream_heartbeat_seconds": "seconds between two heartbeats of the event stream",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="whatsapp-client gateway",
        description="Run the gateway: a REST and webhook service running many sessions.",
        epilog=f"Every option can also be set as {ENV_PREFIX}<NAME>, e.g. {ENV_PREFIX}PORT=9000,"
        " or in the --config file. Options win over the environment, the environment over the"
        " file. See docs/gateway.md.",
    )
    defaults = GatewaySettings()
    for name in FIELDS:
        flag = "--" + name.replace("_", "-")
        default = getattr(defaults, name)
        text = _HELP.get(name, name.replace("_", " "))
        if default not in (None, ""):
            text += f" (default: {default})"
        text = text.replace("%", "%%")
        if isinstance(default, bool):
            parser.add_argument(
                flag, dest=name, action=argparse.BooleanOptionalAction, default=None, help=text
            )
        else:
            parser.add_argument(
                flag, dest=name, default=None, type=_parser_for(name), help=text, metavar="VALUE"
            )
    return parser


def _parser_for(name: str) -> Any:
    def parse(raw: str) -> Any:
        try:
            return coerce(name, raw)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def _ssl_context(settings: GatewaySettings) -> Optional[ssl.SSLContext]:
    if settings.tls_cert is None or settings.tls_key is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(settings.tls_cert, settings.tls_key)
    return context


async def serve(
    settings: GatewaySettings,
    *,
    stop: Optional[asyncio.Event] = None,
    on_listening: Optional[Callable[[str], None]] = None,
) -> None:
    """Runs the gateway until ``stop`` is set (None: until SIGINT or SIGTERM);
    ``on_listening`` gets the URL once the socket is bound."""
    from whatsapp_client.gateway._app import create_app
    from whatsapp_client.gateway._logs import get_logger

    log = get_logger("cli")
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            # Windows has no loop signal handlers: Ctrl+C then arrives as KeyboardInterrupt.
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
    tls = _ssl_context(settings)
    runner = web.AppRunner(create_app(settings), access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.host, settings.port, ssl_context=tls)
        await site.start()
        port = settings.port
        for address in runner.addresses:  # the port actually bound (--port 0 picks one)
            port = int(address[1])
        url = f"{'https' if tls else 'http'}://{settings.host}:{port}"
        log.info("listening", extra={"url": url, "port": port})
        if on_listening is not None:
            on_listening(url)
        await stop.wait()
    finally:
        log.info("shutting down")
        await runner.cleanup()


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of ``whatsapp-client gateway``; returns the exit status."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, or a bad flag already reported by argparse
        return int(exc.code) if isinstance(exc.code, int) else 2
    try:
        settings = load_settings(vars(args))
    except ConfigError as exc:
        print(f"whatsapp-client gateway: {exc}", file=sys.stderr)
        return 2
    from whatsapp_client.gateway._auth import InsecureApiKey
    from whatsapp_client.gateway._database import DatabaseUnavailable
    from whatsapp_client.gateway._logs import configure_logging

    configure_logging(settings.log_level)
    try:
        asyncio.run(serve(settings))
    except InsecureApiKey as exc:
        print(f"whatsapp-client gateway: {exc}", file=sys.stderr)
        return 2
    except (OSError, ssl.SSLError, DatabaseUnavailable) as exc:
        print(f"whatsapp-client gateway: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0

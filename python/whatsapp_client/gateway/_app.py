"""The aiohttp application: routes, middlewares (errors, API keys, latency, log context),
and the start and stop of the service, the webhook dispatcher and the first-start key."""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Callable, Optional, Protocol

from aiohttp import web
from aiohttp.typedefs import Middleware

from whatsapp_client.gateway import (
    _accounts_setup,
    _cloud_webhook,
    _routes_auth,
    _routes_dashboard,
    _routes_docs,
    _routes_keys,
    _routes_logs,
    _routes_media,
    _routes_messages,
    _routes_ops,
    _routes_sessions,
    _routes_stats,
    _routes_stream,
    _routes_users,
    _routes_webhooks,
)
from whatsapp_client.gateway._auth import ApiKeys, configured_key_hashes
from whatsapp_client.gateway._context import CONTEXT, GatewayContext
from whatsapp_client.gateway._facade import GatewayService
from whatsapp_client.gateway._http_errors import error_middleware
from whatsapp_client.gateway._live import LIVE, Live
from whatsapp_client.gateway._logs import get_logger, log_context
from whatsapp_client.gateway._metrics import GatewayMetrics
from whatsapp_client.gateway._routes_messages import json_limit
from whatsapp_client.gateway._settings import GatewaySettings
from whatsapp_client.gateway._storage import Storage

log = get_logger("app")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Seconds the webhook dispatcher gets to stop (it gives POSTs in flight 5 s to finish).
DISPATCHER_CLOSE_TIMEOUT = 15.0


class Dispatcher(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...

    def wake(self) -> None: ...


@dataclasses.dataclass
class Components:
    """What the routes run on; :func:`._wiring.build_components` makes the real ones."""

    storage: Storage
    service: GatewayService
    dispatcher: Dispatcher
    metrics: GatewayMetrics
    # Live data (dashboard): the event hub the service publishes to, and the log buffer;
    # None: made by create_app (then only log records reach the event stream).
    live: Optional[Live] = None


def announce_key(key: str) -> None:
    """Shows the first-start admin key once, on the terminal (never in a log)."""
    print(
        "\nNo API key was configured, so an admin key was created. It is shown only now;"
        f" keep it somewhere safe:\n\n    {key}\n",
        file=sys.stdout,
        flush=True,
    )


def announce_admin(email: str, password: str) -> None:
    """Shows the first admin's password once, on the terminal (never in a log)."""
    print(
        "\nAn admin account was created. Log in to the dashboard with it and choose a new"
        f" password (this one is shown only now):\n\n    email:    {email}\n"
        f"    password: {password}\n",
        file=sys.stdout,
        flush=True,
    )


def _latency_middleware(metrics: GatewayMetrics) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        with log_context():
            try:
                return await handler(request)
            finally:
                resource = request.match_info.route.resource
                route = resource.canonical if resource is not None else "unmatched"
                metrics.api_latency.labels(route, request.method).observe(
                    time.perf_counter() - started
                )

    return middleware


def create_app(
    settings: GatewaySettings,
    *,
    components: Optional[Components] = None,
    announce: Callable[[str], None] = announce_key,
    announce_password: Callable[[str, str], None] = announce_admin,
) -> web.Application:
    """The gateway's application. ``components`` None: the real storage, service and
    dispatcher under ``settings.data_dir``. Refuses weak configured keys
    (:class:`._auth.InsecureApiKey`) here, before anything starts."""
    data_dir = Path(settings.data_dir)
    configured_key_hashes(settings)  # a weak key stops the start before anything is made
    if components is None:
        from whatsapp_client.gateway._wiring import build_components

        components = build_components(settings, data_dir)
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    keys = ApiKeys(components.storage, settings)
    # Operator accounts: users, logins, and who is asking.
    accounts = _accounts_setup.make(components.storage, settings, keys)
    ctx = GatewayContext(
        settings=settings,
        service=components.service,
        storage=components.storage,
        metrics=components.metrics,
        keys=keys,
        data_dir=data_dir,
        wake=components.dispatcher.wake,
    )
    app = web.Application(
        middlewares=[
            _latency_middleware(components.metrics),
            error_middleware,
            _accounts_setup.auth_middleware(accounts.auth),
        ],
        client_max_size=json_limit(settings.max_file_bytes),
    )
    app[CONTEXT] = ctx
    app[_accounts_setup.ACCOUNTS] = accounts
    for module in (
        _routes_sessions,
        _routes_messages,
        _routes_media,
        _routes_webhooks,
        _routes_keys,
        _routes_ops,
        _routes_docs,
        _cloud_webhook,
        _routes_auth,
        _routes_users,
        _routes_dashboard,
    ):
        module.add_routes(app)
    # --- live data (dashboard): event stream, stats, logs ---------------------------------
    live = components.live or Live.from_settings(settings)
    app[LIVE] = live
    for live_routes in (_routes_stream, _routes_stats, _routes_logs):
        live_routes.add_routes(app)

    async def startup(app: web.Application) -> None:
        live.start()  # first: the log records of the start reach the buffer
        await components.service.start()
        admin = await accounts.accounts.bootstrap()
        if admin is not None:
            announce_password(*admin)
        assert accounts.accounts.first_admin is not None
        key = await keys.bootstrap(accounts.accounts.first_admin)
        if key is not None:
            announce(key)
        await components.dispatcher.start()
        log.info("gateway started", extra={"data_dir": str(data_dir)})

    async def shutdown(app: web.Application) -> None:
        ctx.shutting_down = True
        await live.close()  # ends every event stream, so the server is not kept waiting

    async def cleanup(app: web.Application) -> None:
        # The dispatcher first: events still pending go out after the next start. Its close
        # is bounded so that a stuck worker never keeps the process from stopping (the
        # deliveries are durable: nothing is lost by leaving it).
        closing = asyncio.ensure_future(components.dispatcher.close())
        done, _ = await asyncio.wait({closing}, timeout=DISPATCHER_CLOSE_TIMEOUT)
        if not done:
            log.error(
                "the webhook dispatcher did not stop in time; its pending deliveries resume"
                " at the next start"
            )
        await components.service.close()
        log.info("gateway stopped")

    app.on_startup.append(startup)
    app.on_shutdown.append(shutdown)
    app.on_cleanup.append(cleanup)
    return app

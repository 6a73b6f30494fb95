"""Building the aiohttp application: routes, middlewares, startup and graceful shutdown."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable

from aiohttp import WSCloseCode, web

from whatsapp_client._swagger_ui import add_swagger_ui
from whatsapp_client.server.backends import make_fanout, make_storage
from whatsapp_client.server.blobs import BlobStore
from whatsapp_client.server.credentials import DummyHash
from whatsapp_client.server.errors import ApiError, error_response
from whatsapp_client.server.logs import get_logger
from whatsapp_client.server.metrics import Metrics
from whatsapp_client.server.presence import PresenceHub
from whatsapp_client.server.relay import Relay
from whatsapp_client.server.retention import run_sweeper
from whatsapp_client.server.routes import (
    apidocs,
    attachments,
    auth,
    groups,
    keys,
    messages,
    ops,
    users,
    verify,
    webapp,
)
from whatsapp_client.server.settings import Settings
from whatsapp_client.server.state import STATE, Limiters, ServerState
from whatsapp_client.server.storage.files import private_dir
from whatsapp_client.server.ws import websocket_handler

log = get_logger("http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_HTTP_CODES = {
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    400: "invalid_request",
}


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure leaves as the §6 error JSON; unexpected ones are logged as 500."""
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(exc.status, exc.code, exc.message, retry_after=exc.retry_after)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _HTTP_CODES.get(exc.status, "http_error")
        response = error_response(exc.status, code, exc.reason)
        if "Allow" in exc.headers:  # 405 names the methods the resource has
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    except Exception:
        log.exception("unhandled error", extra={"path": request.path, "method": request.method})
        return error_response(500, "internal_error", "internal server error")


@web.middleware
async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    state = request.app[STATE]
    if state.guard is not None:
        state.guard.request_started(request)
    response = await handler(request)
    elapsed = time.perf_counter() - started
    if isinstance(response, web.WebSocketResponse):
        return response
    route = request.match_info.route.resource
    canonical = route.canonical if route is not None else "unmatched"
    state.metrics.request_latency.labels(request.method, canonical, str(response.status)).observe(
        elapsed
    )
    if state.settings.access_log:
        log.info(
            "request",
            extra={
                "method": request.method,
                "path": canonical,
                "status": response.status,
                "ms": round(elapsed * 1000, 3),
            },
        )
    return response


def _add_routes(app: web.Application) -> None:
    r = app.router
    r.add_post("/api/auth/register", auth.register)
    r.add_post("/api/auth/login", auth.login)
    r.add_post("/api/auth/logout", auth.logout)
    r.add_get("/api/users/me", users.me)
    r.add_get("/api/users", users.find_user)
    r.add_delete("/api/users/prekeys/{key_id}", keys.delete_prekey)
    r.add_get("/api/users/{user_id}/prekeys", keys.bundle)
    r.add_get("/api/users/{user_id}", users.get_user)
    r.add_put("/api/keys", keys.put_keys)
    r.add_post("/api/keys/one-time-prekeys", keys.add_prekeys)
    r.add_put("/api/keys/signed-prekey", keys.put_signed_prekey)
    r.add_get("/api/keys/status", keys.key_status)
    r.add_post("/api/verify-key", verify.put_verification)
    r.add_get("/api/verify-key/{peer_id}", verify.get_verification)
    r.add_get("/api/messages/pending", messages.pending)
    r.add_post("/api/messages/ack", messages.ack)
    r.add_post("/api/groups", groups.create_group)
    r.add_get("/api/groups", groups.list_groups)
    r.add_get("/api/groups/{group_id}", groups.get_group)
    r.add_patch("/api/groups/{group_id}", groups.update_group)
    r.add_post("/api/groups/{group_id}/members", groups.add_member)
    r.add_delete("/api/groups/{group_id}/members/{user_id}", groups.remove_member)
    r.add_get("/api/groups/{group_id}/messages", groups.history)
    r.add_post("/api/attachments", attachments.upload)
    r.add_get("/api/attachments/{attachment_id}", attachments.download)
    r.add_delete("/api/attachments/{attachment_id}", attachments.delete)
    r.add_get("/health", ops.health)
    r.add_get("/ready", ops.ready)
    r.add_get("/metrics", ops.metrics)
    r.add_get("/api/openapi.json", apidocs.openapi_json)
    add_swagger_ui(app, title="whatsapp-client server API", spec_url="/api/openapi.json")
    r.add_get("/ws", websocket_handler)
    webapp.add_routes(app)


def create_app(settings: Settings) -> web.Application:
    """The application; storage opens on startup and is committed and closed on cleanup."""
    app = web.Application(
        middlewares=[metrics_middleware, error_middleware],
        client_max_size=settings.max_body_bytes,
    )
    data_dir = settings.data
    temp_dir = None
    if data_dir is None:
        temp_dir = tempfile.mkdtemp(prefix="wac-server-")
        data_dir = temp_dir
    else:
        private_dir(data_dir)
    metrics = Metrics()
    storage = make_storage(settings, data_dir, metrics)
    presence = PresenceHub()
    fanout = make_fanout(settings, presence, storage.set_last_seen)
    state = ServerState(
        settings=settings,
        storage=storage,
        fanout=fanout,
        presence=presence,
        metrics=metrics,
        limiters=Limiters.from_settings(settings),
        relay=Relay(
            storage,
            fanout,
            metrics,
            settings.max_pending_per_recipient,
            settings.max_pending_bytes_per_recipient,
        ),
        dummy_hash=DummyHash(settings.bcrypt_cost),
    )
    state.blobs = blobs = BlobStore(data_dir)
    app[STATE] = state
    _add_routes(app)
    sweeper: list[asyncio.Task[None]] = []

    async def startup(app: web.Application) -> None:
        await storage.open()
        metrics.queue_depth.set(await storage.pending_total())
        log.info("storage open", extra={"path": getattr(storage, "path", None)})
        try:
            await fanout.start()
        except BaseException:
            await storage.close()  # cleanup does not run when startup fails
            raise
        sweeper.append(
            asyncio.ensure_future(run_sweeper(storage, blobs, settings.attachment_sweep_interval))
        )

    async def shutdown(app: web.Application) -> None:
        # Runs before handlers are cancelled: tell clients we are going away (1001).
        # All at once: each close waits (bounded) for the client's reply.
        state.shutting_down = True
        await asyncio.gather(
            *(
                conn.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")
                for conn in list(state.sockets)
                if not conn.ws.closed
            ),
            return_exceptions=True,
        )

    async def cleanup(app: web.Application) -> None:
        for task in sweeper:
            task.cancel()
        await asyncio.gather(*sweeper, return_exceptions=True)
        await fanout.close()
        await storage.close()
        if temp_dir is not None:
            shutil.rmtree(temp_dir, ignore_errors=True)
        log.info("storage closed")

    app.on_startup.append(startup)
    app.on_shutdown.append(shutdown)
    app.on_cleanup.append(cleanup)
    return app

"""The WebSocket endpoint ``/ws`` (§7): handshake, backlog, then one frame at a time."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any

import msgspec
from aiohttp import WSCloseCode, WSMsgType, web

from whatsapp_client.server.connection import Connection
from whatsapp_client.server.credentials import token_hash
from whatsapp_client.server.errors import error_response
from whatsapp_client.server.frames import (
    Ack,
    Auth,
    AuthOk,
    Error,
    GroupMessage,
    Message,
    Online,
    Ping,
    Pong,
    Read,
    SubscribePresence,
    Typing,
    TypingOut,
    decode_client_frame,
    echoable_id,
    encode_frame,
    probe_id,
)
from whatsapp_client.server.logs import get_logger
from whatsapp_client.server.ratelimit import TokenBucket
from whatsapp_client.server.routes.common import plausible_token
from whatsapp_client.server.state import ServerState, state_of
from whatsapp_client.server.validation import MESSAGE_ID_RULE, all_valid_ids, valid_message_id

log = get_logger("ws")

CLOSE_UNAUTHORIZED = 4401

Spawn = Callable[[Coroutine[Any, Any, None]], None]
_PONG = encode_frame(Pong())


def _error(code: str, message: str, request_id: str | None = None, **extra: Any) -> bytes:
    return encode_frame(Error(code=code, message=message, id=request_id, **extra))


async def websocket_handler(request: web.Request) -> web.StreamResponse:
    state = state_of(request)
    settings = state.settings
    if state.shutting_down:
        return error_response(503, "shutting_down", "the server is shutting down", retry_after=5)
    if state.unauthenticated >= settings.max_unauthenticated:
        state.metrics.rate_limited.labels("unauthenticated_sockets").inc()
        return error_response(
            429, "rate_limited", "too many unauthenticated connections", retry_after=1
        )
    # aiohttp drops the connection outright on frames over its own limit, so give it slack:
    # frames up to twice our limit are read and refused politely (`too_large`, socket kept);
    # only grossly oversized ones hit aiohttp's hard stop.
    ws = web.WebSocketResponse(max_msg_size=2 * settings.max_frame_bytes)
    state.unauthenticated += 1
    conn = Connection(ws, settings.outbound_queue_frames)
    state.sockets.add(conn)
    gauge = state.metrics.connections
    gauge.labels("unauthenticated").inc()
    user_id: str | None = None
    try:
        await ws.prepare(request)
        user_id = await _authenticate(state, conn)
    finally:
        state.unauthenticated -= 1
        gauge.labels("unauthenticated").dec()
        if user_id is None:
            state.sockets.discard(conn)
    if user_id is None:
        return ws
    if state.guard is not None:
        state.guard.authenticated(request)
    gauge.labels("authenticated").inc()
    try:
        await _serve(state, conn, user_id)
    finally:
        gauge.labels("authenticated").dec()
        state.sockets.discard(conn)
        _detach(state, conn)
    return ws


async def _authenticate(state: ServerState, conn: Connection) -> str | None:
    ws = conn.ws
    try:
        msg = await ws.receive(timeout=state.settings.auth_timeout)
    except asyncio.TimeoutError:
        await _refuse(conn, "auth_timeout", "no auth frame within the time limit")
        return None
    if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
        return None
    if msg.type == WSMsgType.ERROR:
        await _refuse(conn, "too_large", "frame too large", WSCloseCode.MESSAGE_TOO_BIG)
        return None
    frame: Any = None
    if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
        try:
            frame = decode_client_frame(msg.data)
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
            frame = None
    if not isinstance(frame, Auth):
        state.metrics.auth_failures.labels("ws_no_auth").inc()
        await _refuse(conn, "unauthorized", "the first frame must be auth")
        return None
    user_id = None
    if plausible_token(frame.token):
        user_id = await state.storage.user_for_token(token_hash(frame.token))
    if user_id is None:
        state.metrics.auth_failures.labels("ws_bad_token").inc()
        await _refuse(conn, "unauthorized", "invalid or revoked token")
        return None
    return user_id


async def _refuse(
    conn: Connection, code: str, message: str, close_code: int = CLOSE_UNAUTHORIZED
) -> None:
    ws = conn.ws
    if not ws.closed:
        with contextlib.suppress(ConnectionError, RuntimeError):
            await ws.send_frame(_error(code, message), WSMsgType.TEXT)
        await ws.close(code=close_code, message=code.encode())


async def _serve(state: ServerState, conn: Connection, user_id: str) -> None:
    ws = conn.ws
    settings = state.settings
    conn.user_id = user_id
    conn.begin_sync()
    # Attached (and, across processes, subscribed) before the backlog is read, so nothing
    # committed meanwhile is missed.
    await state.fanout.attach(conn)
    conn.send_synced(encode_frame(AuthOk(user_id=user_id)), None)
    try:
        await state.relay.sync(conn)
    finally:
        conn.end_sync()
    bucket = TokenBucket(settings.messages_per_second, settings.message_burst)
    tasks: set[asyncio.Task[None]] = set()

    def spawn(coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(_guarded(conn, coro))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    try:
        async for msg in ws:
            if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                await _handle(state, conn, msg.data, bucket, spawn)
            elif msg.type == WSMsgType.ERROR:
                await _refuse(
                    conn, "too_large", "frame over the size limit", WSCloseCode.MESSAGE_TOO_BIG
                )
                break
    finally:
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)


async def _guarded(conn: Connection, coro: Coroutine[Any, Any, None]) -> None:
    """Run a background frame handler (ack, read); a failure is logged and reported."""
    try:
        await coro
    except Exception:
        log.exception("frame handler failed", extra={"user_id": conn.user_id})
        conn.send(_error("internal_error", "the request could not be completed"))


def _detach(state: ServerState, conn: Connection) -> None:
    state.fanout.unwatch(state.presence.unsubscribe_all(conn))
    state.fanout.detach(conn)


def _frame_bytes(data: str | bytes, limit: int) -> int:
    """The frame's size in bytes; text arrives decoded, and is only re-encoded near the limit."""
    if isinstance(data, bytes) or len(data) > limit or 4 * len(data) <= limit:
        return len(data)  # a character is 1 to 4 bytes of UTF-8
    return len(data.encode("utf-8"))


async def _handle(
    state: ServerState,
    conn: Connection,
    data: str | bytes,
    bucket: TokenBucket,
    spawn: Spawn,
) -> None:
    if _frame_bytes(data, state.settings.max_frame_bytes) > state.settings.max_frame_bytes:
        state.metrics.rate_limited.labels("frame_size").inc()
        limit = state.settings.max_frame_bytes
        conn.send(_error("too_large", f"frames are limited to {limit} bytes", probe_id(data)))
        return
    try:
        frame = decode_client_frame(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        conn.send(_error("invalid_frame", str(exc), probe_id(data)))
        return
    except RecursionError:
        conn.send(_error("invalid_frame", "the frame is nested too deeply", probe_id(data)))
        return
    if _refuse_bad_ids(conn, frame):
        return
    assert conn.user_id is not None
    user_id = conn.user_id
    if isinstance(frame, Ping):
        conn.send(_PONG)
        return
    if isinstance(frame, (Message, GroupMessage, Typing, Read)):
        wait = bucket.take()
        if wait is not None:
            state.metrics.rate_limited.labels("messages_per_second").inc()
            request_id = frame.id if isinstance(frame, (Message, GroupMessage)) else None
            conn.send(
                _error(
                    "rate_limited",
                    "too many frames per second on this connection",
                    request_id,
                    retry_after=round(wait, 3),
                )
            )
            return
    if isinstance(frame, (Message, GroupMessage)):
        limit = state.settings.max_inflight_per_connection
        while conn.inflight >= limit:
            await conn.inflight_drained.wait()
        if isinstance(frame, Message):
            state.relay.send_message(conn, frame)
        else:
            state.relay.send_group_message(conn, frame)
    elif isinstance(frame, Ack):
        spawn(state.relay.acknowledge(user_id, frame.ids))
    elif isinstance(frame, Read):
        spawn(state.relay.mark_read(user_id, frame.peer_id, frame.message_ids))
    elif isinstance(frame, Typing):
        state.fanout.publish(frame.to, encode_frame(TypingOut(from_=user_id, typing=frame.typing)))
    elif isinstance(frame, SubscribePresence):
        await _subscribe(state, conn, frame.user_ids)
    else:  # a second auth frame
        conn.send(_error("invalid_frame", "already authenticated"))


def _refuse_bad_ids(conn: Connection, frame: Any) -> bool:
    """Answers `invalid_id` (and nothing else happens) if the frame carries a bad message id."""
    if isinstance(frame, (Message, GroupMessage)):
        ok = valid_message_id(frame.id)
        request_id = echoable_id(frame.id)
    elif isinstance(frame, (Ack, Read)):
        ok = all_valid_ids(frame.ids if isinstance(frame, Ack) else frame.message_ids)
        request_id = None
    else:
        return False
    if ok:
        return False
    conn.send(_error("invalid_id", MESSAGE_ID_RULE, request_id))
    return True


async def _subscribe(state: ServerState, conn: Connection, user_ids: list[str]) -> None:
    wanted = list(dict.fromkeys(user_ids))
    known = await state.storage.presence_info(wanted)
    missing = [uid for uid in wanted if uid not in known]
    if missing:
        conn.send(_error("user_not_found", "unknown user ids: " + ", ".join(missing[:20])))
    found = [uid for uid in wanted if uid in known]
    await state.fanout.watch(state.presence.subscribe(conn, found))
    online = await state.fanout.online(found)
    for uid in found:
        if uid in online:
            conn.send(encode_frame(Online(user_id=uid, online=True)))
        else:
            seen = state.presence.last_seen.get(uid, known[uid])
            conn.send(encode_frame(Online(user_id=uid, online=False, last_seen=seen)))

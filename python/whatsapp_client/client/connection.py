"""The WebSocket connection: a state machine with authentication, heartbeat and automatic
reconnection with jittered backoff (PROTOCOL.md §7)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Callable, Union

import aiohttp

from whatsapp_client import errors
from whatsapp_client._coalesce import coalesced_writes
from whatsapp_client._waits import wait_for
from whatsapp_client.client.config import ClientConfig
from whatsapp_client.client.frames import (
    Auth,
    AuthOk,
    ClientFrame,
    ErrorFrame,
    Ping,
    ServerFrame,
    UnknownFrame,
    decode_server_frame,
    encode_frame,
)
from whatsapp_client.client.logging import get_logger
from whatsapp_client.client.models import ConnectionState
from whatsapp_client.client.tasks import cancel_and_wait

__all__ = ["Connection", "backoff_delay"]

if TYPE_CHECKING:
    WebSocket = aiohttp.ClientWebSocketResponse[bool]
else:
    WebSocket = aiohttp.ClientWebSocketResponse

log = get_logger("connection")

MAX_FRAME = 8 * 1024 * 1024 + 64 * 1024
UNAUTHORIZED_CLOSE = 4401

FrameHandler = Callable[[Union[ServerFrame, UnknownFrame]], Awaitable[None]]


def backoff_delay(config: ClientConfig, attempt: int) -> float:
    """Delay before reconnect attempt ``attempt`` (1-based), jittered."""
    delays = config.reconnect_delays
    base = delays[min(max(attempt, 1), len(delays)) - 1]
    j = config.reconnect_jitter
    return max(0.0, base * random.uniform(1.0 - j, 1.0 + j))  # noqa: S311 - jitter, not crypto


class Connection:
    """One authenticated WebSocket at a time, reopened after drops while ``auto_reconnect``."""

    def __init__(
        self,
        *,
        config: ClientConfig,
        session: Callable[[], aiohttp.ClientSession],
        token: Callable[[], str | None],
        on_frame: FrameHandler,
        on_connected: Callable[[], None],
        on_state: Callable[[ConnectionState, ConnectionState], None],
        on_fatal: Callable[[errors.WhatsAppError], None],
    ) -> None:
        self._config = config
        self._session = session
        self._token = token
        self._on_frame = on_frame
        self._on_connected = on_connected
        self._on_state = on_state
        self._on_fatal = on_fatal
        self._state = ConnectionState.DISCONNECTED
        self._ws: WebSocket | None = None
        self._runner: asyncio.Task[None] | None = None
        self._first: asyncio.Future[None] | None = None
        self._stopping = False
        # created on first use, inside the running loop (Python 3.9 binds it at creation)
        self._connected_event_obj: asyncio.Event | None = None
        self.connects = 0
        """How many times the socket was opened and authenticated."""

    # --- state -----------------------------------------------------------------------------

    @property
    def state(self) -> ConnectionState:
        return self._state

    def is_connected(self) -> bool:
        return self._state is ConnectionState.CONNECTED and self._ws is not None

    @property
    def _connected_event(self) -> asyncio.Event:
        if self._connected_event_obj is None:
            self._connected_event_obj = asyncio.Event()
            if self._state is ConnectionState.CONNECTED:
                self._connected_event_obj.set()
        return self._connected_event_obj

    def _set_state(self, new: ConnectionState) -> None:
        old = self._state
        if old is new:
            return
        self._state = new
        if new is ConnectionState.CONNECTED:
            self._connected_event.set()
        else:
            self._connected_event.clear()
        log.info("connection %s -> %s", old.value, new.value)
        self._on_state(old, new)

    async def wait_connected(self, timeout: float | None = None) -> bool:
        """Waits until connected; False on timeout."""
        try:
            await wait_for(self._connected_event.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    # --- control ---------------------------------------------------------------------------

    async def connect(self) -> None:
        """Opens the connection and waits for the first attempt's outcome.

        Raises ``AuthenticationError`` for a rejected token and ``ConnectionError`` when the
        server cannot be reached (with ``auto_reconnect`` the client keeps trying in the
        background)."""
        if self._runner is not None and not self._runner.done():
            if self.is_connected():
                return
            if self._first is not None and not self._first.done():
                await asyncio.shield(self._first)
                return
            if await self.wait_connected(self._config.connect_timeout):
                return
            raise errors.ConnectionError(
                "not connected yet; the client keeps reconnecting in the background"
            )
        self._stopping = False
        first = asyncio.get_running_loop().create_future()
        self._first = first
        self._runner = asyncio.get_running_loop().create_task(
            self._run(), name="whatsapp-connection"
        )
        await asyncio.shield(first)

    async def disconnect(self) -> None:
        """Closes the socket and stops reconnecting."""
        self._stopping = True
        ws = self._ws
        if ws is not None and not ws.closed:
            await ws.close()
        await cancel_and_wait(self._runner)
        self._runner = None
        self._ws = None
        if self._first is not None and not self._first.done():
            self._first.set_exception(errors.ConnectionError("disconnect() was called"))
            self._first.exception()
        self._set_state(ConnectionState.DISCONNECTED)

    async def drop(self) -> None:
        """Closes the current socket as if the network dropped it (reconnects if enabled)."""
        ws = self._ws
        if ws is not None and not ws.closed:
            await ws.close()

    async def send(self, frame: ClientFrame) -> None:
        """Sends one frame; ``ConnectionError`` when not connected."""
        await self.send_text(encode_frame(frame))

    async def send_text(self, text: str) -> None:
        ws = self._ws
        if ws is None or ws.closed or self._state is not ConnectionState.CONNECTED:
            raise _not_connected()
        try:
            await ws.send_str(text)
        except (aiohttp.ClientError, ConnectionResetError, RuntimeError) as exc:
            raise errors.ConnectionError("the connection dropped while sending") from exc

    async def send_many(self, texts: list[str]) -> None:
        ws = self._ws
        if ws is None:
            raise _not_connected()
        # One burst of frames leaves in as few TCP segments as it needs.
        with coalesced_writes(ws.get_extra_info, len(texts) > 1):
            for t in texts:
                await self.send_text(t)

    # --- the loop --------------------------------------------------------------------------

    def _resolve_first(self, exc: BaseException | None) -> None:
        first = self._first
        if first is None or first.done():
            return
        if exc is None:
            first.set_result(None)
        else:
            first.set_exception(exc)
            first.exception()  # retrieved: no "exception never retrieved" warning

    async def _run(self) -> None:
        attempt = 0
        try:
            while not self._stopping:
                self._set_state(
                    ConnectionState.CONNECTING if attempt == 0 else ConnectionState.RECONNECTING
                )
                try:
                    ws = await self._open()
                except errors.AuthenticationError as exc:
                    log.warning("the server refused the token; not reconnecting: %s", exc)
                    self._resolve_first(exc)
                    self._on_fatal(exc)
                    self._set_state(ConnectionState.DISCONNECTED)
                    return
                except errors.ConnectionError as exc:
                    self._resolve_first(exc)
                    attempt += 1
                    limit = self._config.max_reconnect_attempts
                    if not self._config.auto_reconnect or (limit is not None and attempt > limit):
                        log.warning("cannot connect: %s; giving up", exc)
                        self._set_state(ConnectionState.DISCONNECTED)
                        return
                    delay = backoff_delay(self._config, attempt)
                    log.info("cannot connect (%s); retry %d in %.2fs", exc, attempt, delay)
                    self._set_state(ConnectionState.RECONNECTING)
                    await asyncio.sleep(delay)
                    continue
                attempt = 0
                self._ws = ws
                self.connects += 1
                self._set_state(ConnectionState.CONNECTED)
                self._resolve_first(None)
                try:
                    self._on_connected()
                    await self._serve(ws)
                finally:
                    self._ws = None
                    if not ws.closed:
                        await ws.close()
                if self._stopping:
                    break
                if ws.close_code == UNAUTHORIZED_CLOSE:
                    exc2 = errors.AuthenticationError(
                        "the server closed the connection: the token is no longer valid; "
                        "log in again",
                        code="unauthorized",
                    )
                    self._on_fatal(exc2)
                    break
                if not self._config.auto_reconnect:
                    log.warning("connection lost; auto_reconnect is off")
                    break
                attempt = 1
                self._set_state(ConnectionState.RECONNECTING)
                delay = backoff_delay(self._config, attempt)
                log.info("connection lost; reconnecting in %.2fs", delay)
                await asyncio.sleep(delay)
        finally:
            self._ws = None
            self._set_state(ConnectionState.DISCONNECTED)

    async def _open(self) -> WebSocket:
        token = self._token()
        if not token:
            raise errors.AuthenticationError(
                "not logged in: call login() before connect()", code="not_logged_in"
            )
        timeout = self._config.connect_timeout
        connecting = asyncio.ensure_future(
            self._session().ws_connect(
                self._config.ws_url, max_msg_size=MAX_FRAME, autoping=True, heartbeat=None
            )
        )
        try:
            ws = await wait_for(connecting, timeout)
        except asyncio.CancelledError:
            # Stopped just as the socket opened: nobody will use it, so close it.
            connecting.add_done_callback(_close_unclaimed)
            raise
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            raise errors.ConnectionError(
                f"cannot open the WebSocket {self._config.ws_url}: {exc.__class__.__name__}"
            ) from exc
        try:
            await ws.send_str(encode_frame(Auth(token=token)))
            msg = await wait_for(ws.receive(), timeout)
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError, RuntimeError) as exc:
            await ws.close()
            raise errors.ConnectionError("the WebSocket handshake did not complete") from exc
        except BaseException:
            await ws.close()
            raise
        if msg.type == aiohttp.WSMsgType.TEXT:
            frame = decode_server_frame(msg.data)
            if isinstance(frame, AuthOk):
                return ws
            await ws.close()
            if isinstance(frame, ErrorFrame) and frame.code in ("unauthorized", "invalid_token"):
                raise errors.AuthenticationError(
                    "the server refused the token: log in again", code="unauthorized"
                )
            raise errors.ConnectionError(f"unexpected answer to auth: {msg.data[:200]!r}")
        await ws.close()
        if ws.close_code == UNAUTHORIZED_CLOSE:
            raise errors.AuthenticationError(
                "the server refused the token: log in again", code="unauthorized"
            )
        raise errors.ConnectionError(
            f"the server closed the WebSocket during the handshake (close code {ws.close_code})"
        )

    async def _serve(self, ws: WebSocket) -> None:
        loop = asyncio.get_running_loop()
        last_rx = [loop.time()]
        hb = loop.create_task(self._heartbeat(ws, last_rx), name="whatsapp-heartbeat")
        try:
            async for msg in ws:
                last_rx[0] = loop.time()
                if msg.type == aiohttp.WSMsgType.TEXT:
                    frame = decode_server_frame(msg.data)
                    await self._on_frame(frame)
                elif msg.type == aiohttp.WSMsgType.BINARY:
                    log.debug("ignoring a binary frame")
                else:
                    break
        except (aiohttp.ClientError, ConnectionResetError, asyncio.TimeoutError) as exc:
            log.info("connection error: %s", exc.__class__.__name__)
        finally:
            await cancel_and_wait(hb)

    async def _heartbeat(self, ws: WebSocket, last_rx: list[float]) -> None:
        interval = self._config.heartbeat_interval
        loop = asyncio.get_running_loop()
        while not ws.closed:
            await asyncio.sleep(interval)
            if loop.time() - last_rx[0] > 2 * interval:
                log.warning("no frame from the server for %.1fs; reconnecting", 2 * interval)
                await ws.close()
                return
            try:
                await ws.send_str(encode_frame(Ping()))
            except (aiohttp.ClientError, ConnectionResetError, RuntimeError):
                return


def _close_unclaimed(connecting: asyncio.Future[WebSocket]) -> None:
    """Closes a WebSocket that finished opening after its caller was cancelled (otherwise
    it stays open until garbage collection, which warns about the unclosed response)."""
    if connecting.cancelled() or connecting.exception() is not None:
        return
    closing = asyncio.ensure_future(connecting.result().close())
    _CLOSING.add(closing)  # the loop keeps only a weak reference to a task
    closing.add_done_callback(_CLOSING.discard)


_CLOSING: set[asyncio.Future[bool]] = set()


def _not_connected() -> errors.ConnectionError:
    return errors.ConnectionError(
        "not connected to the server; the client reconnects automatically (or call connect())"
    )

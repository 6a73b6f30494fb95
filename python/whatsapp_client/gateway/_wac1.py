"""The ``wac1`` engine: one session is one :class:`~whatsapp_client.WhatsAppClient` account
on a chat server of ours, end-to-end encrypted.

The engine logs in (registering first when asked), keeps the session connected (the SDK
reconnects with exponential backoff; ``max_reconnect_failures`` failed attempts in a row →
``failed`` with the reason, until started again), hands received messages and receipts to
its listener, and sends through the SDK's persistent outbox under the gateway's message id,
so that a resend after a crash is answered by the server as the same message.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import random
import re
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Optional

from whatsapp_client import errors
from whatsapp_client.client import ConnectionState, Message
from whatsapp_client.client.logging import get_logger
from whatsapp_client.gateway._engine import EngineListener, SendRefused, SendResult
from whatsapp_client.gateway._errors import InvalidRecipient, RecipientNotFound
from whatsapp_client.gateway._models import MessageType, SessionStatus
from whatsapp_client.gateway._recipient_cache import RecipientCache
from whatsapp_client.gateway._wac1_client import PERMANENT, GatewayClient
from whatsapp_client.gateway._wac1_config import Wac1Credentials, Wac1Options
from whatsapp_client.gateway._wac1_inbound import media_of, to_inbound

__all__ = ["Wac1Engine"]

log = get_logger("gateway.wac1")

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_USERNAME = re.compile(r"^[a-z0-9_.\-]{3,32}$")
_SDK_KIND = {"image": "image", "video": "video", "audio": "audio", "document": "file"}
# The session store's password is 256 random bits, not a person's password: Argon2id at
# the OWASP floor is ample, and keeps a restart of hundreds of sessions quick.
_STORE_KDF = {"kdf_memory_kib": 19 * 1024, "kdf_iterations": 2}
_DOWNLOAD_ATTEMPTS = 3
_TRANSIENT_DOWNLOAD = (errors.ConnectionError, errors.ServerError, errors.RateLimitError)


class Wac1Engine:
    name = "wac1"
    # Groups on a wac1 server carry text only (PROTOCOL.md §6.6).
    group_media = False

    def __init__(
        self,
        session_id: str,
        config: Mapping[str, str],
        credentials: Wac1Credentials,
        directory: Path,
        listener: EngineListener,
        options: Wac1Options,
        *,
        register: bool,
        logins: Optional[asyncio.Semaphore] = None,
    ) -> None:
        self._session_id = session_id
        self._logins = logins or asyncio.Semaphore(1)
        self._server_url = config["server_url"]
        self._username = config["username"]
        self._creds = credentials
        self._dir = directory
        self._listener = listener
        self._opts = options
        self._register = register
        self._client: Optional[GatewayClient] = None
        self._runner: Optional[asyncio.Task[None]] = None
        self._live = False  # listener calls allowed (False once stop() began)
        self._gone: asyncio.Event = asyncio.Event()
        self._fatal: Optional[errors.WhatsAppError] = None
        self._statuses: asyncio.Queue[tuple[SessionStatus, Optional[str]]] = asyncio.Queue()
        self._reporter: Optional[asyncio.Task[None]] = None
        self._names: dict[str, str] = {}
        self._user_id: Optional[str] = None
        self._recipients = RecipientCache(options.recipient_cache_seconds)

    # --- lifecycle ----------------------------------------------------------------------

    @property
    def user_id(self) -> Optional[str]:
        """The account's user id, once logged in."""
        client = self._client
        if client is not None and client.user_id is not None:
            self._user_id = client.user_id
        return self._user_id

    @property
    def connected(self) -> bool:
        return self._client is not None and self._client.is_connected()

    async def start(self) -> None:
        if self._runner is not None and not self._runner.done():
            return
        self._live = True
        # Received media not yet sealed by the gateway when it stopped: plaintext, and the
        # server delivers those messages again.
        await asyncio.to_thread(shutil.rmtree, self._dir / "incoming", True)
        loop = asyncio.get_running_loop()
        self._reporter = loop.create_task(self._report_statuses(), name="wac1-status")
        self._runner = loop.create_task(self._run(), name=f"wac1-{self._session_id}")

    async def stop(self) -> None:
        if self._client is not None:
            # Before the listener goes quiet: what it no longer records stays unacknowledged.
            self._client.stop_acknowledging()
        self._live = False
        runner, self._runner = self._runner, None
        if runner is not None:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
        await self._close_client()
        reporter, self._reporter = self._reporter, None
        if reporter is not None:
            reporter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reporter

    async def erase(self) -> None:
        await asyncio.to_thread(shutil.rmtree, self._dir, True)

    async def _close_client(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            gone = errors.ConnectionError("the session's client closed; the send is retried")
            for mid in list(client.sent_waiters):
                client.fail_waiter(mid, gone)
            await client.close()

    # --- status ---------------------------------------------------------------------------

    def _status(self, status: SessionStatus, reason: Optional[str] = None) -> None:
        if self._live:
            self._statuses.put_nowait((status, reason))

    async def _report_statuses(self) -> None:
        # One task reports them all, in the order they happened.
        last: Optional[tuple[SessionStatus, Optional[str]]] = None
        while True:
            item = await self._statuses.get()
            if item != last and self._live:
                last = item
                await self._listener.on_status(*item)

    def _on_state(self, old: ConnectionState, new: ConnectionState) -> None:
        if new is ConnectionState.CONNECTED:
            self._status("connected")
        elif new is ConnectionState.RECONNECTING:
            self._status("disconnected", "connection lost; reconnecting")
        elif new is ConnectionState.DISCONNECTED and self._live:
            self._gone.set()  # the SDK gave up, or the server refused the token

    def _on_fatal(self, exc: errors.WhatsAppError) -> None:
        self._fatal = exc
        self._gone.set()

    # --- the session loop -----------------------------------------------------------------

    def _delay(self, failures: int) -> float:
        base = self._opts.reconnect_base_delay * 2.0 ** (failures - 1)
        return min(self._opts.reconnect_max_delay, base) * random.uniform(0.8, 1.2)  # noqa: S311

    async def _run(self) -> None:
        failures = 0
        self._status("connecting")
        while True:
            self._gone.clear()
            self._fatal = None
            try:
                async with self._logins:
                    await self._open()
            except errors.AuthenticationError as exc:
                await self._close_client()
                self._status("failed", f"the server refused the credentials: {exc}")
                return
            except (errors.WhatsAppError, OSError) as exc:
                await self._close_client()
                failures += 1
                if failures >= self._opts.max_failures:
                    self._status("failed", f"{failures} connection attempts failed: {exc}")
                    return
                self._status("connecting", f"attempt {failures} failed: {exc}")
                await asyncio.sleep(self._delay(failures))
                continue
            failures = 0
            await self._gone.wait()
            fatal = self._fatal
            await self._close_client()
            if fatal is None:
                self._status(
                    "failed", f"{self._opts.max_failures} reconnection attempts failed in a row"
                )
                return
            # The token was refused (e.g. revoked): log in afresh with the credentials.
            log.info("session %s: token refused; logging in again", self._session_id)
            failures = 1
            self._status("connecting", "the server refused the token; logging in again")

    async def _open(self) -> None:
        opts = self._opts
        delays = tuple(
            min(opts.reconnect_max_delay, opts.reconnect_base_delay * 2**i) for i in range(8)
        )
        client = GatewayClient(
            store_password=self._creds.store_password,
            on_state=self._on_state,
            on_fatal=self._on_fatal,
            server_url=self._server_url,
            storage_path=str(self._dir / "client"),
            reconnect_delays=delays,
            max_reconnect_attempts=opts.max_failures,
            **{**_STORE_KDF, **opts.client_options},
        )
        self._client = client
        client.on_message(self._on_message)
        client.on_group_message(self._on_message)
        client.on_message_status(self._on_message_status)
        marker = self._dir / "registered"
        if self._register and not await asyncio.to_thread(marker.exists):
            try:
                user = await client.register(self._username, self._creds.password)
            except errors.UsernameTakenError:
                user = await client.login(self._username, self._creds.password)
            await asyncio.to_thread(marker.touch)
        else:
            user = await client.login(self._username, self._creds.password)
        self._user_id = user.id
        if client.is_connected():
            self._status("connected")

    # --- inbound --------------------------------------------------------------------------

    async def _name_of(self, user_id: str) -> Optional[str]:
        if user_id not in self._names and self._client is not None:
            try:
                self._names[user_id] = (await self._client.get_user(user_id)).username
            except errors.WhatsAppError:
                return None
        return self._names.get(user_id)

    async def _on_message(self, message: Message) -> None:
        client = self._client
        if not self._live or client is None or message.direction != "in":
            return
        media = None
        try:
            media = await self._download(client, message)
        except (OSError, errors.WhatsAppError) as exc:
            log.warning("session %s: media of %s not stored: %s", self._session_id, message.id, exc)
            full = isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)
            code = "storage_full" if full else "media_download_failed"
            await self._listener.on_error(
                code,
                f"the media of a received message could not be stored: {exc}",
                {"message_id": message.id},
            )
        name = await self._name_of(message.from_user)
        try:
            await self._listener.on_message(to_inbound(message, name, media))
        finally:
            if media is not None:
                await asyncio.to_thread(shutil.rmtree, media.path.parent, True)

    async def _download(self, client: GatewayClient, message: Message) -> Any:
        """The message's media, retried a few times when the server cannot be reached."""
        for attempt in range(_DOWNLOAD_ATTEMPTS):
            try:
                return await media_of(client, message, self._dir / "incoming")
            except _TRANSIENT_DOWNLOAD as exc:
                if attempt + 1 == _DOWNLOAD_ATTEMPTS:
                    raise
                log.info("session %s: media download failed (%s); retrying", self._session_id, exc)
                await asyncio.sleep(0.5 * 2**attempt)
        return None

    async def _on_message_status(self, message_id: str, status: str) -> None:
        if self._live and status in ("delivered", "read"):
            await self._listener.on_message_status(message_id, status, int(time.time() * 1000))
        elif status == "failed" and self._client is not None:
            self._client.fail_waiter(message_id, SendRefused("the server refused the message"))

    # --- recipients -------------------------------------------------------------------------

    def _require(self) -> GatewayClient:
        client = self._client
        if client is None or client.user is None:
            raise errors.ConnectionError("the session is not logged in")
        return client

    async def resolve_recipient(self, to: str) -> str:
        is_id = bool(_UUID.match(to))
        if not is_id and not _USERNAME.match(to):
            # Refused on its shape alone, even while the session reconnects.
            raise InvalidRecipient(f"{to[:64]!r} is neither a user id nor a valid username")
        client = self._require()
        known = self._recipients.get(to)
        if known is not None:
            return known
        try:
            user_id = (await (client.get_user(to) if is_id else client.find_user(to))).id
        except errors.NotFoundError as exc:
            raise RecipientNotFound(f"no user {to[:64]!r} on this server") from exc
        self._recipients.put(to, user_id)
        return user_id

    async def check_group(self, group_id: str) -> None:
        client = self._require()
        try:
            await client.get_group(group_id)
        except (errors.NotFoundError, errors.ValidationError) as exc:
            raise RecipientNotFound(f"this session is not a member of group {group_id!r}") from exc

    # --- sending ------------------------------------------------------------------------------

    async def send_text(
        self,
        to: Optional[str],
        group_id: Optional[str],
        text: str,
        *,
        message_id: Optional[str] = None,
    ) -> SendResult:
        client = self._require()
        if group_id is not None:
            try:
                msg = await client.send_group_message(group_id, text)
            except PERMANENT as exc:
                raise SendRefused(str(exc)) from exc
            return SendResult(engine_message_id=msg.id, timestamp=msg.timestamp)
        assert to is not None
        payload = {"type": "text", "text": text}

        async def submit(mid: Optional[str]) -> Message:
            return await client.send_payload(to, payload, text, message_id=mid)

        return await client.send_once(message_id, submit)

    async def send_media(
        self,
        to: Optional[str],
        group_id: Optional[str],
        path: Path,
        *,
        kind: MessageType,
        mime: str,
        filename: Optional[str],
        caption: Optional[str],
        message_id: Optional[str] = None,
    ) -> SendResult:
        client = self._require()
        if group_id is not None or to is None:
            raise SendRefused("wac1 groups carry text only; media cannot be sent to a group")
        sdk_kind = _SDK_KIND.get(kind, "file")

        async def submit(mid: Optional[str]) -> Message:
            return await client._media_sender.send(
                to,
                path,
                kind=sdk_kind,
                check_mime=lambda _detected: mime,
                filename=filename or (path.name if sdk_kind == "file" else None),
                caption=caption,
                progress=None,
                message_id=mid,
            )

        return await client.send_once(message_id, submit)

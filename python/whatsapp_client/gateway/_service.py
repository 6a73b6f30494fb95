"""``Gateway``: the service the HTTP routes call (:class:`~._facade.GatewayService`).

It validates what needs an engine (the recipient exists, the session is running), seals
media, queues sends durably (with the idempotent answer in the same transaction) and leaves
the rest to the session manager and the storage. A send to a session whose engine runs in
another gateway process is queued with its recipient unchecked: that process checks it
before sending and marks the message ``failed`` (``recipient_not_found``) if it must.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Callable, Optional

import msgspec

from whatsapp_client.client.logging import get_logger
from whatsapp_client.gateway._cloud_config import CloudFactory, CloudOptions
from whatsapp_client.gateway._engine import Engine, EngineFactory
from whatsapp_client.gateway._errors import (
    Conflict,
    InvalidRequest,
    NotFound,
    QueueFull,
    SessionNotConnected,
)
from whatsapp_client.gateway._event_hub import NULL_FEED, LiveFeed
from whatsapp_client.gateway._facade import MediaReader
from whatsapp_client.gateway._ids import new_id, now_ms
from whatsapp_client.gateway._media_store import MediaStore, Sealer
from whatsapp_client.gateway._metrics import GatewayMetrics
from whatsapp_client.gateway._models import (
    Delivery,
    DeliveryState,
    IdempotentAnswer,
    MediaInfo,
    MessageFilter,
    MessageRecord,
    MessageType,
    OutboundRequest,
    QueueItem,
    SessionRecord,
    WebhookEndpoint,
)
from whatsapp_client.gateway._requests import Accepted, CreateSession, SendSpec, SessionPatch
from whatsapp_client.gateway._retention import RetentionSweep
from whatsapp_client.gateway._send_prep import check_shape, engine_peer, seal_upload
from whatsapp_client.gateway._sessions import SessionManager
from whatsapp_client.gateway._settings import GatewaySettings
from whatsapp_client.gateway._storage import Storage
from whatsapp_client.gateway._wac1_config import Wac1Factory, Wac1Options
from whatsapp_client.gateway._webhook_endpoints import build_endpoints

__all__ = ["Gateway", "default_engines"]

log = get_logger("gateway.service")

_ACCEPTING = ("connected", "connecting", "disconnected")


def default_engines(settings: GatewaySettings) -> dict[str, EngineFactory]:
    """The engines a gateway runs unless told otherwise: ``wac1`` and ``cloud``."""
    return {
        "wac1": Wac1Factory(Wac1Options.from_settings(settings)),
        "cloud": CloudFactory(CloudOptions.from_settings(settings)),
    }


class Gateway:
    """``Gateway(settings, storage, vault, metrics, wake=dispatcher.wake)``: ``storage``
    is opened by :meth:`start` and closed by :meth:`close`; media and session files live
    under ``data_dir`` (default ``settings.data_dir``)."""

    def __init__(
        self,
        settings: GatewaySettings,
        storage: Storage,
        vault: Sealer,
        metrics: GatewayMetrics,
        *,
        engines: Optional[Mapping[str, EngineFactory]] = None,
        wake: Callable[[], None] = lambda: None,
        data_dir: Optional[Path] = None,
        live: LiveFeed = NULL_FEED,
        owner: Optional[str] = None,
    ) -> None:
        self.settings = settings
        self._live = live  # the dashboard's event hub
        self._storage = storage
        self._metrics = metrics
        self._wake = wake
        root = data_dir if data_dir is not None else Path(settings.data_dir)
        self.media = MediaStore(root / "media", vault)
        if engines is None:
            engines = default_engines(settings)
        self.sessions = SessionManager(
            storage,
            self.media,
            settings,
            metrics,
            engines,
            wake=wake,
            data_dir=root,
            live=live,
            owner=owner,
        )
        self.retention = RetentionSweep(
            storage, settings.delivery_retention_seconds, settings.retention_sweep_interval
        )

    async def start(self) -> None:
        await self._storage.open()
        await self.sessions.restore()
        self.retention.start()

    async def close(self) -> None:
        await self.retention.close()
        await self.sessions.close()
        await self._storage.close()

    # --- sessions -----------------------------------------------------------------------------

    async def create_session(
        self, spec: CreateSession, *, owner_id: Optional[str] = None
    ) -> tuple[SessionRecord, list[WebhookEndpoint]]:
        factory = self.sessions.factories.get(spec.engine)
        if factory is None:
            known = ", ".join(sorted(self.sessions.factories))
            raise InvalidRequest(f"engine must be one of: {known}")
        name = spec.name.strip()
        if not 1 <= len(name) <= 100:
            raise InvalidRequest("name must be 1 to 100 characters")
        rate = self._rate(spec.rate_limit_per_minute)
        fields = {k: v for k, v in msgspec.structs.asdict(spec).items() if k != "webhooks"}
        config, credentials = factory.validate(fields)
        await self._refuse_same_account(spec.engine, config)
        session_id = new_id("ses")
        endpoints = build_endpoints(
            session_id,
            spec.webhooks or [],
            block_private=self.settings.webhook_block_private,
            now=now_ms(),
        )
        record = SessionRecord(
            id=session_id,
            name=name,
            engine=spec.engine,
            config=config,
            status="connecting",
            running=True,
            rate_limit_per_minute=rate,
            created_at=now_ms(),
            owner_id=owner_id,
        )
        await self._storage.create_session(record, credentials, endpoints)
        await self.sessions.launch(record, register=spec.register)
        return await self.get_session(session_id), endpoints

    async def _refuse_same_account(self, engine: str, config: Mapping[str, str]) -> None:
        """Two sessions of one account would be two devices replacing each other's keys
        (or, for ``cloud``, two sessions answering one number's webhooks)."""
        key = getattr(self.sessions.factories[engine], "account", None)

        def account(cfg: Mapping[str, str]) -> tuple[Optional[str], ...]:
            if callable(key):
                return tuple(key(cfg))
            return (cfg.get("server_url"), cfg.get("username"))

        mine = account(config)
        for other in await self._storage.list_sessions():
            if other.engine == engine and account(other.config) == mine:
                raise Conflict(f"session {other.id!r} already runs this account")

    def _rate(self, value: Optional[int]) -> int:
        rate = self.settings.rate_limit_per_minute if value is None else value
        if not 1 <= rate <= 100_000:
            raise InvalidRequest("rate_limit_per_minute must be between 1 and 100000")
        return rate

    async def list_sessions(self) -> list[SessionRecord]:
        return await self._storage.list_sessions()

    async def get_session(self, session_id: str) -> SessionRecord:
        record = await self._storage.get_session(session_id)
        if record is None:
            raise NotFound(f"no session {session_id!r}")
        return record

    async def update_session(
        self, session_id: str, patch: SessionPatch
    ) -> tuple[SessionRecord, list[WebhookEndpoint]]:
        await self.get_session(session_id)
        name = patch.name.strip() if patch.name is not None else None
        if name is not None and not 1 <= len(name) <= 100:
            raise InvalidRequest("name must be 1 to 100 characters")
        limit = patch.rate_limit_per_minute
        rate = None if limit is None else self._rate(limit)
        endpoints = None
        if patch.webhooks is not None:
            # Endpoints whose URL is kept keep their id, secrets and pending deliveries.
            endpoints = build_endpoints(
                session_id,
                patch.webhooks,
                block_private=self.settings.webhook_block_private,
                now=now_ms(),
                existing=await self._storage.list_webhooks(session_id),
            )
        record = await self._storage.update_session(
            session_id, name=name, rate_limit_per_minute=rate
        )
        if endpoints is not None:
            await self._storage.replace_webhooks(session_id, endpoints)
        if rate is not None:
            self.sessions.set_rate(session_id, rate)
        if endpoints is None:
            return record, await self._storage.list_webhooks(session_id)
        return record, endpoints

    async def delete_session(self, session_id: str) -> None:
        await self.sessions.delete(session_id)
        self._metrics.forget_session(session_id)

    async def stop_session(self, session_id: str) -> SessionRecord:
        await self.get_session(session_id)
        await self.sessions.stop(session_id)
        return await self.get_session(session_id)

    async def restart_session(self, session_id: str) -> SessionRecord:
        await self.get_session(session_id)
        await self.sessions.restart(session_id)
        return await self.get_session(session_id)

    async def list_webhooks(self, session_id: str) -> list[WebhookEndpoint]:
        await self.get_session(session_id)
        return await self._storage.list_webhooks(session_id)

    # --- sending ---------------------------------------------------------------------------------

    async def send(
        self, session_id: str, spec: SendSpec, *, idempotency_scope: Optional[str] = None
    ) -> tuple[int, bytes]:
        if idempotency_scope is not None:
            earlier = await self._storage.get_idempotent(idempotency_scope)
            if earlier is not None:
                return earlier.status, earlier.body
        session = await self.get_session(session_id)
        check_shape(spec)
        runtime = self.sessions.runtime(session_id)
        # No runtime here but running: another process runs it (or takes it over soon).
        status = session.status if runtime is None else runtime.status
        if not session.running or status not in _ACCEPTING:
            raise SessionNotConnected(
                f"session {session_id!r} is {session.status}: start it (POST .../restart)"
            )
        engine = None if runtime is None else runtime.engine
        checked = engine is not None
        if engine is not None:
            has_file = spec.media is not None
            peer = await engine_peer(engine, to=spec.to, group_id=spec.group_id, media=has_file)
        else:
            peer = spec.group_id or spec.to or ""  # check_shape: exactly one is given
        depth = await self._storage.queue_depth(session_id)
        if depth >= self.settings.max_queue:
            # Refused before a large file is sealed for nothing (the storage checks again).
            raise QueueFull(f"the session's queue holds {depth} messages; try again later")
        media: Optional[MediaInfo] = None
        sealed = b""
        kind: MessageType = "text"
        if spec.media is not None:
            media, sealed, kind = await seal_upload(
                self.media, session_id, spec.media, self.settings.max_file_bytes
            )
        try:
            return await self._enqueue(
                session, spec, peer, media, sealed, kind, idempotency_scope, depth, checked
            )
        except BaseException:
            if media is not None:
                await self.media.remove(session_id, media.media_id)
            raise

    async def _enqueue(
        self,
        session: SessionRecord,
        spec: SendSpec,
        peer: str,
        media: Optional[MediaInfo],
        sealed: bytes,
        kind: MessageType,
        scope: Optional[str],
        depth: int,
        checked: bool,
    ) -> tuple[int, bytes]:
        sid = session.id
        now = now_ms()
        message_id = new_id("msg")
        if media is not None:
            await self._storage.save_media(sid, media, sealed)
        message = MessageRecord(
            id=message_id,
            session_id=sid,
            direction="outbound",
            peer=peer,
            group_id=spec.group_id,
            type=kind,
            text=spec.text,
            caption=spec.caption,
            status="queued",
            timestamp=now,
            media=media,
            engine_message_id=message_id,
        )
        request = OutboundRequest(
            to=None if spec.group_id else peer,
            group_id=spec.group_id,
            text=spec.text,
            caption=spec.caption,
            media=media,
            kind=kind if media is not None else None,
            unchecked=not checked,
        )
        item = QueueItem(
            seq=0, session_id=sid, message_id=message_id, request=request, enqueued_at=now
        )
        # The position is the depth at acceptance: stored with the answer, so a retried
        # request gets exactly the first answer.
        position = depth + 1
        body = msgspec.json.encode(Accepted(id=message_id, status="queued", position=position))
        idempotency = None
        if scope is not None:
            expires = now + self.settings.idempotency_ttl_seconds * 1000
            idempotency = (scope, IdempotentAnswer(status=202, body=body, expires_at=expires))
        await self._storage.enqueue_send(
            message, item, max_depth=self.settings.max_queue, idempotency=idempotency
        )
        self.sessions.kick(sid)
        self._metrics.queue_depth.labels(sid).inc()
        # Live data: the new message and the queue depth.
        self._live.message(sid, message_id, "outbound", "queued", now)
        self._live.counters_changed(sid)
        return 202, body

    # --- reading ---------------------------------------------------------------------------------

    async def list_messages(
        self, session_id: str, filters: MessageFilter, *, limit: int, cursor: Optional[str]
    ) -> tuple[list[MessageRecord], Optional[str]]:
        await self.get_session(session_id)
        return await self._storage.list_messages(session_id, filters, limit=limit, cursor=cursor)

    async def get_message(self, session_id: str, message_id: str) -> MessageRecord:
        message = await self._storage.get_message(session_id, message_id)
        if message is None:
            raise NotFound(f"no message {message_id!r} in session {session_id!r}")
        return message

    async def open_media(self, session_id: str, media_id: str) -> MediaReader:
        found = await self._storage.get_media(session_id, media_id)
        if found is None:
            raise NotFound(f"no media {media_id!r} in session {session_id!r}")
        info, sealed = found
        return self.media.reader(session_id, info, sealed)

    async def list_deliveries(
        self,
        session_id: str,
        *,
        endpoint_id: Optional[str] = None,
        state: Optional[DeliveryState] = None,
        limit: int = 100,
    ) -> list[Delivery]:
        await self.get_session(session_id)
        return await self._storage.list_deliveries(
            session_id, endpoint_id=endpoint_id, state=state, limit=limit
        )

    async def redeliver(self, session_id: str, seq: int) -> Delivery:
        await self.get_session(session_id)
        delivery = await self._storage.redeliver(session_id, seq, now_ms())
        self._wake()
        return delivery

    async def queue_depth(self, session_id: str) -> int:
        await self.get_session(session_id)
        return await self._storage.queue_depth(session_id)

    def running_engine(self, session_id: str) -> Optional[Engine]:
        runtime = self.sessions.runtime(session_id)
        return None if runtime is None else runtime.engine

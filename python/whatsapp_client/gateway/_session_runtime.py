"""One running session: its engine's listener (every status, message, receipt and error is
recorded with its event in one storage transaction, then the webhook dispatcher is woken)
and its send worker."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Callable, Optional

from whatsapp_client.client.logging import get_logger
from whatsapp_client.gateway._engine import Engine, InboundMessage
from whatsapp_client.gateway._errors import StorageFull
from whatsapp_client.gateway._event_hub import NULL_FEED, LiveFeed
from whatsapp_client.gateway._ids import new_id, now_ms
from whatsapp_client.gateway._log_buffer import mask_recipient
from whatsapp_client.gateway._media_store import MediaStore
from whatsapp_client.gateway._metrics import GatewayMetrics
from whatsapp_client.gateway._models import (
    Event,
    EventType,
    MediaInfo,
    MessageRecord,
    MessageState,
    SessionStatus,
)
from whatsapp_client.gateway._sender import SendWorker
from whatsapp_client.gateway._storage import Storage

__all__ = ["SessionRuntime", "media_url"]

log = get_logger("gateway.sessions")


def media_url(base_url: Optional[str], session_id: str, media_id: str) -> str:
    """Where a stored media file is served (relative when no base URL is configured)."""
    base = (base_url or "").rstrip("/")
    return f"{base}/api/v1/sessions/{session_id}/media/{media_id}"


class SessionRuntime:
    """The :class:`~._engine.EngineListener` of one session, and its worker."""

    def __init__(
        self,
        session_id: str,
        storage: Storage,
        media: MediaStore,
        metrics: GatewayMetrics,
        *,
        wake: Callable[[], None],
        base_url: Optional[str],
        on_status: Callable[[str, SessionStatus], None],
        live: LiveFeed = NULL_FEED,
    ) -> None:
        self._live = live  # the dashboard's event hub
        self.session_id = session_id
        self._storage = storage
        self._media = media
        self._metrics = metrics
        self._wake = wake
        self._base_url = base_url
        self._status_hook = on_status
        self.engine: Optional[Engine] = None
        self.worker: Optional[SendWorker] = None
        self.status: SessionStatus = "connecting"

    def _event(self, type_: EventType, data: dict[str, object]) -> Event:
        return Event(
            id=new_id("evt"), type=type_, session_id=self.session_id, timestamp=now_ms(), data=data
        )

    async def close(self) -> None:
        """Stops the worker and the engine; no listener call is made afterwards."""
        if self.worker is not None:
            await self.worker.stop()
        if self.engine is not None:
            await self.engine.stop()

    # --- EngineListener ------------------------------------------------------------------

    async def on_status(self, status: SessionStatus, reason: Optional[str]) -> None:
        self.status = status
        self._status_hook(self.session_id, status)
        data: dict[str, object] = {"status": status, "reason": reason}
        try:
            if status == "connected":
                # Before the status: whoever sees "connected" also sees the account's id.
                user_id = getattr(self.engine, "user_id", None)
                if isinstance(user_id, str):
                    await self._storage.update_session(self.session_id, user_id=user_id)
            await self._storage.set_session_status(
                self.session_id, status, reason, self._event("session.status", data)
            )
        except Exception:
            log.exception("session %s: cannot record status %s", self.session_id, status)
            return
        self._wake()
        self._live.session_status(self.session_id, status, reason)
        if status == "connected" and self.worker is not None:
            self.worker.kick()

    async def on_message(self, message: InboundMessage) -> None:
        sid = self.session_id
        info: Optional[MediaInfo] = None
        if message.media is not None:
            info = await self._store_media(message)
        record = MessageRecord(
            id=new_id("msg"),
            session_id=sid,
            direction="inbound",
            peer=message.group_id or message.sender,
            peer_name=None if message.group_id else message.sender_name,
            group_id=message.group_id,
            type=message.type,
            text=message.text,
            caption=message.caption,
            status="received",
            timestamp=message.timestamp or now_ms(),
            media=info,
            engine_message_id=message.engine_message_id,
        )
        data: dict[str, object] = {
            "id": record.id,
            "from": message.sender,
            "from_name": message.sender_name,
            "text": message.text,
            "caption": message.caption,
            "timestamp": record.timestamp,
            "type": message.type,
            "group_id": message.group_id,
        }
        if info is not None:
            data["media"] = {
                "id": info.media_id,
                "url": media_url(self._base_url, sid, info.media_id),
                "mime": info.mime,
                "size": info.size,
                "filename": info.filename,
                "sha256": info.sha256,
            }
        try:
            new = await self._storage.record_inbound(record, self._event("message.received", data))
        except Exception:
            log.exception("session %s: cannot record received message %s", sid, record.id)
            new = False
        if not new:
            if info is not None:
                await self._media.remove(sid, info.media_id)
            return
        self._metrics.messages_received.labels(sid).inc()
        self._wake()
        self._live.message(sid, record.id, "inbound", "received", record.timestamp)
        self._live.counters_changed(sid)
        with contextlib.suppress(Exception):
            await self._storage.touch_session(sid, now_ms())

    async def _store_media(self, message: InboundMessage) -> Optional[MediaInfo]:
        media = message.media
        assert media is not None
        media_id = new_id("med")
        try:
            info, sealed = await self._media.put(
                self.session_id, media_id, media.path, mime=media.mime, filename=media.filename
            )
            await self._storage.save_media(self.session_id, info, sealed)
            return info
        except StorageFull as exc:
            await self.on_error(
                "storage_full",
                exc.message,
                {"message_id": message.engine_message_id, "sender": message.sender},
            )
        except Exception:
            log.exception("session %s: cannot store received media", self.session_id)
            await self._media.remove(self.session_id, media_id)
        finally:
            with contextlib.suppress(FileNotFoundError):
                await asyncio.to_thread(media.path.unlink)
        return None

    async def on_message_status(
        self, engine_message_id: str, status: str, at: int, *, reason: Optional[str] = None
    ) -> None:
        states: dict[str, MessageState] = {
            "delivered": "delivered",
            "read": "read",
            "failed": "failed",
        }
        state = states.get(status)
        if state is None:
            return
        if self.worker is not None:
            # A receipt can overtake the record of the send it is about.
            await self.worker.wait_recorded(engine_message_id)
        try:
            changed = await self._storage.set_message_status(
                self.session_id, engine_message_id, state, new_id("evt"), at
            )
        except Exception:
            log.exception("session %s: cannot record a %s receipt", self.session_id, status)
            return
        if changed is None:
            return
        self._wake()
        self._live.message(self.session_id, changed.id, "outbound", state, at)
        if state == "failed":
            # Failed after the network accepted it (cloud): why, with the gateway's id.
            self._live.counters_changed(self.session_id)
            log.warning(
                "session %s: message %s failed after it was sent: %s",
                self.session_id,
                changed.id,
                reason or "no reason given",
                extra={
                    "session_id": self.session_id,
                    "message_id": changed.id,
                    "recipient": mask_recipient(changed.peer),
                    "error": reason or "the message failed",
                    "engine_message_id": engine_message_id,
                    "retry": "none (reported by the network after acceptance)",
                },
            )
            context = {"message_id": changed.id}
            await self.on_error("message_failed", reason or "the message failed", context)

    async def on_error(self, code: str, message: str, context: Mapping[str, str]) -> None:
        data: dict[str, object] = {"code": code, "message": message, **context}
        try:
            await self._storage.add_events([self._event("error", data)])
        except Exception:
            log.exception("session %s: cannot record an error event (%s)", self.session_id, code)
            return
        self._wake()

"""Message routing: store first, then answer ``sent`` and fan out, in commit order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from whatsapp_client.server.connection import Connection
from whatsapp_client.server.fanout import Fanout
from whatsapp_client.server.frames import (
    Error,
    GroupMessage,
    GroupMessageOut,
    Message,
    MessageOut,
    Sent,
    Status,
    encode_frame,
)
from whatsapp_client.server.logs import get_logger
from whatsapp_client.server.metrics import Metrics
from whatsapp_client.server.storage import Storage
from whatsapp_client.server.storage.records import GroupStoreOutcome, StoreOutcome

log = get_logger("relay")

_ERRORS = {
    "user_not_found": "no such recipient",
    "queue_full": "the recipient has too many undelivered messages; try again later",
    "recipient_quota_exceeded": "the recipient has too much undelivered content; try later",
    "group_not_found": "no such group, or you are not a member",
}

BACKLOG_PAGE = 500


def _error(code: str, request_id: str) -> bytes:
    return encode_frame(Error(code=code, message=_ERRORS.get(code, code), id=request_id))


def _storage_failed(request_id: str) -> bytes:
    return encode_frame(Error(code="internal_error", message="could not store", id=request_id))


class Relay:
    def __init__(
        self,
        storage: Storage,
        fanout: Fanout,
        metrics: Metrics,
        max_pending: int,
        max_pending_bytes: int | None = None,
    ) -> None:
        self._storage = storage
        self._fanout = fanout
        self._metrics = metrics
        self._max_pending = max_pending
        self._max_pending_bytes = max_pending_bytes
        # Bound once: looking a labelled child up costs a lock and a dict per message.
        self._relayed_direct = metrics.messages_relayed.labels("direct")
        self._relayed_group = metrics.messages_relayed.labels("group")

    # -- direct messages -------------------------------------------------------------------

    def send_message(self, conn: Connection, frame: Message) -> None:
        sender = self._begin(conn)

        def committed(outcome: Any) -> None:
            if not self._answer(conn, frame.id, outcome, "a message"):
                return
            assert isinstance(outcome, StoreOutcome)
            if outcome.new:
                self._relayed_direct.inc()
                self._metrics.queue_depth.inc()
                payload = encode_frame(
                    MessageOut(
                        id=frame.id,
                        from_=sender,
                        to=frame.to,
                        content=frame.content,
                        timestamp=outcome.timestamp,
                    )
                )
                self._fanout.publish(frame.to, payload, (sender, frame.id))

        self._storage.submit_message(
            sender,
            frame.id,
            frame.to,
            frame.content,
            self._max_pending,
            committed,
            max_pending_bytes=self._max_pending_bytes,
        )

    @staticmethod
    def _begin(conn: Connection) -> str:
        """Counts a frame in flight until its commit answers; returns the sender."""
        assert conn.user_id is not None
        conn.inflight += 1
        conn.inflight_drained.clear()
        return conn.user_id

    def _answer(self, conn: Connection, frame_id: str, outcome: Any, what: str) -> bool:
        """Answers a committed (or failed) store with `sent` or an error frame.

        Returns whether the message was stored, so the caller goes on to relay it.
        """
        conn.inflight -= 1
        if conn.inflight <= 0:
            conn.inflight_drained.set()
        if isinstance(outcome, BaseException):
            log.error(f"storing {what} failed", extra={"error": repr(outcome)})
            conn.send(_storage_failed(frame_id))
            return False
        if outcome.error is not None:
            conn.send(_error(outcome.error, frame_id))
            return False
        conn.send(encode_frame(Sent(id=frame_id, timestamp=outcome.timestamp)))
        return True

    async def acknowledge(self, user_id: str, ids: Sequence[str]) -> None:
        outcome = await self._storage.acknowledge(user_id, ids)
        self._metrics.queue_depth.dec(outcome.cleared)
        for batch in outcome.batches:
            await self.route_status(
                batch.sender,
                encode_frame(Status(message_ids=list(batch.ids), status="delivered", by=user_id)),
            )

    async def mark_read(self, user_id: str, peer_id: str, ids: Sequence[str]) -> None:
        changed = await self._storage.mark_read(user_id, peer_id, ids)
        if changed:
            await self.route_status(
                peer_id, encode_frame(Status(message_ids=list(changed), status="read", by=user_id))
            )

    async def route_status(self, user_id: str, payload: bytes) -> None:
        """To the sender now if online, else into its durable status queue."""
        if await self._fanout.deliver(user_id, payload) == 0:
            self._storage.queue_status(user_id, payload)

    # -- groups ----------------------------------------------------------------------------

    def send_group_message(self, conn: Connection, frame: GroupMessage) -> None:
        sender = self._begin(conn)

        def committed(outcome: Any) -> None:
            if not self._answer(conn, frame.id, outcome, "a group message"):
                return
            assert isinstance(outcome, GroupStoreOutcome)
            if not outcome.new:
                return
            self._relayed_group.inc()
            payload = encode_frame(
                GroupMessageOut(
                    id=frame.id,
                    group_id=frame.group_id,
                    group_name=outcome.group_name,
                    from_=sender,
                    content=frame.content,
                    timestamp=outcome.timestamp,
                )
            )
            for member in outcome.member_ids:
                self._fanout.publish(member, payload)

        self._storage.submit_group_message(
            sender, frame.id, frame.group_id, frame.content, committed
        )

    # -- reconnect -------------------------------------------------------------------------

    async def sync(self, conn: Connection) -> None:
        """Send the backlog (pending messages, then queued statuses) to a fresh connection.

        The connection is already attached to the fan-out, with live frames held back, so
        nothing committed meanwhile is missed and nothing overtakes the backlog.
        """
        assert conn.user_id is not None
        user_id = conn.user_id
        after = 0
        # Pages never fill the outbound queue past half, so a backlog cannot trip the
        # slow-consumer limit on its own.
        size = max(1, min(BACKLOG_PAGE, conn.max_queue // 2))
        while True:
            page = await self._storage.pending(user_id, size, after)
            for seq, message in page:
                after = seq
                payload = encode_frame(
                    MessageOut(
                        id=message.id,
                        from_=message.sender,
                        to=message.recipient,
                        content=message.content,
                        timestamp=message.timestamp,
                    )
                )
                conn.send_synced(payload, (message.sender, message.id))
            if len(page) < size:
                break
            # Let the socket drain between pages so a large backlog does not pile up in memory.
            await conn.drain()
        for payload in await self._storage.take_statuses(user_id):
            conn.send_synced(payload, None)

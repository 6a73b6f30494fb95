"""The storage interface the gateway is written against (``_sqlite``, ``_pg``).

No SQL outside the implementations. Contract every implementation keeps:

- an awaited write returns only after it is durably committed;
- the writes that create an event (``record_inbound``, ``finish_send``, ``set_message_status``,
  ``set_session_status``, ``add_events``) insert one :class:`Delivery` per enabled endpoint of
  the session that subscribes to the event's type, **in the same transaction**, with a
  per-endpoint increasing ``seq``; so an event is never lost or written without its cause;
- sealed fields (credentials, webhook secrets, message text and caption, idempotent
  bodies) are sealed with the :class:`~._vault.Vault` the storage was opened with and never
  reach the disk in clear;
- ``delete_session`` removes every row of the session (history, queue, deliveries,
  webhooks, media records, credentials, its lease) in one transaction; the caller removes
  the files;
- several gateway processes may share one storage: session leases and webhook endpoint
  claims (:class:`~._lease_store.LeaseStore`, inherited) decide which process runs what.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Callable, Optional, Protocol

from whatsapp_client.gateway._account_records import BrowserSession, RefreshToken, UserRecord
from whatsapp_client.gateway._lease_store import LeaseStore
from whatsapp_client.gateway._models import (
    ApiKeyRecord,
    Delivery,
    DeliveryState,
    Event,
    IdempotentAnswer,
    MediaInfo,
    MessageFilter,
    MessageRecord,
    MessageState,
    QueueItem,
    SessionRecord,
    SessionStatus,
    WebhookEndpoint,
)


class Storage(LeaseStore, Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Raises if the storage cannot be written (used by ``/ready``)."""

    # --- sessions ---------------------------------------------------------------------
    async def create_session(
        self, session: SessionRecord, credentials: bytes, webhooks: Sequence[WebhookEndpoint]
    ) -> None:
        """``credentials``: the engine's secrets as opaque bytes (sealed by the storage).
        Raises ``Conflict`` if the name is taken."""

    async def get_session(self, session_id: str) -> Optional[SessionRecord]: ...

    async def list_sessions(self) -> list[SessionRecord]: ...

    async def get_credentials(self, session_id: str) -> bytes:
        """The unsealed credentials given to ``create_session`` (``NotFound`` if none)."""

    async def update_session(
        self,
        session_id: str,
        *,
        name: Optional[str] = None,
        rate_limit_per_minute: Optional[int] = None,
        running: Optional[bool] = None,
        user_id: Optional[str] = None,
    ) -> SessionRecord:
        """Changes only the fields given; ``NotFound`` / ``Conflict`` (name taken)."""

    async def set_session_status(
        self, session_id: str, status: SessionStatus, reason: Optional[str], event: Optional[Event]
    ) -> None:
        """Records the status and, when given, its ``session.status`` event."""

    async def touch_session(self, session_id: str, at: int) -> None:
        """Last activity; may be written lazily (not on the hot path)."""

    async def delete_session(self, session_id: str) -> None: ...

    # --- webhooks ---------------------------------------------------------------------
    async def replace_webhooks(self, session_id: str, webhooks: Sequence[WebhookEndpoint]) -> None:
        """Replaces the session's endpoints; pending deliveries of removed ones are dropped."""

    async def list_webhooks(self, session_id: str) -> list[WebhookEndpoint]: ...

    async def disable_webhook(self, endpoint_id: str, reason: str) -> None: ...

    # --- history and the send queue ---------------------------------------------------
    async def enqueue_send(
        self,
        message: MessageRecord,
        request_item: QueueItem,
        *,
        max_depth: int,
        idempotency: Optional[tuple[str, IdempotentAnswer]] = None,
    ) -> int:
        """Stores the outbound message (status ``queued``) and its queue entry, and the
        idempotent answer when given, in one transaction; returns the 1-based position in
        the session's queue. ``QueueFull`` when the queue already holds ``max_depth``.
        ``request_item.seq`` is assigned by the storage (pass 0)."""

    async def next_queued(self, session_id: str) -> Optional[QueueItem]:
        """The oldest queue entry of the session, or None (the entry stays until
        ``finish_send``)."""

    async def queue_depth(self, session_id: str) -> int: ...

    async def finish_send(
        self,
        item: QueueItem,
        status: MessageState,
        *,
        engine_message_id: Optional[str],
        reason: Optional[str],
        event: Optional[Event],
    ) -> None:
        """Removes the queue entry and records the outcome (``sent`` or ``failed``) and its
        event in one transaction. Bumps the session's ``sent`` / ``failed`` counter."""

    async def record_inbound(self, message: MessageRecord, event: Event) -> bool:
        """Stores a received message and its ``message.received`` event; False (and nothing
        written) if the session already has a message with this ``engine_message_id``."""

    async def set_message_status(
        self,
        session_id: str,
        engine_message_id: str,
        status: MessageState,
        event_id: str,
        at: int,
    ) -> Optional[MessageRecord]:
        """Moves an outbound message forward (never back: queued < sent < delivered < read
        < failed, the last for a network that reports a failure after accepting it)
        and records a ``message.status`` event with ``event_id``; None if unknown or not a
        step forward (then nothing is written)."""

    async def add_events(self, events: Sequence[Event]) -> None:
        """Events with no row of their own (``error``)."""

    async def get_message(self, session_id: str, message_id: str) -> Optional[MessageRecord]: ...

    async def list_messages(
        self,
        session_id: str,
        filters: MessageFilter,
        *,
        limit: int,
        cursor: Optional[str] = None,
    ) -> tuple[list[MessageRecord], Optional[str]]:
        """Newest first; returns the page and the cursor of the next one (None at the end).
        Cursors are opaque strings; a malformed one raises ``InvalidRequest``."""

    async def get_media(self, session_id: str, media_id: str) -> Optional[tuple[MediaInfo, bytes]]:
        """The media's record and the sealed keys blob stored with ``save_media``."""

    async def save_media(self, session_id: str, media: MediaInfo, sealed_keys: bytes) -> None: ...

    # --- webhook deliveries -----------------------------------------------------------
    async def endpoints_with_work(self, now: int) -> list[str]:
        """Enabled endpoints whose oldest pending delivery is due at ``now`` (whoever holds
        their claim; the dispatcher works from ``claim_endpoints``)."""

    async def head_delivery(self, endpoint_id: str) -> Optional[Delivery]:
        """The oldest pending delivery of the endpoint (in-order delivery only ever sends
        the head). A backend that also offers ``pending_deliveries(endpoint_id, *, limit)``
        (``_delivery_store.PipelinedDeliveryStore``; both built-in backends do) lets the
        dispatcher post the next one while the previous outcome is being committed."""

    async def finish_delivery(
        self,
        seq: int,
        state: DeliveryState,
        *,
        attempts: int,
        next_attempt_at: int,
        status_code: Optional[int],
        error: Optional[str],
        at: int,
    ) -> None: ...

    async def prune(self, before: int, now: int) -> int:
        """Retention: deletes deliveries that ended (delivered or dead) before ``before``,
        events no delivery refers to that are older than that, and idempotent answers
        expired at ``now``; returns the number of rows deleted. Nothing pending goes."""

    async def list_deliveries(
        self,
        session_id: str,
        *,
        endpoint_id: Optional[str] = None,
        state: Optional[DeliveryState] = None,
        limit: int = 100,
    ) -> list[Delivery]:
        """Newest first."""

    async def redeliver(self, session_id: str, seq: int, now: int) -> Delivery:
        """Queues the same event (same ``webhook-id``) again at the tail of its endpoint;
        ``NotFound`` if the delivery is not the session's."""

    # --- API keys and idempotency -----------------------------------------------------
    async def create_api_key(self, key: ApiKeyRecord) -> None: ...

    async def list_api_keys(self) -> list[ApiKeyRecord]: ...

    async def find_api_key(self, key_hash: str) -> Optional[ApiKeyRecord]: ...

    async def delete_api_key(self, key_id: str) -> bool: ...

    async def get_idempotent(self, scope: str) -> Optional[IdempotentAnswer]:
        """An unexpired answer stored with ``enqueue_send`` under ``scope``."""

    # --- operator accounts (users, logins, owners; see _sqlite_users) -------------------
    async def create_user(self, user: UserRecord) -> None:
        """``Conflict`` if the email (case-insensitive) is taken."""

    async def get_user(self, user_id: str) -> Optional[UserRecord]: ...

    async def find_user(self, email: str) -> Optional[UserRecord]: ...

    async def list_users(self) -> list[UserRecord]: ...

    async def update_user(self, user_id: str, **changes: Any) -> UserRecord:
        """``NotFound``; ``Conflict`` if no enabled admin would be left."""

    async def delete_user(self, user_id: str, heir_id: str) -> bool:
        """Also its keys and logins; its sessions pass to ``heir_id``. ``Conflict`` for
        the last enabled admin."""

    async def claim_unowned(self, owner_id: str) -> int: ...

    async def set_session_owner(self, session_id: str, owner_id: str) -> None: ...

    async def add_refresh_token(self, token: RefreshToken) -> None: ...

    async def rotate_refresh_token(
        self, token_hash: str, now: int, successor: Callable[[RefreshToken], RefreshToken]
    ) -> tuple[str, Optional[RefreshToken]]:
        """``("ok", new)``, ``("reused", None)`` (family revoked) or ``("invalid", None)``."""

    async def revoke_refresh_token(self, token_hash: str) -> None: ...

    async def end_logins(self, user_id: str, now: int, keep: Optional[str] = None) -> None:
        """Revokes the user's refresh tokens and browser sessions (but ``keep``)."""

    async def add_browser_session(self, session: BrowserSession) -> None: ...

    async def get_browser_session(self, id_hash: str) -> Optional[BrowserSession]: ...

    async def delete_browser_session(self, id_hash: str) -> None: ...

    async def sealed_secret(self, name: str, make: Callable[[], bytes]) -> bytes:
        """A gateway secret kept sealed by the vault, made by ``make()`` the first time."""

    # --- live data (dashboard stats) --------------------------------------------------
    async def message_counts_per_minute(
        self, session_id: str, since: int, until: int
    ) -> dict[int, tuple[int, int, int]]:
        """``{minute start (ms): (sent, received, failed)}`` for the minutes in
        ``[since, until)`` that have messages (a received one by its timestamp, an outbound
        one by the time it was accepted; ``sent`` includes delivered and read)."""

"""The :class:`~._lease_store.LeaseStore` methods both SQL backends share, written once:
each runs the backend's lease SQL (``_leases``: :mod:`._sqlite_leases` or
:mod:`._pg_leases`, see :class:`._sql_modules.LeasesSql`) through ``_sql_read`` /
``_sql_write``, like :class:`._sql_facade.SqlFacade`, which includes it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Optional, TypeVar

from whatsapp_client.gateway._codec import Codec
from whatsapp_client.gateway._errors import InvalidRequest
from whatsapp_client.gateway._models import SessionRecord
from whatsapp_client.gateway._sql_modules import LeasesSql

T = TypeVar("T")


def _check(ttl_ms: int, limit: int) -> None:
    """Refused before a write is queued."""
    if ttl_ms < 1:
        raise InvalidRequest("ttl_ms must be at least 1")
    if limit < 1:
        raise InvalidRequest("limit must be at least 1")


class LeaseFacade:
    _leases: ClassVar[LeasesSql]
    _codec: Codec

    async def _sql_read(self, fn: Callable[[Any], T]) -> T:
        raise NotImplementedError

    async def _sql_write(self, fn: Callable[[Any], T]) -> T:
        raise NotImplementedError

    async def claim_sessions(
        self,
        owner: str,
        now: int,
        ttl_ms: int,
        *,
        session_ids: Optional[Sequence[str]] = None,
        limit: int = 100,
    ) -> list[SessionRecord]:
        _check(ttl_ms, limit)
        only = None if session_ids is None else list(session_ids)
        return await self._sql_write(
            lambda c: self._leases.claim_sessions(c, self._codec, owner, now, ttl_ms, only, limit)
        )

    async def renew_leases(self, owner: str, now: int, ttl_ms: int) -> list[SessionRecord]:
        _check(ttl_ms, 1)
        return await self._sql_write(
            lambda c: self._leases.renew_leases(c, self._codec, owner, now, ttl_ms)
        )

    async def release_leases(self, owner: str, session_ids: Optional[Sequence[str]] = None) -> None:
        only = None if session_ids is None else list(session_ids)
        await self._sql_write(lambda c: self._leases.release_leases(c, owner, only))

    async def revoke_lease(self, session_id: str, by: str) -> None:
        await self._sql_write(lambda c: self._leases.revoke_lease(c, session_id, by))

    async def lease_holder(self, session_id: str, now: int) -> Optional[str]:
        return await self._sql_read(lambda c: self._leases.lease_holder(c, session_id, now))

    async def queued_sessions(self, owner: str) -> list[str]:
        return await self._sql_read(lambda c: self._leases.queued_sessions(c, owner))

    async def claim_endpoints(
        self, owner: str, now: int, ttl_ms: int, *, limit: int = 1000
    ) -> list[str]:
        _check(ttl_ms, limit)
        return await self._sql_write(
            lambda c: self._leases.claim_endpoints(c, owner, now, ttl_ms, limit)
        )

    async def release_endpoints(
        self, owner: str, endpoint_ids: Optional[Sequence[str]] = None
    ) -> None:
        only = None if endpoint_ids is None else list(endpoint_ids)
        await self._sql_write(lambda c: self._leases.release_endpoints(c, owner, only))

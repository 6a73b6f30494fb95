"""What several gateway processes sharing one storage need of it: session leases and
webhook endpoint claims. Part of :class:`~._storage.Storage`; the spec every backend keeps.

Vocabulary:

- ``owner``: the id of one gateway process (``_session_leases.process_id``: by default its
  host name and port). Two processes running at the same time never share one; a process
  restarted in place keeps its id and so finds its previous run's leases still its own.
- times are integer milliseconds since the epoch, passed in by the caller (``now``) so a
  test controls them; ``ttl_ms`` is how long a lease or claim lasts unless renewed.
- a lease or claim is *free* when it has no owner and its ``until`` is ``<= now``, *expired*
  when its ``until`` is ``<= now`` (whoever owned it). Only free or expired ones are taken.

Session leases: a session whose operator wants it running (``running``) is run by exactly
one process, the holder of its lease. The holder renews every few seconds (a third of the
TTL); a process that dies stops renewing and its sessions are taken by another after at most
the TTL. A change made by the operator through any process (``revoke_lease``) takes the
lease from its holder, which learns it at its next renewal.

Webhook endpoint claims: an endpoint's deliveries are posted by one process at a time, the
holder of its claim, so per-endpoint order holds across processes. Claims expire like
leases, so a dead process's endpoints are taken over.

A backend with real concurrency (PostgreSQL) selects the rows to take with
``SELECT ... FOR UPDATE SKIP LOCKED`` inside the transaction that updates them, so two
processes claiming at the same moment never take the same row and never wait on each other.
SQLite serializes writers, which gives the same guarantee within its single process.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional, Protocol

from whatsapp_client.gateway._models import SessionRecord

__all__ = ["LeaseStore"]


class LeaseStore(Protocol):
    # --- session leases ---------------------------------------------------------------
    async def claim_sessions(
        self,
        owner: str,
        now: int,
        ttl_ms: int,
        *,
        session_ids: Optional[Sequence[str]] = None,
        limit: int = 100,
    ) -> list[SessionRecord]:
        """Takes the lease of sessions that should run (``running``) and whose lease is free
        or expired and not ``owner``'s own (an expired lease of its own is renewed by
        ``renew_leases``, not taken): owner := ``owner``, until := ``now + ttl_ms``, in one
        transaction.
        Returns the records of the sessions taken by this call (not those ``owner`` already
        held), at most ``limit``, oldest session first. ``session_ids``: consider only these
        (a process takes a session it has just created or restarted at once).

        PostgreSQL: ``SELECT id FROM sessions WHERE running AND lease_until <= $now AND
        lease_owner IS DISTINCT FROM $owner [AND id = ANY($ids)] ORDER BY created_at, id
        LIMIT $limit FOR UPDATE SKIP LOCKED``, then ``UPDATE`` those rows, in one
        transaction."""

    async def renew_leases(self, owner: str, now: int, ttl_ms: int) -> list[SessionRecord]:
        """Extends (until := ``now + ttl_ms``) every lease ``owner`` holds on a session
        that should still run, and returns those sessions' current records (so the holder
        also sees changes such as ``rate_limit_per_minute``). A lease ``owner`` holds on a
        session that should no longer run (``running`` false) is released (free at once).

        Whatever the holder runs that is not in the answer it has lost: taken by another
        process after it expired, revoked by the operator, or the session was deleted; the
        holder stops running it **without** recording any status (the session is not
        stopped: another process runs it, or will).

        An expired lease that nobody took yet is still ``owner``'s and is renewed. PostgreSQL:
        one ``UPDATE ... WHERE lease_owner = $owner ... RETURNING``."""

    async def release_leases(self, owner: str, session_ids: Optional[Sequence[str]] = None) -> None:
        """Frees at once (no owner, until := 0) the leases ``owner`` holds, all of them or
        only ``session_ids``; leases held by another owner are left alone. Called on a clean
        shutdown (after the runtimes stopped) so another process takes over at once."""

    async def revoke_lease(self, session_id: str, by: str) -> None:
        """The operator changed how the session runs (stop, restart) through process ``by``,
        which may not hold the lease. If ``by`` holds it (and has stopped its runtime) the
        lease is freed at once. Otherwise it loses its owner but keeps its ``until``: the
        holder learns at its next renewal that it lost the session, and nobody takes the
        session before the old lease ends, so no two processes run it at once. No error for
        an unknown session."""

    async def lease_holder(self, session_id: str, now: int) -> Optional[str]:
        """The owner of the session's unexpired lease, or None (free, expired, revoked or no
        such session). The manager checks it before it starts or stops a session."""

    async def queued_sessions(self, owner: str) -> list[str]:
        """The sessions whose lease ``owner`` holds that have at least one queue entry: the
        holder's send workers poll it to notice sends queued through another process.
        (PostgreSQL may in addition ``NOTIFY`` on enqueue; the poll stays the baseline.)"""

    # --- webhook endpoint claims ------------------------------------------------------
    async def claim_endpoints(
        self, owner: str, now: int, ttl_ms: int, *, limit: int = 1000
    ) -> list[str]:
        """The endpoints ``owner`` may post for, after this call: every enabled endpoint with
        at least one pending delivery (due or not) whose claim is ``owner``'s or is free or
        expired is claimed (owner := ``owner``, until := ``now + ttl_ms``; renewing those
        already ``owner``'s, which may skip a claim with two thirds of its TTL left).
        Returns their ids, sorted, at most ``limit`` (``owner``'s own first), in one
        transaction.

        Called at every dispatcher scan (far more often than the TTL), it is also the
        renewal: an endpoint ``owner`` was posting for that is missing from the answer has no
        pending delivery left or was lost (taken after an expiry, removed, disabled), and its
        worker stops before its next POST. A claim of ``owner`` on an endpoint with no
        pending delivery left, or on a disabled one, is released by this call.

        PostgreSQL: ``SELECT id FROM webhooks WHERE enabled AND EXISTS (pending delivery)
        AND (claim_owner = $owner OR claim_until <= $now) LIMIT $limit FOR UPDATE SKIP
        LOCKED``, then ``UPDATE`` those rows, in one transaction."""

    async def release_endpoints(
        self, owner: str, endpoint_ids: Optional[Sequence[str]] = None
    ) -> None:
        """Frees at once the claims ``owner`` holds (all, or only ``endpoint_ids``); the
        dispatcher calls it when it closes so another process takes over at once."""

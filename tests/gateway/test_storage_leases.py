"""The ``LeaseStore`` part of the gateway ``Storage`` contract: session leases and webhook
endpoint claims, with the time passed in (``T``) so expiry is exact, not waited for.

The ``storage`` fixture runs every test on each backend of ``_store_support.backend``."""

from __future__ import annotations

import pytest

from tests.gateway import _store_support as f
from tests.gateway._store_support import Backend, backend_fixture  # noqa: F401 (the fixture)
from whatsapp_client.gateway._errors import InvalidRequest
from whatsapp_client.gateway._storage import Storage

A, B = "gwp_a", "gwp_b"  # two gateway processes
T = 1_000_000_000_000
TTL = 15_000


@pytest.fixture
def storage(backend: Backend) -> Storage:
    return backend.storage


async def _ids(s: Storage, owner: str, now: int, **kw: object) -> list[str]:
    return [r.id for r in await s.claim_sessions(owner, now, TTL, **kw)]  # type: ignore[arg-type]


async def _renewed(s: Storage, owner: str, now: int) -> list[str]:
    return [r.id for r in await s.renew_leases(owner, now, TTL)]


# --- session leases --------------------------------------------------------------------------


async def test_each_running_session_is_leased_by_one_process(storage: Storage) -> None:
    one, _ = await f.make_session(storage)
    two, _ = await f.make_session(storage)
    stopped, _ = await f.make_session(storage)
    await storage.update_session(stopped, running=False)
    assert sorted(await _ids(storage, A, T)) == sorted([one, two])
    assert await _ids(storage, B, T) == []
    assert await _ids(storage, A, T + 1) == []  # already A's: not taken again
    assert await storage.lease_holder(one, T) == A
    assert await storage.lease_holder(stopped, T) is None
    assert await storage.lease_holder("ses_missing", T) is None


async def test_claim_can_be_limited_to_given_sessions_and_a_count(storage: Storage) -> None:
    one, _ = await f.make_session(storage)
    two, _ = await f.make_session(storage)
    three, _ = await f.make_session(storage)
    assert await _ids(storage, A, T, session_ids=[two]) == [two]
    assert await _ids(storage, A, T, session_ids=[]) == []
    assert await _ids(storage, B, T, limit=1) == [one]  # oldest first
    assert await _ids(storage, B, T) == [three]


async def test_an_expired_lease_is_taken_over_and_its_old_holder_learns_it(
    storage: Storage,
) -> None:
    sid, _ = await f.make_session(storage)
    assert await _ids(storage, A, T) == [sid]
    assert await _ids(storage, B, T + TTL - 1) == []  # still A's
    assert await _ids(storage, B, T + TTL) == [sid]  # A stopped renewing: expired
    assert await storage.lease_holder(sid, T + TTL) == B
    assert await _renewed(storage, A, T + TTL + 1) == []  # lost
    assert await _renewed(storage, B, T + TTL + 1) == [sid]


async def test_renewal_extends_the_lease_and_returns_current_records(storage: Storage) -> None:
    sid, _ = await f.make_session(storage)
    await _ids(storage, A, T)
    await storage.update_session(sid, rate_limit_per_minute=7)
    (record,) = await storage.renew_leases(A, T + 10_000, TTL)
    assert (record.id, record.rate_limit_per_minute) == (sid, 7)
    assert await _ids(storage, B, T + TTL + 1) == []  # renewed until T + 10 s + TTL
    assert await _ids(storage, B, T + 10_000 + TTL) == [sid]


async def test_an_expired_lease_nobody_took_is_still_renewed(storage: Storage) -> None:
    sid, _ = await f.make_session(storage)
    await _ids(storage, A, T)
    assert await _renewed(storage, A, T + 3 * TTL) == [sid]
    assert await storage.lease_holder(sid, T + 3 * TTL) == A


async def test_renewal_releases_sessions_that_should_no_longer_run(storage: Storage) -> None:
    sid, _ = await f.make_session(storage)
    await _ids(storage, A, T)
    await storage.update_session(sid, running=False)
    assert await _renewed(storage, A, T + 1) == []
    assert await storage.lease_holder(sid, T + 1) is None
    assert await _ids(storage, B, T + 1) == []  # stopped: nobody runs it
    await storage.update_session(sid, running=True)
    assert await _ids(storage, B, T + 2) == [sid]  # free at once


async def test_release_frees_only_the_callers_leases_at_once(storage: Storage) -> None:
    one, _ = await f.make_session(storage)
    two, _ = await f.make_session(storage)
    theirs, _ = await f.make_session(storage)
    await _ids(storage, A, T, session_ids=[one, two])
    await _ids(storage, B, T, session_ids=[theirs])
    await storage.release_leases(A, [one])
    assert await _ids(storage, B, T + 1) == [one]
    await storage.release_leases(A)
    assert await _ids(storage, B, T + 2) == [two]
    await storage.release_leases(A, [theirs])  # not A's: left alone
    assert await storage.lease_holder(theirs, T + 2) == B


async def test_revoked_by_its_holder_a_lease_is_free_at_once(storage: Storage) -> None:
    sid, _ = await f.make_session(storage)
    await _ids(storage, A, T)
    await storage.revoke_lease(sid, A)
    assert await storage.lease_holder(sid, T + 1) is None
    assert await _ids(storage, A, T + 1) == [sid]  # a restart takes it again at once


async def test_revoked_by_another_process_the_holder_loses_it_before_anyone_takes_it(
    storage: Storage,
) -> None:
    sid, _ = await f.make_session(storage)
    await _ids(storage, A, T)
    await storage.revoke_lease(sid, B)  # e.g. a restart asked of process B
    assert await _ids(storage, B, T + 1) == []  # A may still run it until its lease ends
    assert await _renewed(storage, A, T + 5_000) == []  # A learns it lost the session
    assert await _ids(storage, B, T + TTL - 1) == []
    assert await _ids(storage, B, T + TTL) == [sid]
    await storage.revoke_lease("ses_missing", A)  # no error


async def test_a_deleted_session_is_lost_by_its_holder(storage: Storage) -> None:
    sid, _ = await f.make_session(storage)
    await _ids(storage, A, T)
    await storage.delete_session(sid)
    assert await _renewed(storage, A, T + 1) == []
    assert await storage.lease_holder(sid, T + 1) is None


async def test_queued_sessions_are_the_holders_sessions_with_queue_entries(
    storage: Storage,
) -> None:
    busy, _ = await f.make_session(storage)
    idle, _ = await f.make_session(storage)
    theirs, _ = await f.make_session(storage)
    await _ids(storage, A, T, session_ids=[busy, idle])
    await _ids(storage, B, T, session_ids=[theirs])
    await f.enqueue(storage, busy)
    await f.enqueue(storage, theirs)
    assert await storage.queued_sessions(A) == [busy]
    assert await storage.queued_sessions(B) == [theirs]
    assert await storage.queued_sessions("gwp_nobody") == []


async def test_leases_survive_a_restart_of_the_storage(backend: Backend) -> None:
    sid, _ = await f.make_session(backend.storage)
    await _ids(backend.storage, A, T)
    s = await backend.reopen()
    assert await s.lease_holder(sid, T + 1) == A
    assert await _ids(s, B, T + 1) == []


async def test_bad_arguments_are_refused_without_a_write(storage: Storage) -> None:
    sid, _ = await f.make_session(storage)
    with pytest.raises(InvalidRequest):
        await storage.claim_sessions(A, T, 0)
    with pytest.raises(InvalidRequest):
        await storage.claim_sessions(A, T, TTL, limit=0)
    with pytest.raises(InvalidRequest):
        await storage.claim_endpoints(A, T, -1)
    with pytest.raises(InvalidRequest):
        await storage.renew_leases(A, T, 0)
    assert await storage.lease_holder(sid, T) is None


# --- webhook endpoint claims -----------------------------------------------------------------


async def test_an_endpoint_with_work_is_claimed_by_one_process(storage: Storage) -> None:
    sid, (busy, idle) = await f.make_session(storage, None, ["error"])
    await storage.add_events([f.event(sid, "message.received")])  # only `busy` subscribes
    assert await storage.claim_endpoints(A, T, TTL) == [busy]
    assert await storage.claim_endpoints(B, T + 1, TTL) == []
    assert await storage.claim_endpoints(A, T + 1, TTL) == [busy]  # still A's
    half = T + TTL // 2
    assert await storage.claim_endpoints(A, half, TTL) == [busy]  # renewed until half + TTL
    assert await storage.claim_endpoints(B, half + TTL - 1, TTL) == []
    assert await storage.claim_endpoints(B, half + TTL, TTL) == [busy]  # taken over
    assert await storage.claim_endpoints(A, half + TTL + 1, TTL) == []  # A lost it
    assert idle not in await storage.claim_endpoints(B, half + TTL + 1, TTL)


async def test_a_released_endpoint_is_taken_at_once(storage: Storage) -> None:
    sid, (one, two) = await f.make_session(storage, None, None)
    await storage.add_events([f.event(sid)])
    assert await storage.claim_endpoints(A, T, TTL) == sorted([one, two])
    await storage.release_endpoints(A, [one])
    assert await storage.claim_endpoints(B, T + 1, TTL) == [one]
    await storage.release_endpoints(A)
    assert await storage.claim_endpoints(B, T + 2, TTL) == sorted([one, two])
    await storage.release_endpoints(A, [one])  # B's now: left alone
    assert await storage.claim_endpoints(A, T + 3, TTL) == []


async def test_claims_go_back_when_work_ends_or_the_endpoint_is_disabled(
    storage: Storage,
) -> None:
    sid, (hook, other) = await f.make_session(storage, None, None)
    await storage.add_events([f.event(sid)])
    assert await storage.claim_endpoints(A, T, TTL) == sorted([hook, other])
    head = await storage.head_delivery(hook)
    assert head is not None
    await storage.finish_delivery(
        head.seq, "delivered", attempts=1, next_attempt_at=T, status_code=200, error=None, at=T
    )
    await storage.disable_webhook(other, "gone")
    assert await storage.claim_endpoints(A, T + 1, TTL) == []
    # Released, not merely unreported: new work is B's to take at once.
    await storage.add_events([f.event(sid)])
    assert await storage.claim_endpoints(B, T + 2, TTL) == [hook]


async def test_claims_are_limited_and_the_callers_own_come_first(storage: Storage) -> None:
    sid, hooks = await f.make_session(storage, None, None, None)
    await storage.add_events([f.event(sid)])
    first = await storage.claim_endpoints(A, T, TTL, limit=1)
    assert len(first) == 1
    assert await storage.claim_endpoints(A, T + 1, TTL, limit=1) == first
    assert sorted(await storage.claim_endpoints(B, T + 1, TTL)) == sorted(set(hooks) - set(first))

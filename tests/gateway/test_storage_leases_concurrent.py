"""Several claimers at the same moment, each with a storage of its own (on PostgreSQL its own
connection pool and writer: another process), on one database: no session and no endpoint
is ever taken by two of them, and none is left untaken when they ask for enough between
them. Runs on each backend of ``_store_support.backend``."""

from __future__ import annotations

import asyncio

from tests.gateway import _store_support as f
from tests.gateway._store_support import Backend, backend_fixture  # noqa: F401 (the fixture)
from whatsapp_client.gateway._storage import Storage

CLAIMERS = 6
SESSIONS = 40
LIMIT = 7  # 6 x 7 >= 40: between them they can take every session, none alone can
ROUNDS = 5
T = 1_000_000_000_000
TTL = 15_000


async def _claimers(backend: Backend) -> list[Storage]:
    return [backend.storage] + [await backend.another() for _ in range(CLAIMERS - 1)]


def _disjoint_and_complete(taken: list[list[str]], expected: set[str]) -> None:
    every = [i for ids in taken for i in ids]
    assert len(every) == len(set(every)), "an id was taken by two claimers"
    assert set(every) == expected
    assert all(len(ids) <= LIMIT for ids in taken)


async def test_concurrent_session_claims_never_share_a_session(backend: Backend) -> None:
    stores = await _claimers(backend)
    sessions = {(await f.make_session(stores[0]))[0] for _ in range(SESSIONS)}
    for n in range(ROUNDS):
        now = T + n * TTL  # every lease of the previous round has just expired
        owners = [f"gwp_{n}_{c}" for c in range(CLAIMERS)]
        answers = await asyncio.gather(
            *(s.claim_sessions(o, now, TTL, limit=LIMIT) for s, o in zip(stores, owners))
        )
        taken = [[r.id for r in records] for records in answers]
        _disjoint_and_complete(taken, sessions)
        for owner, ids in zip(owners, taken):  # what the database says agrees
            for sid in ids:
                assert await stores[-1].lease_holder(sid, now) == owner


async def test_concurrent_endpoint_claims_never_share_an_endpoint(backend: Backend) -> None:
    stores = await _claimers(backend)
    endpoints: set[str] = set()
    for _ in range(SESSIONS // 2):
        sid, hooks = await f.make_session(stores[0], None, None)
        await stores[0].add_events([f.event(sid)])  # a pending delivery on each endpoint
        endpoints.update(hooks)
    for n in range(ROUNDS):
        now = T + n * TTL
        owners = [f"gwp_{n}_{c}" for c in range(CLAIMERS)]
        taken = await asyncio.gather(
            *(s.claim_endpoints(o, now, TTL, limit=LIMIT) for s, o in zip(stores, owners))
        )
        _disjoint_and_complete(taken, endpoints)
        # Asked again at once, each keeps exactly what it took: nobody took a claim over.
        again = await asyncio.gather(
            *(s.claim_endpoints(o, now + 1, TTL, limit=LIMIT) for s, o in zip(stores, owners))
        )
        assert again == taken

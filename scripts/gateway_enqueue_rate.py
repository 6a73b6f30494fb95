"""Measures how many ``enqueue_send`` per second the gateway's storage takes: SQLite through
group commit (synchronous=FULL, so every acknowledged send is durable), or PostgreSQL with
``--database postgresql://…`` (an empty database of its own: the script writes into it).

    PYTHONPATH=python python3 scripts/gateway_enqueue_rate.py [--sends 20000] [--callers 200]

``--callers`` concurrent senders each await their write before the next one, like API
requests; the figure printed is acknowledged sends per second of wall time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time

from whatsapp_client.gateway._ids import new_id, now_ms
from whatsapp_client.gateway._models import (
    MessageRecord,
    OutboundRequest,
    QueueItem,
    SessionRecord,
)
from whatsapp_client.gateway._pg import PostgresStorage
from whatsapp_client.gateway._sqlite import SqliteStorage
from whatsapp_client.gateway._storage import Storage
from whatsapp_client.gateway._vault import Vault


async def run(sends: int, callers: int, sessions: int, database: str | None = None) -> float:
    with tempfile.TemporaryDirectory() as data_dir:
        vault = Vault.from_key(os.urandom(32))
        storage: Storage = (
            PostgresStorage(database, vault) if database else SqliteStorage(data_dir, vault)
        )
        await storage.open()
        ids = []
        for _ in range(sessions):
            sid = new_id("ses")
            record = SessionRecord(
                id=sid, name=sid, engine="wac1", config={}, status="connected", created_at=0
            )
            await storage.create_session(record, b"credentials", [])
            ids.append(sid)
        remaining = sends

        async def caller(n: int) -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                sid = ids[n % len(ids)]
                m = MessageRecord(
                    id=new_id("msg"),
                    session_id=sid,
                    direction="outbound",
                    peer="u_bob",
                    type="text",
                    text="a message of ordinary length, about sixty characters long",
                    status="queued",
                    timestamp=now_ms(),
                )
                item = QueueItem(
                    seq=0,
                    session_id=sid,
                    message_id=m.id,
                    request=OutboundRequest(to="u_bob", text=m.text),
                    enqueued_at=m.timestamp,
                )
                await storage.enqueue_send(m, item, max_depth=sends + 1)

        start = time.perf_counter()
        await asyncio.gather(*(caller(n) for n in range(callers)))
        elapsed = time.perf_counter() - start
        await storage.close()
        return sends / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sends", type=int, default=20_000)
    parser.add_argument("--callers", type=int, default=200)
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--database", default=None, help="a postgresql:// DSN (else SQLite)")
    args = parser.parse_args()
    rate = asyncio.run(run(args.sends, args.callers, args.sessions, args.database))
    print(f"{args.sends} enqueue_send by {args.callers} callers: {rate:,.0f} per second")


if __name__ == "__main__":
    main()

"""Child process of test_store_crash: enqueues sends into the gateway storage as fast as it
can (many in flight, group commit) and prints each message id once its write is
acknowledged, until it is killed.

Usage: ``python _store_crash_child.py <data_dir> <session_id> <key hex>``.
"""

from __future__ import annotations

import asyncio
import sys

from whatsapp_client.gateway._ids import new_id, now_ms
from whatsapp_client.gateway._models import MessageRecord, OutboundRequest, QueueItem
from whatsapp_client.gateway._sqlite import SqliteStorage
from whatsapp_client.gateway._vault import Vault

IN_FLIGHT = 32


async def main(data_dir: str, session_id: str, key: bytes) -> None:
    storage = SqliteStorage(data_dir, Vault.from_key(key))
    await storage.open()
    print("ready", flush=True)

    async def one() -> None:
        while True:
            m = MessageRecord(
                id=new_id("msg"),
                session_id=session_id,
                direction="outbound",
                peer="u_bob",
                type="text",
                text="crash test",
                status="queued",
                timestamp=now_ms(),
            )
            item = QueueItem(
                seq=0,
                session_id=session_id,
                message_id=m.id,
                request=OutboundRequest(to="u_bob", text=m.text),
                enqueued_at=m.timestamp,
            )
            await storage.enqueue_send(m, item, max_depth=1_000_000)
            # Printed only after the write is acknowledged (durably committed).
            print(m.id, flush=True)

    await asyncio.gather(*(one() for _ in range(IN_FLIGHT)))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], bytes.fromhex(sys.argv[3])))

"""A webhook dispatcher over the storage of data directory ``argv[1]`` (SQLite there, or
the PostgreSQL database ``argv[2]`` when given), run until killed (the crash test kills it
with SIGKILL mid-delivery, then starts it again)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Optional

from whatsapp_client.gateway._dispatcher import WebhookDispatcher
from whatsapp_client.gateway._metrics import GatewayMetrics
from whatsapp_client.gateway._pg import PostgresStorage
from whatsapp_client.gateway._settings import GatewaySettings
from whatsapp_client.gateway._sqlite import SqliteStorage
from whatsapp_client.gateway._storage import Storage
from whatsapp_client.gateway._vault import Vault


def storage_of(data_dir: Path, database: Optional[str]) -> Storage:
    vault = Vault.open(data_dir)
    if database:
        return PostgresStorage(database, vault)
    return SqliteStorage(data_dir, vault)


async def main(data_dir: Path, database: Optional[str]) -> None:
    store = storage_of(data_dir, database)
    await store.open()
    dispatcher = WebhookDispatcher(store, GatewaySettings(), GatewayMetrics(), poll_interval=0.1)
    await dispatcher.start()
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else None))

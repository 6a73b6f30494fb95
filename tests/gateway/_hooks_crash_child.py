"""A webhook dispatcher over the SQLite storage in ``argv[1]``, run until killed (the crash
test kills it with SIGKILL mid-delivery, then starts it again)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from whatsapp_client.gateway._dispatcher import WebhookDispatcher
from whatsapp_client.gateway._metrics import GatewayMetrics
from whatsapp_client.gateway._settings import GatewaySettings
from whatsapp_client.gateway._sqlite import SqliteStorage
from whatsapp_client.gateway._vault import Vault


async def main(data_dir: Path) -> None:
    store = SqliteStorage(data_dir, Vault.open(data_dir))
    await store.open()
    dispatcher = WebhookDispatcher(store, GatewaySettings(), GatewayMetrics(), poll_interval=0.1)
    await dispatcher.start()
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))

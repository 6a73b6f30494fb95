"""A webhook receiver process for the crash test (run as a script, killed by the test).

``python3 _inbox_worker.py DB LOG PORTFILE MODE``: serves ``webhook_app`` on a free port
(written to PORTFILE once listening) with a ``SqliteDedupStore`` at DB. Its handler appends
``<pid> <message_id>`` to LOG for each message; in MODE ``block`` it then blocks forever
(the test SIGKILLs the process mid-dispatch).
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from aiohttp import web

from whatsapp_client.cloud._dedup import SqliteDedupStore
from whatsapp_client.cloud._events import MessageEvent
from whatsapp_client.cloud._handlers import WebhookHandlers
from whatsapp_client.cloud._webhook_app import WebhookReceiver, webhook_app

APP_SECRET = "test-app-secret-6f1e"
VERIFY_TOKEN = "test-verify-token-93ab"


async def main(db: Path, log_path: Path, port_file: Path, mode: str) -> None:
    handlers = WebhookHandlers()

    @handlers.on_message
    async def record(ev: MessageEvent) -> None:
        with log_path.open("a") as f:
            f.write(f"{os.getpid()} {ev.message_id}\n")
            f.flush()
            os.fsync(f.fileno())
        if mode == "block":
            await asyncio.Event().wait()

    receiver = WebhookReceiver(
        app_secret=APP_SECRET,
        verify_token=VERIFY_TOKEN,
        handlers=handlers,
        dedup=SqliteDedupStore(db),
    )
    runner = web.AppRunner(webhook_app(receiver))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    tmp = port_file.with_suffix(".tmp")
    tmp.write_text(str(port))
    tmp.rename(port_file)  # the test sees the whole port or nothing
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]))

"""Removing expired attachments (§8 retention) and files a crash left behind."""

from __future__ import annotations

import asyncio
import os
import time

from whatsapp_client.server.blobs import BlobStore
from whatsapp_client.server.logs import get_logger
from whatsapp_client.server.storage import Storage

log = get_logger("retention")


async def sweep_once(storage: Storage, blobs: BlobStore) -> int:
    """Delete expired blobs (rows, then files) and stale leftovers; how many blobs went."""
    removed = 0
    while True:
        ids = await storage.take_expired_attachments(int(time.time() * 1000))
        for blob_id in ids:
            blobs.remove(blob_id)
        removed += len(ids)
        if len(ids) < 1000:
            break
    stale_tmp, old_blobs = blobs.leftovers()
    for path in stale_tmp:
        os.unlink(path)
    known = await storage.known_attachments(old_blobs) if old_blobs else set()
    for blob_id in old_blobs:
        if blob_id not in known:
            blobs.remove(blob_id)
    return removed


async def run_sweeper(storage: Storage, blobs: BlobStore, interval: float) -> None:
    """Sweep now and then every ``interval`` seconds until cancelled."""
    while True:
        try:
            removed = await sweep_once(storage, blobs)
            if removed:
                log.info("expired attachments removed", extra={"count": removed})
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("attachment sweep failed")
        await asyncio.sleep(interval)

"""WAL checkpoints on a thread of their own.

SQLite normally checkpoints inside whichever commit crosses the WAL size threshold, which
would stall the writer (and every message waiting on it) for the checkpoint's fsync. The
writer's connection turns that off; this thread checkpoints passively instead, which never
blocks the writer or the readers.

A passive checkpoint copies the WAL into the database but leaves the WAL file's old frames
on disk, and they hold the content of acknowledged messages. After content is deleted
(``scrub``), the next checkpoint at least ``scrub_interval`` after the last one truncates
the WAL to zero bytes; with ``secure_delete`` on, the database file's freed space is zeroed
too, so acknowledged ciphertext does not linger in either file.
"""

from __future__ import annotations

import sqlite3
import threading
import time

from whatsapp_client.server.logs import get_logger

log = get_logger("checkpointer")


class Checkpointer:
    def __init__(
        self, conn: sqlite3.Connection, interval: float = 1.0, scrub_interval: float = 5.0
    ) -> None:
        self._conn = conn
        self._interval = max(0.01, min(interval, scrub_interval))
        self._scrub_interval = scrub_interval
        self._scrub = threading.Event()
        self._last_truncate = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="db-checkpoint", daemon=True)
        self._thread.start()

    def scrub(self) -> None:
        """Content was deleted: truncate the WAL soon."""
        self._scrub.set()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            now = time.monotonic()
            truncate = self._scrub.is_set() and now - self._last_truncate >= self._scrub_interval
            try:
                if truncate:
                    self._scrub.clear()
                    busy = self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
                    self._last_truncate = now
                    if busy:  # a reader or the writer was in the way: try again next time
                        self._scrub.set()
                else:
                    self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            except sqlite3.Error:
                log.exception("checkpoint failed")

    def close(self) -> None:
        """Stop, with a last full checkpoint so the WAL is folded into the database file."""
        self._stop.set()
        self._thread.join()
        try:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        except sqlite3.Error:
            log.exception("final checkpoint failed")
        self._conn.close()

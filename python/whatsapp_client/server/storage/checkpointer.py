"""WAL checkpoints on a thread of their own.

SQLite normally checkpoints inside whichever commit crosses the WAL size threshold, which
would stall the writer (and every message waiting on it) for the checkpoint's fsync. The
writer's connection turns that off; this thread checkpoints passively instead, which never
blocks the writer or the readers.
"""

from __future__ import annotations

import sqlite3
import threading

from whatsapp_client.server.logs import get_logger

log = get_logger("checkpointer")


class Checkpointer:
    def __init__(self, conn: sqlite3.Connection, interval: float = 1.0) -> None:
        self._conn = conn
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="db-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
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

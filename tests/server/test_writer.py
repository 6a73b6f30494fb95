"""The group-committing writer: order, isolation of a failing operation, durability."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import tempfile
from typing import Any

import pytest

from whatsapp_client.server.storage.writer import BatchWriter, WriterClosedError


def _open(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY, v TEXT)")
    return conn


async def test_callbacks_in_submission_order_and_failures_isolated() -> None:
    with tempfile.TemporaryDirectory() as data:
        path = os.path.join(data, "w.db")
        conn = _open(path)
        writer = BatchWriter(conn, asyncio.get_running_loop(), max_batch=50)
        seen: list[Any] = []

        def insert(k: int) -> Any:
            def op(c: sqlite3.Connection) -> int:
                c.execute("INSERT INTO t (k, v) VALUES (?, 'x')", (k,))
                return k

            return op

        for k in range(200):
            # Key 100 is inserted twice: the second attempt must fail alone.
            writer.submit_callback(insert(100 if k == 150 else k), seen.append)
        last = writer.submit(lambda c: c.execute("SELECT count(*) FROM t").fetchone()[0])
        assert await last == 199
        writer.close()
        conn.close()
        assert [x for x in seen if not isinstance(x, BaseException)] == [
            k for k in range(200) if k != 150
        ]
        assert isinstance(seen[150], sqlite3.IntegrityError)
        check = sqlite3.connect(path)
        assert check.execute("SELECT count(*) FROM t").fetchone()[0] == 199
        check.close()


async def test_close_commits_what_was_submitted_and_refuses_more() -> None:
    with tempfile.TemporaryDirectory() as data:
        path = os.path.join(data, "w.db")
        conn = _open(path)
        writer = BatchWriter(conn, asyncio.get_running_loop())

        def insert(k: int) -> Any:
            def op(c: sqlite3.Connection) -> None:
                c.execute("INSERT INTO t VALUES (?, 'y')", (k,))

            return op

        for k in range(100):
            writer.submit_callback(insert(k), lambda _: None)
        await asyncio.get_running_loop().run_in_executor(None, writer.close)
        with pytest.raises(WriterClosedError):
            writer.submit(lambda c: None)
        conn.close()
        check = sqlite3.connect(path)
        assert check.execute("SELECT count(*) FROM t").fetchone()[0] == 100
        check.close()

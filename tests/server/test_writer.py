"""The group-committing writer: order, isolation of a failing operation, durability."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import tempfile
import threading
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


async def test_merged_operations_share_one_call_and_keep_order() -> None:
    with tempfile.TemporaryDirectory() as data:
        path = os.path.join(data, "w.db")
        conn = _open(path)
        calls: list[int] = []

        def merged(c: sqlite3.Connection, items: list[Any]) -> list[Any]:
            calls.append(len(items))
            if any(k < 0 for k in items):
                raise ValueError("negative key")
            c.executemany("INSERT INTO t (k, v) VALUES (?, 'm')", [(k,) for k in items])
            return list(items)

        seen: list[Any] = []
        writer = BatchWriter(conn, asyncio.get_running_loop(), max_batch=1000)
        # Hold the writer on a first operation so everything below lands in one batch.
        gate, holding = threading.Event(), threading.Event()

        def hold(c: sqlite3.Connection) -> None:
            holding.set()
            gate.wait()

        writer.submit_callback(hold, lambda _: None)
        await asyncio.get_running_loop().run_in_executor(None, holding.wait)
        for k in [*range(10), -1, *range(10, 20)]:
            writer.submit_merged(merged, k, seen.append)
        done = writer.submit(lambda c: c.execute("SELECT count(*) FROM t").fetchone()[0])
        gate.set()
        assert await done == 20
        writer.close()
        conn.close()
        assert [x for x in seen if not isinstance(x, BaseException)] == list(range(20))
        assert isinstance(seen[10], ValueError)
        # One merged call for the 21 items failed; the replay then ran each item alone.
        assert calls == [21] + [1] * 21


def test_store_messages_answers_each_request() -> None:
    from whatsapp_client.server.storage.schema import DDL
    from whatsapp_client.server.storage.sql_messages import StoreRequest, store_messages

    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.executescript(DDL)
    for user in ("alice", "bob", "carol"):
        conn.execute(
            "INSERT INTO users (id, username, password_hash, created_at) VALUES (?, ?, x'00', 0)",
            (user, user),
        )
    first = store_messages(conn, [StoreRequest("alice", "m0", "bob", "hi", 10)], 1000)
    requests = [
        StoreRequest("alice", "m1", "bob", "one", 10),
        StoreRequest("alice", "m1", "bob", "one", 10),  # resent within the same commit
        StoreRequest("alice", "m0", "nobody", "old", 10),  # known id: first answer wins
        StoreRequest("alice", "m2", "nobody", "lost", 10),
        StoreRequest("bob", "m3", "carol", "a", 1),
        StoreRequest("bob", "m4", "carol", "b", 1),  # carol's queue holds one
    ]
    out = store_messages(conn, requests, 2000)
    assert first == [(1000, True, None)]
    assert out == [
        (2000, True, None),
        (2000, False, None),
        (1000, False, None),
        (0, False, "user_not_found"),
        (2000, True, None),
        (0, False, "queue_full"),
    ]
    rows = conn.execute("SELECT sender, id, recipient FROM messages ORDER BY seq").fetchall()
    assert rows == [("alice", "m0", "bob"), ("alice", "m1", "bob"), ("bob", "m3", "carol")]
    counts = dict(conn.execute("SELECT id, pending_count FROM users").fetchall())
    assert counts == {"alice": 0, "bob": 2, "carol": 1}
    conn.close()

"""Benchmarks of the encrypted local store (``KeyStore``), one pytest-benchmark group per operation.

(s1) persisted encrypt of a 100-byte message with a commit per message, ``fast`` and ``full``
     durability, beside the in-memory ``Session.encrypt`` (the cost of persistence as a ratio);
(s2) persisted batch encrypt: 1,000 messages, one commit (``encrypt_many``), both modes, beside
     the in-memory ``Session.encrypt_many``;
(s3) persisted decrypt with a commit per message, both modes, beside in-memory
     ``Account.decrypt``;
(s4) opening a store that holds 100,000 peer sessions, with the default Argon2id parameters
     (64 MiB, 3 passes) and, to show what the KDF costs, with a 64 KiB one.

No peer implementation in ``benches/peers`` has a persistent store, so ratios are to our own
in-memory engine. Every benchmark checks its result, so ``--benchmark-disable`` makes it a test.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any

import pytest

from whatsapp_client._core import Account, KeyStore, Session

MESSAGE = b"m" * 100
BATCH = [b"%04d" % i + MESSAGE[4:] for i in range(1000)]
PASSWORD = "benchmark password"
SESSIONS = 100_000

Benchmark = Any  # pytest-benchmark's fixture has no public type


def _tag(benchmark: Benchmark, operation: str, variant: str, messages: int) -> None:
    benchmark.extra_info.update(
        operation=operation, implementation="ours", variant=variant, messages=messages
    )


def _sender(directory: Path, durability: str) -> tuple[KeyStore, Account]:
    """A store with a session to an in-memory peer ``bob``."""
    bob = Account()
    bob.rotate_signed_prekey()
    store = KeyStore.open(
        str(directory), PASSWORD, durability=durability, kdf_memory_kib=64, kdf_iterations=1
    )
    store.create_identity()
    store.start_session("bob", bob.bundle())
    return store, bob


@pytest.mark.benchmark(group="s1: persisted encrypt, one commit per message")
@pytest.mark.parametrize("durability", ["fast", "full"])
def test_s1_encrypt_commit_per_message(
    benchmark: Benchmark, tmp_path: Path, durability: str
) -> None:
    _tag(benchmark, "s1", durability, 1)
    store, bob = _sender(tmp_path / "alice", durability)
    try:
        rounds = 5000 if durability == "fast" else 300
        wires = []

        def once() -> None:
            wires.append(store.encrypt("bob", MESSAGE))

        benchmark.pedantic(once, rounds=rounds, warmup_rounds=20)
        session = Session()
        assert all(bob.decrypt(session, w).plaintext == MESSAGE for w in wires)
    finally:
        store.close()


@pytest.mark.benchmark(group="s1: persisted encrypt, one commit per message")
def test_s1_in_memory_encrypt(benchmark: Benchmark) -> None:
    _tag(benchmark, "s1", "in-memory", 1)
    bob = Account()
    bob.rotate_signed_prekey()
    session = Account().start_session(bob.bundle())
    wires = []

    def once() -> None:
        wires.append(session.encrypt(MESSAGE))

    benchmark.pedantic(once, rounds=5000, warmup_rounds=20)
    assert bob.decrypt(Session(), wires[0]).plaintext == MESSAGE


@pytest.mark.benchmark(group="s2: persisted encrypt, 1,000 messages, one commit")
@pytest.mark.parametrize("durability", ["full", "fast"])
def test_s2_encrypt_batch(benchmark: Benchmark, tmp_path: Path, durability: str) -> None:
    _tag(benchmark, "s2", durability, len(BATCH))
    store, bob = _sender(tmp_path / "alice", durability)
    try:
        batches: list[list[str]] = []

        def batch() -> None:
            batches.append(store.encrypt_many("bob", BATCH))

        benchmark.pedantic(batch, rounds=30, warmup_rounds=2)
        session = Session()
        for done in batches:
            assert [bob.decrypt(session, w).plaintext for w in done] == BATCH
    finally:
        store.close()


@pytest.mark.benchmark(group="s2: persisted encrypt, 1,000 messages, one commit")
def test_s2_in_memory_encrypt_many(benchmark: Benchmark) -> None:
    _tag(benchmark, "s2", "in-memory", len(BATCH))
    bob = Account()
    bob.rotate_signed_prekey()
    session = Account().start_session(bob.bundle())
    batches: list[list[str]] = []

    def batch() -> None:
        batches.append(session.encrypt_many(BATCH))

    benchmark.pedantic(batch, rounds=30, warmup_rounds=2)
    assert bob.decrypt(Session(), batches[0][0]).plaintext == BATCH[0]


@pytest.mark.benchmark(group="s3: persisted decrypt, one commit per message")
@pytest.mark.parametrize("durability", ["fast", "full"])
def test_s3_decrypt_commit_per_message(
    benchmark: Benchmark, tmp_path: Path, durability: str
) -> None:
    _tag(benchmark, "s3", durability, 1)
    rounds = 5000 if durability == "fast" else 300
    store = KeyStore.open(
        str(tmp_path / "bob"), PASSWORD, durability=durability, kdf_memory_kib=64, kdf_iterations=1
    )
    try:
        store.create_identity()
        store.rotate_signed_prekey(1_700_000_000)
        to_bob = Account().start_session(store.bundle())
        wires = iter(to_bob.encrypt_many([MESSAGE] * (rounds + 30)))
        store.decrypt("alice", next(wires))  # the session exists before timing starts
        got: list[bytes] = []

        def once() -> None:
            got.append(store.decrypt("alice", next(wires)).plaintext)

        benchmark.pedantic(once, rounds=rounds, warmup_rounds=20)
        assert got == [MESSAGE] * len(got)
    finally:
        store.close()


@pytest.mark.benchmark(group="s3: persisted decrypt, one commit per message")
def test_s3_in_memory_decrypt(benchmark: Benchmark) -> None:
    _tag(benchmark, "s3", "in-memory", 1)
    bob = Account()
    bob.rotate_signed_prekey()
    to_bob = Account().start_session(bob.bundle())
    wires = iter(to_bob.encrypt_many([MESSAGE] * 5030))
    session = Session()
    bob.decrypt(session, next(wires))
    got: list[bytes] = []

    def once() -> None:
        got.append(bob.decrypt(session, next(wires)).plaintext)

    benchmark.pedantic(once, rounds=5000, warmup_rounds=20)
    assert got == [MESSAGE] * len(got)


@pytest.fixture(scope="module")
def big_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two stores of 100,000 peer sessions: default Argon2id parameters, and a 64 KiB one."""
    paths = []
    for name, memory_kib, passes in (("default-kdf", 65536, 3), ("small-kdf", 64, 1)):
        directory = tmp_path_factory.mktemp("big") / name
        bob = Account()
        bob.rotate_signed_prekey()
        with KeyStore.open(
            str(directory),
            PASSWORD,
            durability="fast",
            kdf_memory_kib=memory_kib,
            kdf_iterations=passes,
        ) as store:
            store.create_identity()
            store.start_session("bob", bob.bundle())
            for _ in range(20):
                store.encrypt("bob", MESSAGE)
            store._bench_clone_sessions("bob", "peer-", SESSIONS)
        paths.append(directory)
    return paths[0], paths[1]


@pytest.mark.benchmark(group="s4: open a store with 100,000 sessions")
@pytest.mark.parametrize("kdf", ["default-kdf", "small-kdf"])
def test_s4_open_100k_sessions(
    benchmark: Benchmark, big_store: tuple[Path, Path], kdf: str
) -> None:
    _tag(benchmark, "s4", kdf, 0)
    directory = big_store[0] if kdf == "default-kdf" else big_store[1]
    counter = itertools.count()

    def open_and_use() -> None:
        with KeyStore.open(str(directory), PASSWORD) as store:
            store.encrypt(f"peer-{next(counter) * 7919 % SESSIONS}", MESSAGE)
            assert store.cached_sessions == 1

    benchmark.pedantic(open_and_use, rounds=5, warmup_rounds=1)
    size = sum(p.stat().st_size for p in directory.iterdir())
    benchmark.extra_info["store_bytes"] = size
    assert size > SESSIONS * 100


def test_s4_rss_stays_bounded_with_100k_sessions(big_store: tuple[Path, Path]) -> None:
    """Sessions load on demand into a bounded cache: resident memory does not grow with them."""
    status = Path("/proc/self/status")

    def rss_kib() -> int:
        for line in status.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")

    with KeyStore.open(str(big_store[1]), PASSWORD, durability="fast") as store:
        before = rss_kib()
        for i in range(0, SESSIONS, 10):
            store.encrypt(f"peer-{i}", MESSAGE)
        assert store.cached_sessions == 1024
        grown = rss_kib() - before
    assert grown < 64 * 1024, f"resident memory grew by {grown} KiB over 10,000 sessions"
    assert os.path.isdir(big_store[1])

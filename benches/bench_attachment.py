"""Benchmark of attachment sealing and opening (§8) against ``cryptography``'s AESGCM.

A 100 MiB buffer is sealed and opened by our core (``seal_attachment`` /
``open_attachment``: 64 KiB AES-256-GCM chunks plus the blob's SHA-256, one call, the GIL
released) and by the same construction written with ``cryptography``'s ``AESGCM`` over the
same chunks (one call per chunk, ``hashlib`` for the digest), in the same run. Both are
single-threaded, so throughput per call is throughput per core.

Each benchmark checks that its output is right, so ``pytest benches --benchmark-disable``
runs each once as a plain test (on 1 MiB + 5 bytes then: a debug build of the extension
takes a minute over 100 MiB). Timed::

    python3 -m pytest benches/bench_attachment.py --benchmark-enable --benchmark-only \\
        --benchmark-columns=min,median,mean,rounds

and GB/s = 104,857,600 bytes / the median (``extra_info`` records the byte count).

On a shared machine wall-clock time includes waiting for a core. Run as a script, the
module times every operation in CPU time of the process (``time.process_time``; every
operation here is single-threaded) as well as wall time, best of ``--rounds``::

    python3 benches/bench_attachment.py [--mib 100] [--rounds 7]

It also times the parts of ``cryptography``'s construction alone: AESGCM over the chunks
(the figure comparable with our chunk AEAD alone, which ``cargo bench -p wac1 --bench
attachment_cpu`` measures in Rust) and ``hashlib``'s SHA-256 of the blob.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import time
from typing import Any, Callable

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from whatsapp_client import open_attachment, seal_attachment

SIZE = 100 * 1024 * 1024
CHECK_SIZE = 1024 * 1024 + 5
CHUNK = 65_536
AD = b"WAC1/attachment"

Benchmark = Any  # pytest-benchmark's fixture has no public type


def _nonce(index: int, last: bool) -> bytes:
    return bytes(7) + index.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


def _chunks(size: int) -> range:
    return range(max(1, -(-size // CHUNK)))


def reference_seal(key: bytes, data: bytes) -> tuple[bytes, bytes]:
    """§8 with cryptography: the blob and its SHA-256."""
    aead = AESGCM(key)
    chunks = _chunks(len(data))
    last = chunks[-1]
    blob = b"".join(
        aead.encrypt(_nonce(i, i == last), data[i * CHUNK : (i + 1) * CHUNK], AD) for i in chunks
    )
    return blob, hashlib.sha256(blob).digest()


def reference_open(key: bytes, digest: bytes, size: int, blob: bytes) -> bytes:
    """§8 with cryptography: length and digest first, then the chunks in order."""
    chunks = _chunks(size)
    if len(blob) != size + 16 * len(chunks) or hashlib.sha256(blob).digest() != digest:
        raise ValueError("attachment_corrupt")
    aead = AESGCM(key)
    sealed, last = CHUNK + 16, chunks[-1]
    return b"".join(
        aead.decrypt(_nonce(i, i == last), blob[i * sealed : (i + 1) * sealed], AD) for i in chunks
    )


def _data(benchmark: Benchmark, operation: str, impl: str) -> bytes:
    """100 MiB when timed, a little over 1 MiB when run once as a test."""
    size = CHECK_SIZE if benchmark.disabled else SIZE
    benchmark.extra_info.update(operation=operation, implementation=impl, bytes=size)
    return os.urandom(size)


IMPLS = ["ours", "cryptography"]


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.benchmark(group="attachment: seal 100 MiB (AES-256-GCM chunks + SHA-256)")
def test_seal_100mib(benchmark: Benchmark, impl: str) -> None:
    data = _data(benchmark, "seal", impl)
    key = os.urandom(32)
    seal: Callable[[], tuple[bytes, bytes]]
    if impl == "ours":

        def seal() -> tuple[bytes, bytes]:
            blob, keys = seal_attachment(data)
            return blob, keys.digest

    else:

        def seal() -> tuple[bytes, bytes]:
            return reference_seal(key, data)

    blob, digest = benchmark(seal)
    assert len(blob) == len(data) + 16 * len(_chunks(len(data)))
    assert hashlib.sha256(blob).digest() == digest


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.benchmark(group="attachment: open 100 MiB (length + SHA-256, then the chunks)")
def test_open_100mib(benchmark: Benchmark, impl: str) -> None:
    data = _data(benchmark, "open", impl)
    blob, keys = seal_attachment(data)
    # The two implementations produce the same blob under the same key (checked once here).
    assert reference_seal(keys.key, data) == (blob, keys.digest)
    if impl == "ours":

        def open_() -> bytes:
            return open_attachment(blob, keys.key, keys.digest, keys.size)

    else:

        def open_() -> bytes:
            return reference_open(keys.key, keys.digest, keys.size, blob)

    assert benchmark(open_) == data


def reference_seal_chunks(key: bytes, data: bytes) -> list[bytes]:
    """cryptography's AESGCM over the §8 chunks alone: no join, no digest."""
    aead = AESGCM(key)
    chunks = _chunks(len(data))
    last = chunks[-1]
    return [
        aead.encrypt(_nonce(i, i == last), data[i * CHUNK : (i + 1) * CHUNK], AD) for i in chunks
    ]


def reference_open_chunks(key: bytes, size: int, sealed: list[bytes]) -> list[bytes]:
    """cryptography's AESGCM opening the sealed chunks alone: no length or digest check."""
    aead = AESGCM(key)
    last = len(sealed) - 1
    return [aead.decrypt(_nonce(i, i == last), chunk, AD) for i, chunk in enumerate(sealed)]


def _best(rounds: int, fn: Callable[[], object]) -> tuple[float, float]:
    """Best CPU time and best wall time of ``rounds`` calls, in seconds."""
    cpu = wall = float("inf")
    for _ in range(rounds):
        c0, w0 = time.process_time(), time.perf_counter()
        fn()
        wall = min(wall, time.perf_counter() - w0)
        cpu = min(cpu, time.process_time() - c0)
    return cpu, wall


def cpu_time_report(mib: int, rounds: int) -> None:
    """Prints GB/s of CPU and wall time for our seal/open and cryptography's, in one run."""
    data = os.urandom(mib * 1024 * 1024)
    blob, keys = seal_attachment(data)
    assert reference_seal(keys.key, data) == (blob, keys.digest)
    sealed = reference_seal_chunks(keys.key, data)
    assert reference_open_chunks(keys.key, len(data), sealed) == [
        data[i * CHUNK : (i + 1) * CHUNK] for i in _chunks(len(data))
    ]
    assert open_attachment(blob, keys.key, keys.digest, keys.size) == data
    rows: list[tuple[str, str, Callable[[], object]]] = [
        ("seal", "ours (AEAD + SHA-256)", lambda: seal_attachment(data)),
        ("seal", "cryptography (AEAD + hashlib)", lambda: reference_seal(keys.key, data)),
        (
            "open",
            "ours (SHA-256 check + AEAD)",
            lambda: open_attachment(blob, keys.key, keys.digest, keys.size),
        ),
        (
            "open",
            "cryptography (hashlib + AEAD)",
            lambda: reference_open(keys.key, keys.digest, keys.size, blob),
        ),
        (
            "AEAD seal",
            "cryptography AESGCM, chunks only",
            lambda: reference_seal_chunks(keys.key, data),
        ),
        (
            "AEAD open",
            "cryptography AESGCM, chunks only",
            lambda: reference_open_chunks(keys.key, keys.size, sealed),
        ),
        ("SHA-256", "hashlib, the blob", lambda: hashlib.sha256(blob).digest()),
    ]
    print(f"{mib} MiB, best of {rounds}; GB/s = plaintext bytes / time (SHA-256: blob bytes)")
    results: dict[tuple[str, str], tuple[float, float]] = {}
    for op, impl, fn in rows:
        cpu, wall = _best(rounds, fn)
        results[(op, impl)] = (cpu, wall)
        n = len(blob) if op == "SHA-256" else len(data)
        print(
            f"{op:<10} {impl:<34} CPU {cpu * 1e3:8.1f} ms = {n / cpu / 1e9:5.2f} GB/s   "
            f"wall {wall * 1e3:8.1f} ms = {n / wall / 1e9:5.2f} GB/s"
        )
    for op in ("seal", "open"):
        ours = next(v for (o, i), v in results.items() if o == op and i.startswith("ours"))
        ref = next(v for (o, i), v in results.items() if o == op and i.startswith("cryptography"))
        cpu_ratio, wall_ratio = ours[0] / ref[0], ours[1] / ref[1]
        print(f"{op}: ours / cryptography, time: CPU {cpu_ratio:.2f}, wall {wall_ratio:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--mib", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    cpu_time_report(args.mib, args.rounds)

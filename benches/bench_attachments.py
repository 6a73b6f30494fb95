"""End-to-end attachment benchmark: one file from one client to another through the server.

The sender seals the file into a blob file (64 KiB AES-256-GCM chunks) while it streams the
blob to ``POST /api/attachments``, then sends the message; the receiver streams the blob to
disk (hashed as it is written), checks length and SHA-256 and decrypts it in place.
Reported: MB/s of each half and of the whole (file size / wall time), the CPU seconds
(user + system) of the client process (both clients) and of the server process for each half
and the whole, and the peak RSS growth (``VmHWM``) of both processes during the transfer.

Full run (figures in docs/benchmarks-client.md); ``--runs 5`` reports the median of five
transfers (the machine is noisy)::

    python benches/bench_attachments.py --mib 100 --runs 5

The server runs as its own process; the two clients share this process. Under pytest the
same code runs once with a small file as a smoke benchmark (not a timed test).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from whatsapp_client.client import Message, WhatsAppClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from server_load.harness import server as server_process

PASSWORD = "bench password 1"
MiB = 1024 * 1024


def peak_rss(pid: int | str = "self") -> int:
    """``VmHWM`` (peak resident set) of a process in bytes (Linux)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def _write_random(path: Path, size: int) -> str:
    """A file of random bytes written a MiB at a time; its SHA-256."""
    digest = hashlib.sha256()
    with path.open("wb") as fh:
        left = size
        while left:
            block = os.urandom(min(MiB, left))
            digest.update(block)
            fh.write(block)
            left -= len(block)
    return digest.hexdigest()


def _cpu_self() -> float:
    """User + system CPU seconds of this process (every thread) so far."""
    t = os.times()
    return t.user + t.system


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(MiB), b""):
            digest.update(block)
    return digest.hexdigest()


async def transfer(srv: Any, size: int) -> dict[str, Any]:
    url, server_pid = srv.url, srv.pid
    with tempfile.TemporaryDirectory(prefix="wac-attach-bench-") as tmp:
        root = Path(tmp)
        source = root / "source.bin"
        want = await asyncio.to_thread(_write_random, source, size)
        options: dict[str, Any] = {
            "kdf_memory_kib": 19456,  # the floor a release build accepts (not timed)
            "kdf_iterations": 2,
            "send_timeout": 120.0,
            "request_timeout": 120.0,
            "attachment_max_bytes": max(size, 1),
        }
        alice = WhatsAppClient(server_url=url, storage_path=str(root / "s"), **options)
        bob = WhatsAppClient(server_url=url, storage_path=str(root / "s"), **options)
        try:
            tag = uuid.uuid4().hex[:8]
            await alice.register(f"alice_{tag}", PASSWORD)
            await bob.register(f"bob_{tag}", PASSWORD)
            assert bob.user_id is not None
            got: asyncio.Queue[Message] = asyncio.Queue()
            bob.on_message(got.put_nowait)
            await alice.send_message(bob.user_id, "warm-up")  # the session exists before timing
            await asyncio.wait_for(got.get(), 30)

            client_before = peak_rss()
            server_before = peak_rss(server_pid) if server_pid else 0
            c0, s0 = _cpu_self(), srv.cpu_seconds()
            t0 = time.perf_counter()
            await alice.send_file(bob.user_id, source)
            t1 = time.perf_counter()
            c1, s1 = _cpu_self(), srv.cpu_seconds()
            message = await asyncio.wait_for(got.get(), 60)
            t2 = time.perf_counter()
            c2, s2 = _cpu_self(), srv.cpu_seconds()
            out = await bob.download(message, root / "received.bin")
            t3 = time.perf_counter()
            c3, s3 = _cpu_self(), srv.cpu_seconds()
            client_after = peak_rss()
            server_after = peak_rss(server_pid) if server_pid else 0
            if await asyncio.to_thread(_sha256, out) != want:
                raise AssertionError("the received file differs")
        finally:
            await alice.close()
            await bob.close()
    mb = size / 1e6
    return {
        "mib": size / MiB,
        "seal_upload_send_s": round(t1 - t0, 3),
        "download_open_s": round(t3 - t2, 3),
        "end_to_end_s": round(t3 - t0, 3),
        "seal_upload_mb_s": round(mb / (t1 - t0), 1),
        "download_open_mb_s": round(mb / (t3 - t2), 1),
        "end_to_end_mb_s": round(mb / (t3 - t0), 1),
        # CPU seconds (user + system) of the client process (both clients) and the server.
        "send_cpu_client_s": round(c1 - c0, 3),
        "send_cpu_server_s": round(s1 - s0, 3),
        "download_cpu_client_s": round(c3 - c2, 3),
        "download_cpu_server_s": round(s3 - s2, 3),
        "cpu_client_s": round(c3 - c0, 3),
        "cpu_server_s": round(s3 - s0, 3),
        "client_peak_rss_growth_mib": round((client_after - client_before) / MiB, 1),
        "server_peak_rss_growth_mib": round((server_after - server_before) / MiB, 1)
        if server_pid
        else None,
    }


def file_to_file(size: int) -> dict[str, Any]:
    """The core's file-to-file seal and open alone on the same file size, for context: the
    end-to-end figure cannot beat the two of them in sequence."""
    from whatsapp_client import _core

    with tempfile.TemporaryDirectory(prefix="wac-attach-bench-") as tmp:
        root = Path(tmp)
        _write_random(root / "src", size)
        t0 = time.perf_counter()
        keys = _core.seal_attachment_file(root / "src", root / "blob")
        t1 = time.perf_counter()
        _core.open_attachment_file(root / "blob", root / "out", keys.key, keys.digest, keys.size)
        t2 = time.perf_counter()
    return {
        "seal_file_mb_s": round(size / 1e6 / (t1 - t0), 1),
        "open_file_mb_s": round(size / 1e6 / (t2 - t1), 1),
    }


async def run(size: int, runs: int = 1) -> dict[str, Any]:
    """One transfer (``runs`` = 1), or the median of each figure over ``runs`` transfers
    through one server (each with fresh clients), with every run's figures under "runs"."""
    load = os.getloadavg()[0]
    quota = ["--attachment-quota-bytes", str(max(runs, 1) * 2 * (size + MiB))]
    async with server_process(None, ["--max-attachment-bytes", str(size + MiB), *quota]) as srv:
        results = [await transfer(srv, size) for _ in range(max(runs, 1))]
    result = results[0] if len(results) == 1 else _medians(results)
    result.update(await asyncio.to_thread(file_to_file, size))
    result["load_1min_at_start"] = round(load, 2)
    return result


def _medians(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians, but the largest RSS growth (a peak is a peak: VmHWM is per process, so the
    later runs only show growth above the earlier ones' peak)."""
    out: dict[str, Any] = {}
    for key, value in results[0].items():
        values = [r[key] for r in results if isinstance(r[key], (int, float))]
        if values and isinstance(value, (int, float)):
            out[key] = max(values) if "rss" in key else round(statistics.median(values), 3)
    out["runs"] = results
    return out


def test_attachment_smoke(benchmark: Any) -> None:
    result = benchmark.pedantic(lambda: asyncio.run(run(4 * MiB)), rounds=1, iterations=1)
    assert result["mib"] == 4
    benchmark.extra_info.update(result)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--mib", type=int, default=100, help="file size in MiB (default 100)")
    p.add_argument("--runs", type=int, default=1, help="transfers; medians reported (default 1)")
    args = p.parse_args(argv)
    print(json.dumps(asyncio.run(run(args.mib * MiB, args.runs)), indent=2))


if __name__ == "__main__":
    main()

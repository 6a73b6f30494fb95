"""Scale figures of the local store: open time and memory with 100,000 peer sessions.

    python benches/store_scale.py [--sessions 100000]

Builds a store of N sessions (copies of one real session, written in one transaction), then
in a fresh child process: opens it with the default Argon2id parameters, uses sessions of
random peers, and prints open times and resident memory (VmRSS, and the peak VmHWM) at each
step. Linux only (reads /proc/self/status).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PASSWORD = "scale password"


def _mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def build(directory: Path, sessions: int) -> None:
    from whatsapp_client._core import Account, KeyStore

    bob = Account()
    bob.rotate_signed_prekey()
    with KeyStore.open(str(directory), PASSWORD, durability="fast") as store:
        store.create_identity()
        store.start_session("bob", bob.bundle())
        for _ in range(20):
            store.encrypt("bob", b"m" * 100)
        store._bench_clone_sessions("bob", "peer-", sessions)


def measure(directory: Path, sessions: int) -> dict[str, float]:
    from whatsapp_client._core import KeyStore

    out = {"rss_after_import_mib": _mib("VmRSS")}
    opens = []
    for _ in range(3):
        started = time.perf_counter()
        store = KeyStore.open(str(directory), PASSWORD, durability="fast")
        opens.append(time.perf_counter() - started)
        store.close()
    out["open_seconds_min"] = min(opens)
    out["open_seconds_max"] = max(opens)
    with KeyStore.open(str(directory), PASSWORD, durability="fast") as store:
        out["rss_after_open_mib"] = _mib("VmRSS")
        rng = random.Random(1)
        started = time.perf_counter()
        count = 50_000
        for _ in range(count):
            store.encrypt(f"peer-{rng.randrange(sessions)}", b"m" * 100)
        out["random_peer_encrypts_per_second"] = count / (time.perf_counter() - started)
        out["cached_sessions"] = store.cached_sessions
        out["rss_after_50k_encrypts_mib"] = _mib("VmRSS")
    out["peak_rss_mib"] = _mib("VmHWM")
    out["store_mib"] = sum(p.stat().st_size for p in directory.iterdir()) / 2**20
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(Path(args.measure), args.sessions)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "big"
        started = time.perf_counter()
        build(directory, args.sessions)
        print(f"built {args.sessions} sessions in {time.perf_counter() - started:.2f} s")
        command = [sys.executable, __file__, "--sessions", str(args.sessions)]
        child = subprocess.run(
            [*command, "--measure", str(directory)],
            check=True,
            capture_output=True,
            text=True,
        )
        for key, value in json.loads(child.stdout).items():
            print(f"{key:34s} {value:12.3f}")


if __name__ == "__main__":
    main()

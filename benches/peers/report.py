"""Turns a pytest-benchmark JSON file (and criterion's results) into the Markdown report.

    PYTHONPATH=benches python -m peers.report RESULTS.json [--criterion DIR] [--command TEXT]

prints the results section of ``docs/benchmarks-core.md``: one table per run with every
implementation per operation, the ratio of ours to vodozemac measured in the same run, the
targets, and the criterion figures of the engine without the bindings. Medians throughout.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import ADAPTERS, BASELINE, OURS

NONE = "n/a"
START = "<!-- results:start (written by scripts/bench.sh) -->"
END = "<!-- results:end -->"


@dataclass(frozen=True)
class Operation:
    key: str
    title: str
    unit_name: str
    """What one timed call does, for the 'per' column."""
    per: int
    """Messages per timed call, to give per-message figures."""
    target: str
    ratio_target: float | None = None
    per_message_target_us: float | None = None


OPERATIONS = [
    Operation("a", "100-byte message, encrypt + decrypt", "message", 1, "ratio ≤ 0.33", 0.33),
    Operation(
        "b",
        "reply in turn, each message a DH ratchet step",
        "message (2 per round)",
        2,
        "ratio ≤ 0.8",
        0.8,
    ),
    Operation(
        "c",
        "session establishment (bundle check + key agreement + first message + accept)",
        "session",
        1,
        "ratio ≤ 0.7",
        0.7,
    ),
    Operation("d", "1 MiB message, encrypt + decrypt", "message", 1, "none"),
    Operation(
        "e",
        "1,000 messages, encrypt + decrypt (ours: batch calls; peers: loop)",
        "message (1,000 per call)",
        1000,
        "batch call ≤ 2 µs per message",
        None,
        2.0,
    ),
]


def _fmt_us(us: float) -> str:
    if us >= 10_000:
        return f"{us / 1000:,.1f} ms"
    if us >= 1000:
        return f"{us / 1000:,.2f} ms"
    if us >= 100:
        return f"{us:,.0f} µs"
    if us >= 10:
        return f"{us:.1f} µs"
    return f"{us:.2f} µs"


def _median_us(bench: dict[str, Any]) -> float:
    return float(bench["stats"]["median"]) * 1e6


def _min_us(bench: dict[str, Any]) -> float:
    return float(bench["stats"]["min"]) * 1e6


def _index(results: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    out: dict[tuple[str, str, str], dict[str, Any]] = {}
    for bench in results["benchmarks"]:
        info = bench.get("extra_info", {})
        if "operation" in info:
            out[(info["operation"], info["implementation"], info.get("variant", ""))] = bench
    return out


def _verdict(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


def python_section(results: dict[str, Any]) -> Iterable[str]:
    index = _index(results)
    names = [n for n in ADAPTERS if any((op.key, n, "") in index for op in OPERATIONS)]
    yield "### Python: `pytest benches` (pytest-benchmark), medians per timed call"
    yield ""
    yield (
        "| operation | "
        + " | ".join(names)
        + f" | ours / {BASELINE} (medians) | (minimums) | target | |"
    )
    yield "|---|" + "---:|" * len(names) + "---:|---:|---|---|"
    for op in OPERATIONS:
        cells = []
        for name in names:
            bench = index.get((op.key, name, ""))
            cells.append(_fmt_us(_median_us(bench)) if bench else NONE)
        ours, base = index.get((op.key, OURS, "")), index.get((op.key, BASELINE, ""))
        ratio = _median_us(ours) / _median_us(base) if ours and base else None
        verdict = ""
        if ratio is not None and op.ratio_target is not None:
            verdict = _verdict(ratio <= op.ratio_target)
        ratio_text = f"{ratio:.2f}" if ratio is not None else NONE
        ratio_min = _min_us(ours) / _min_us(base) if ours and base else None
        ratio_min_text = f"{ratio_min:.2f}" if ratio_min is not None else NONE
        target = (
            op.target if op.ratio_target is not None else "see below" if op.key == "e" else NONE
        )
        yield (
            f"| ({op.key}) {op.title} | "
            + " | ".join(cells)
            + f" | {ratio_text} | {ratio_min_text} | {target} | {verdict} |"
        )
    yield ""
    yield "Per message (time of one call divided by the messages it carries):"
    yield ""
    yield "| operation | " + " | ".join(names) + " |"
    yield "|---|" + "---:|" * len(names)
    for op in OPERATIONS:
        if op.per == 1:
            continue
        cells = []
        for name in names:
            bench = index.get((op.key, name, ""))
            cells.append(_fmt_us(_median_us(bench) / op.per) if bench else NONE)
        yield f"| ({op.key}) per {op.unit_name} | " + " | ".join(cells) + " |"
    big = [(n, index.get(("d", n, ""))) for n in names]
    cells = [f"{1e6 / _median_us(b):,.0f} MiB/s" if b else NONE for _, b in big]
    yield "| (d) MiB encrypted and decrypted per second | " + " | ".join(cells) + " |"
    yield ""
    variants = sorted(v for (k, n, v) in index if k == "e" and n == OURS and v)
    if variants:
        yield "Our batch calls alone, 1,000 messages of 100 bytes (target: ≤ 2 µs per message):"
        yield ""
        yield "| call | per call | per message | |"
        yield "|---|---:|---:|---|"
        for variant in variants:
            us = _median_us(index[("e", OURS, variant)])
            verdict = "" if variant.startswith("single") else _verdict(us / 1000 <= 2.0)
            yield f"| {variant} | {_fmt_us(us)} | {_fmt_us(us / 1000)} | {verdict} |"
        yield ""


def machine_section(results: dict[str, Any], command: str, load: str) -> Iterable[str]:
    machine = results.get("machine_info", {})
    yield f"Command: `{command}`"
    yield ""
    commit = results.get("commit_info", {}).get("id", "?")[:12]
    yield f"- run: {results.get('datetime', '?')}, commit {commit}"
    cpu = machine.get("cpu_model") or machine.get("cpu", {}).get("brand_raw", "?")
    cores, python = machine.get("cpu_count", "?"), machine.get("python_version", "?")
    yield f"- machine: {cpu}, {cores} cores, Python {python}"
    if "load_average_at_start" in machine:
        avg = ", ".join(f"{x:.2f}" for x in machine["load_average_at_start"])
        yield f"- load average (1, 5, 15 min) when the Python run started: {avg}"
    if load:
        yield f"- {load}"
    for name, description in machine.get("implementations", {}).items():
        yield f"- {name}: {description}"
    yield ""


def criterion_section(directory: Path) -> Iterable[str]:
    rows: list[tuple[str, str, float, float]] = []
    for meta in sorted(directory.glob("**/new/benchmark.json")):
        estimates, sample = meta.parent / "estimates.json", meta.parent / "sample.json"
        if not estimates.exists() or not sample.exists():
            continue
        info = json.loads(meta.read_text())
        median_ns = float(json.loads(estimates.read_text())["median"]["point_estimate"])
        samples = json.loads(sample.read_text())
        best_ns = min(t / i for t, i in zip(samples["times"], samples["iters"]))
        rows.append((info["group_id"], info.get("function_id") or "", median_ns, best_ns))
    if not rows:
        return
    yield "### Rust: `cargo bench -p wac1 --bench core` (criterion)"
    yield ""
    yield (
        "The engine alone, without Python (`wire`: through the `E2EE:` string; "
        "`engine`: without it). Criterion times batches of iterations, so on a busy machine its "
        "median grows with the time the process waits for a core; the best sample (the fastest "
        "batch, per iteration) is what an idle core gives."
    )
    yield ""
    yield "| group | benchmark | median | best sample | best, per message |"
    yield "|---|---|---:|---:|---:|"
    per = {"e_batch_1000": 1000}
    for group, function, ns, best in rows:
        count = per.get(group, 1)
        each = _fmt_us(best / 1000 / count) if count > 1 else ""
        yield f"| {group} | {function} | {_fmt_us(ns / 1000)} | {_fmt_us(best / 1000)} | {each} |"
    yield ""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("results", type=Path, help="pytest-benchmark --benchmark-json output")
    parser.add_argument("--criterion", type=Path, help="criterion's output directory")
    parser.add_argument("--command", default="scripts/bench.sh", help="the command that ran it")
    parser.add_argument("--load", default="", help="a line about machine load to include")
    parser.add_argument(
        "--write",
        type=Path,
        help=f"put the section into this Markdown file between {START} and {END}",
    )
    args = parser.parse_args(argv)
    results = json.loads(args.results.read_text())
    lines = [*machine_section(results, args.command, args.load), *python_section(results)]
    if args.criterion and args.criterion.is_dir():
        lines += criterion_section(args.criterion)
    section = "\n".join(lines) + "\n"
    if args.write is None:
        sys.stdout.write(section)
        return
    text = args.write.read_text(encoding="utf-8") if args.write.exists() else ""
    if START in text and END in text:
        head, rest = text.split(START, 1)
        tail = rest.split(END, 1)[1]
    else:
        head, tail = text or "# Benchmarks of the core\n\n", "\n"
    args.write.write_text(f"{head}{START}\n{section}{END}{tail}", encoding="utf-8")


if __name__ == "__main__":
    main()

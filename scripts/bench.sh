#!/usr/bin/env bash
# Benchmarks of the core against vodozemac, python-olm and doubleratchet, in one run:
# pytest-benchmark (benches/bench_core.py) and criterion (rust/core/benches/core.rs), then
# the results section of docs/benchmarks-core.md is rewritten from what was just measured.
#
#   pip install -e '.[test,bench]'   # release build of the extension + the peers
#   scripts/bench.sh                 # everything (about 3 minutes)
#   BENCH_SKIP_RUST=1 scripts/bench.sh
#
# The machine should be otherwise idle: the load average before and after goes in the report.
set -euo pipefail
cd "$(dirname "$0")/.."

out=${BENCH_OUT:-.benchmarks/core}
target=${CARGO_TARGET_DIR:-target}
mkdir -p "$out"
load_before=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")

python3 -m pytest benches/bench_core.py -p no:cacheprovider -q --benchmark-enable --benchmark-only \
  --benchmark-json="$out/python.json" --benchmark-sort=name \
  --benchmark-columns=min,median,mean,stddev,rounds

if [ -z "${BENCH_SKIP_RUST:-}" ]; then
  CARGO_TARGET_DIR="$target" cargo bench -p wac1 --bench core 2>&1 | tee "$out/criterion.txt"
fi

load_after=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
PYTHONPATH=benches python3 -m peers.report "$out/python.json" \
  --criterion "$target/criterion" \
  --command "scripts/bench.sh (CARGO_TARGET_DIR=$target)" \
  --load "load average (1, 5, 15 min) before: $load_before; after: $load_after" \
  --write docs/benchmarks-core.md
echo "wrote docs/benchmarks-core.md"

#!/usr/bin/env bash
# Installs the package with its test dependencies and runs the whole suite:
# the Rust tests (cargo test) and the Python tests and benchmark checks (pytest).
set -euo pipefail
cd "$(dirname "$0")/.."
# The Cloud API limiter's and the server's fan-out tests run a throwaway redis-server, the
# server's storage tests a throwaway PostgreSQL (Debian keeps its binaries off PATH, in
# /usr/lib/postgresql/*/bin); the dashboard's tests drive Debian's chromium (through
# Playwright, which is told where it is); the web chat modules' JSDoc types are checked by
# Debian's TypeScript compiler (tsc).
missing=""
command -v redis-server >/dev/null || missing="$missing redis-server"
command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
  || missing="$missing postgresql"
command -v chromium >/dev/null || missing="$missing chromium"
command -v tsc >/dev/null || missing="$missing node-typescript"
if [ -n "$missing" ]; then
  SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq $missing >/dev/null
fi
# The test-only entry points of the extension (`_vector_*`, `_bench_*`) are compiled only
# with the cargo feature `test-hooks`. Features given to maturin replace pyproject's
# `features` list instead of adding to it, so `extension-module` is named again here
# (without it the module would link libpython).
MATURIN_PEP517_ARGS="--features extension-module,test-hooks" python3 -m pip install --quiet -e '.[dev]'
cargo test --workspace --quiet
# Coverage of python/whatsapp_client is measured on every run and must stay at 90% or more.
# aiohttp's C WebSocket reader misreports message types under a tracer, so the pure-Python
# reader is used while coverage is on.
AIOHTTP_NO_EXTENSIONS=1 python3 -m pytest --cov=whatsapp_client --cov-report=term "$@"

#!/usr/bin/env bash
# Installs the package with its test dependencies and runs the whole suite:
# the Rust tests (cargo test) and the Python tests and benchmark checks (pytest).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet -e '.[dev]'
cargo test --workspace --quiet
python3 -m pytest "$@"

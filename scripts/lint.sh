#!/usr/bin/env bash
# Static checks: rustfmt, clippy (warnings are errors), ruff, mypy --strict, stubtest.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
python3 -m ruff check python tests benches examples
python3 -m ruff format --check python tests benches examples
python3 -m mypy
python3 -m mypy.stubtest whatsapp_client._core --allowlist .ci/stubtest-allowlist.txt
NO_MKDOCS_2_WARNING=1 python3 -m mkdocs build --strict --site-dir "$(mktemp -d)"

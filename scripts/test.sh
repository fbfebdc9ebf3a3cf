#!/usr/bin/env bash
# Install what is missing, then run the test suite (no network; real Chromium against the local shop).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
.venv/bin/ruff check --quiet . || { echo "lint failed: run .venv/bin/ruff check . to see why" >&2; exit 1; }
exec .venv/bin/python -m pytest "$@"

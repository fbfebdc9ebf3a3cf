#!/usr/bin/env bash
# Install what is missing, then run the test suite (no network; real Chromium against the local shop).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/python -m pytest "$@"

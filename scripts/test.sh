#!/usr/bin/env bash
# Install what is missing, then run the test suite (no network; real Chromium against the local shop) and the
# quick evals (chat relevance; real shoppers when the shared data is beside the checkout; the agent suite), each of
# which fails when a metric falls below its threshold.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh --for-tests
.venv/bin/ruff check --quiet . || { echo "lint failed: run .venv/bin/ruff check . to see why" >&2; exit 1; }
# The import contracts of pyproject.toml ([tool.importlinter]): imports point down the layers only.
.venv/bin/lint-imports --no-cache --no-logo || { echo "import contracts broken: see above (pyproject.toml, [tool.importlinter])" >&2; exit 1; }
.venv/bin/python -m pytest "$@"
# Quick evals: each exits non-zero when a figure falls below its floor (docs/evals.md says how each was set).
.venv/bin/python -m evals.relevance --quick --out eval-results/relevance-quick   # chat relevance, 14 scenarios
# Real shoppers (issue 19): ~30 users of the LC-Rec folder in the shared data; a clone without it says so and goes on.
if .venv/bin/python -c "import sys; from catalog.shared_data import shared_data_root as r; d = r(); sys.exit(0 if d and (d / 'sessions-amazon-scientific-2018').is_dir() else 1)"; then
    .venv/bin/interarec eval --suite quick --dataset lcrec:sessions-amazon-scientific-2018 --out eval-results/lcrec-quick
else
    echo "real-shopper quick sample skipped: no shared data (sessions-amazon-scientific-2018) beside this checkout" >&2
fi
exec .venv/bin/interarec eval --suite quick --out eval-results/quick

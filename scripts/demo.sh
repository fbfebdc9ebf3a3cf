#!/usr/bin/env bash
# Install what is missing, then run InteraRec end to end on the embedded defaults (no key, no network).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/interarec demo "$@"

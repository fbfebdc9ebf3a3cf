#!/usr/bin/env bash
# Peer comparison of the session models (issue #7): our SKNN / V-SKNN / STAN against RecBole's GRU4Rec and SR-GNN
# on the Diginetica sample, in a separate venv so torch and RecBole never enter the main .venv.
#
#   scripts/peers.sh [run] [args...]   make .venv-peers if needed, then python -m benchmarks.peers.compare args...
#   scripts/peers.sh setup             only make (or repair) .venv-peers
#   scripts/peers.sh test              tests/benchmarks/test_session_peers.py and test_peers_lcrec.py inside .venv-peers
#   scripts/peers.sh lcrec DIR [--model gru4rec|sasrec] [--epochs N]   train on DIR/peers-input.json (from
#                                      python -m evals.peers export), write DIR/rankings-MODEL.json (docs/peers-lcrec.md)
#
# .venv-peers: Python 3.11, torch 2.13.0 (CPU), RecBole 1.2.1 (the latest release), with the pins RecBole 1.2.1
# needs: numpy<2 (its Config assigns np.float = np.float_, gone in NumPy 2) and pandas<3 (its inplace fillna on
# a column is a no-op under pandas 3's copy-on-write). RecBole's quick_start imports ray, which needs
# pkg_resources (setuptools<81); we never use quick_start, so setuptools is left alone. This repo is installed
# editable without its dependencies: tools.sessions.data / tools.sessions.models / benchmarks need only numpy.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv-peers
PYTHON=${PYTHON:-python3.11}
PINS=(torch==2.13.0 recbole==1.2.1 "numpy>=1.26,<2" "pandas>=2.2,<3")

ready() {
    [ -x "$VENV/bin/python" ] && "$VENV/bin/python" - <<'EOF' 2>/dev/null
import importlib.metadata as md
import sys
assert sys.version_info[:2] == (3, 11)
assert md.version("torch").split("+")[0] == "2.13.0" and md.version("recbole") == "1.2.1"
assert md.version("numpy").startswith("1.") and md.version("pandas").startswith("2.")
import recbole.model.sequential_recommender, recbole.trainer  # noqa: E401,F401
import benchmarks.peers.recbole_runner, tools.sessions.models, pytest  # noqa: E401,F401
EOF
}

setup() {
    if ready; then
        return
    fi
    echo "setting up $VENV (torch CPU + RecBole) ..." >&2
    if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys; assert sys.version_info[:2] == (3, 11)'; then
        rm -rf "$VENV"
        "$PYTHON" -m venv "$VENV"
    fi
    "$VENV/bin/pip" install -q "${PINS[@]}"
    "$VENV/bin/pip" install -q --no-deps -e .
    "$VENV/bin/pip" install -q "pytest>=8,<10"
    ready || { echo "$VENV is not usable after installing; see the errors above" >&2; exit 1; }
}

cmd=run
case "${1:-}" in
    setup|test|run|lcrec) cmd=$1; shift ;;
    ""|-*) ;;
    *) echo "usage: scripts/peers.sh [setup|test|run|lcrec] [args...]" >&2; exit 2 ;;
esac
setup
case "$cmd" in
    # --noconftest: tests/conftest.py imports the main venv's server deps (httpx), which .venv-peers does not have
    test) exec "$VENV/bin/python" -m pytest -q --noconftest tests/benchmarks/test_session_peers.py tests/benchmarks/test_peers_lcrec.py "$@" ;;
    lcrec) OMP_NUM_THREADS=1 exec "$VENV/bin/python" -m benchmarks.peers.lcrec "$@" ;;
    run) exec "$VENV/bin/python" -m benchmarks.peers.compare "$@" ;;
esac

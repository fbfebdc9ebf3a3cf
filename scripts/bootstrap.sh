#!/usr/bin/env bash
# Install what InteraRec needs, idempotently: Debian's Chromium and fonts, a virtualenv in ./.venv, the
# project and its dependencies (with --for-tests, also PostgreSQL's server for the checkpointer tests). Each step
# is skipped when it is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=""
apt_install() {
    [ -n "$apt_updated" ] || { as_root apt-get update -qq; apt_updated=1; }
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# 1. Browser and fonts (the shop's prices use the rupee sign, which DejaVu Sans has).
if ! [ -x /usr/bin/chromium ]; then
    echo "bootstrap: installing chromium (apt)" >&2
    apt_install chromium fonts-dejavu-core
elif ! [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then
    apt_install fonts-dejavu-core
fi

# 1b. For the tests only (scripts/test.sh passes --for-tests): PostgreSQL's server binaries, with which
#     tests/agent/test_postgres_checkpointer.py starts a throwaway cluster.
if [ "${1:-}" = "--for-tests" ] && ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
    echo "bootstrap: installing postgresql (apt)" >&2
    apt_install --no-install-recommends postgresql
fi

# 1c. For the tests only: Debian's redis-server, with which tests/service/ start a throwaway Redis (the queue of
#     `interarec serve` / `interarec worker`; users of the service install it the same way, docs/service.md).
if [ "${1:-}" = "--for-tests" ] && ! [ -x /usr/bin/redis-server ]; then
    echo "bootstrap: installing redis-server (apt)" >&2
    apt_install --no-install-recommends redis-server
fi

# 2. Python >= 3.11 and a virtualenv.
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3 || true)}"
if [ -z "$PYTHON" ] || ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "bootstrap: Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)" >&2
    exit 1
fi
if ! [ -x .venv/bin/python ]; then
    if ! "$PYTHON" -m venv .venv 2>/dev/null; then
        echo "bootstrap: installing python3-venv (apt)" >&2
        rm -rf .venv
        apt_install python3-venv
        "$PYTHON" -m venv .venv
    fi
fi

# 3. The project and its dependencies, re-installed only when pyproject.toml changes.
stamp=.venv/.interarec-installed
# An editable install records the package list, so a new top-level package also means re-installing.
want="$( (cat pyproject.toml; ls -d */__init__.py) | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
    echo "bootstrap: installing Python packages into .venv (about a minute the first time)" >&2
    .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
    .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test,postgres]'
    echo "$want" > "$stamp"
fi

#!/usr/bin/env bash
# The integration suite against a real model server (tests/real_model/, `pytest -m real_model`).
#
#   bash scripts/test-real-model.sh [PYTEST ARGS]
#
# By default it builds (once) or reuses the local llama.cpp server (scripts/build-local-model.sh), starts it on a
# free 127.0.0.1 port with the bundled SmolLM2-135M-Instruct, runs the suite against it and stops it. To run the
# same suite against another OpenAI-compatible server, set INTERAREC_TEST_MODEL_URL (e.g. https://api.openai.com/v1
# or http://127.0.0.1:8000/v1), INTERAREC_TEST_MODEL and INTERAREC_TEST_MODEL_KEY: nothing is built or started.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${INTERAREC_TEST_MODEL_URL:-}" ]; then
    bash scripts/build-local-model.sh
    log="$(mktemp -t interarec-local-model.XXXXXX)"
    # serve-local prints one JSON document (the URL, the model) once the server answers, then serves until it is
    # sent SIGTERM (or Ctrl-C), when it stops the llama.cpp server.
    nice -n 10 .venv/bin/interarec models serve-local --port 0 --json >"$log" 2>"$log.err" &
    server=$!
    trap 'kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -f "$log" "$log.err"' EXIT
    for _ in $(seq 1 240); do
        if .venv/bin/python -c 'import json, sys; json.load(open(sys.argv[1]))' "$log" 2>/dev/null; then break; fi
        if ! kill -0 "$server" 2>/dev/null; then
            echo "test-real-model: the local model server did not start:" >&2
            cat "$log" "$log.err" >&2
            exit 1
        fi
        sleep 0.5
    done
    read -r url model < <(.venv/bin/python -c \
        'import json, sys; d = json.load(open(sys.argv[1])); print(d["base_url"], d["model"])' "$log")
    export INTERAREC_TEST_MODEL_URL="$url" INTERAREC_TEST_MODEL="$model" INTERAREC_TEST_MODEL_KEY=local
    echo "test-real-model: local llama.cpp server at $url ($model)" >&2
else
    echo "test-real-model: the server at $INTERAREC_TEST_MODEL_URL (${INTERAREC_TEST_MODEL:-its first model})" >&2
fi

nice -n 10 .venv/bin/python -m pytest tests/real_model -m real_model -p no:cacheprovider "$@"

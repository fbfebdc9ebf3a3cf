"""Starting and stopping a local `chroma run` server (the CLI that comes with chromadb), for the test suite and
the benchmarks: ``with chroma_server(path) as url: CatalogStore.connect(url)``."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

START_TIMEOUT_S = 30.0


class ChromaServerError(RuntimeError):
    """The server could not be started; the message carries the end of its log."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def chroma_executable() -> str:
    beside = Path(sys.executable).parent / "chroma"
    found = str(beside) if beside.exists() else shutil.which("chroma")
    if found is None:
        raise ChromaServerError("the `chroma` CLI (installed with chromadb) is not next to the interpreter or on PATH")
    return found


@contextlib.contextmanager
def chroma_server(path: Path, log_path: Path | None = None) -> Iterator[str]:
    """A server on a free 127.0.0.1 port storing in ``path``; yields its URL once its heartbeat answers, and
    stops it on exit."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = log_path or path.parent / f"{path.name}.server.log"
    with open(log_path, "wb") as log_file:
        server = subprocess.Popen(
            [chroma_executable(), "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(path)],
            stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                httpx.get(f"{url}/api/v2/heartbeat", timeout=1).raise_for_status()
                break
            except httpx.HTTPError as exc:
                if server.poll() is not None or time.monotonic() > deadline:
                    log = log_path.read_text(errors="replace")[-2000:]
                    raise ChromaServerError(f"`chroma run` did not answer at {url} (exit code {server.poll()}); "
                                            f"its log:\n{log}") from exc
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()

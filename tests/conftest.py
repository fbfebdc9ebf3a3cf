"""Test-wide guards: no test reaches the network (only loopback sockets), and data stays in tmp dirs."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

import pytest

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_loopback(address: object) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    host = address[0] if isinstance(address, tuple) else None
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except (TypeError, ValueError):
        return False


def _guarded(real):
    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
            raise OSError(f"tests may not reach the network (tried {address!r})")
        return real(self, address)

    return connect


@pytest.fixture(autouse=True, scope="session")
def _block_network():
    socket.socket.connect = _guarded(_real_connect)
    socket.socket.connect_ex = _guarded(_real_connect_ex)
    yield
    socket.socket.connect = _real_connect
    socket.socket.connect_ex = _real_connect_ex


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path_factory, monkeypatch):
    """Each test gets its own data dir and no config file or endpoint from the developer's machine."""
    import os

    for name in list(os.environ):
        if name.startswith("INTERAREC_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("INTERAREC_DATA_DIR", str(tmp_path_factory.mktemp("interarec-data")))
    monkeypatch.setenv("INTERAREC_CONFIG", str(Path(tmp_path_factory.mktemp("cfg")) / "none.toml"))


CHROMIUM = Path("/usr/bin/chromium")
requires_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    """A real `chroma run` server on 127.0.0.1 (the CLI that comes with chromadb), for the whole session: its URL.
    It stores in a tmp dir and is stopped at the end; tests keep apart by using collections of their own."""
    import shutil
    import subprocess
    import sys
    import time

    import httpx

    chroma = Path(sys.executable).parent / "chroma"
    executable = str(chroma) if chroma.exists() else shutil.which("chroma")
    if executable is None:
        pytest.fail("the `chroma` CLI (installed with chromadb) is not found next to the interpreter or on PATH")
    root = tmp_path_factory.mktemp("chroma-server")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = root / "server.log"
    with open(log_path, "wb") as log_file:
        server = subprocess.Popen(
            [executable, "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(root / "db")],
            stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/api/v2/heartbeat", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if server.poll() is not None or time.monotonic() > deadline:
                    log = log_path.read_text(errors="replace")[-2000:]
                    pytest.fail(f"`chroma run` did not answer at {url} (exit code {server.poll()}); its log:\n{log}")
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()

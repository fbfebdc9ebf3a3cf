"""Test-wide guards: no test reaches the network (only loopback sockets), and data stays in tmp dirs."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

import pytest

from catalog.chroma_server import free_port  # noqa: F401 - tests that start servers import it from here

# The catalog-store fixtures (``mode``, ``stores``, ``store``) that run a test on both store modes.
pytest_plugins = ["tests.catalog_stores"]

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


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    """A real `chroma run` server on 127.0.0.1 (the CLI that comes with chromadb), for the whole session: its URL.
    It stores in a tmp dir and is stopped at the end; tests keep apart by using collections of their own."""
    from catalog.chroma_server import ChromaServerError, chroma_server

    root = tmp_path_factory.mktemp("chroma-server")
    try:
        with chroma_server(root / "db", root / "server.log") as url:
            yield url
    except ChromaServerError as exc:
        pytest.fail(str(exc))

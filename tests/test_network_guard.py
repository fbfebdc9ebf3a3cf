"""The suite's own guard: a test that tries to leave the machine fails instead of reaching the network."""

import socket

import pytest


def test_outside_addresses_are_refused():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock, pytest.raises(OSError, match="network"):
        sock.connect(("93.184.216.34", 80))


def test_loopback_is_allowed():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.socket() as client:
            client.connect(server.getsockname())

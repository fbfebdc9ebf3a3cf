"""A small TCP proxy on 127.0.0.1 in front of a model server, that fails on purpose after a number of requests.

- ``stall``: it stops forwarding: the request is read and held, no byte of an answer comes back (a server that
  hangs mid-generation).
- ``die``: the connection is closed without an answer, and the proxy stops listening, so that the client's retries
  find nothing there (a server killed mid-request).

Requests before that (``forward_first``) are forwarded to the upstream server as they are (plain HTTP upstreams;
for an https upstream only ``forward_first=0`` makes sense). A request is counted by its request line.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from urllib.parse import urlsplit

_METHODS = (b"GET ", b"POST ", b"PUT ", b"DELETE ", b"HEAD ", b"OPTIONS ", b"PATCH ")


class FaultyProxy:
    def __init__(self, upstream_url: str, mode: str, forward_first: int = 0) -> None:
        if mode not in ("stall", "die"):
            raise ValueError(f"mode must be stall or die, got {mode!r}")
        parts = urlsplit(upstream_url)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or (443 if parts.scheme == "https" else 80))
        self.path = parts.path.rstrip("/")
        self.mode, self.forward_first = mode, forward_first
        self.requests = 0  # request lines seen
        self.failed = threading.Event()  # set when the proxy stalled or dropped a request
        self._lock = threading.Lock()
        self._held: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._stopping = False
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    def __enter__(self) -> FaultyProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping = True
        with contextlib.suppress(OSError):
            self._listener.close()
        for sock in self._held:
            with contextlib.suppress(OSError):
                sock.close()

    def _accept(self) -> None:
        while not self._stopping:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self._held.append(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _count(self, data: bytes) -> bool:
        """Count the requests that begin in ``data``; True when one of them is past ``forward_first``."""
        with self._lock:
            starts = sum(data.startswith(m) or (b"\r\n" + m) in data for m in _METHODS)
            self.requests += starts
            return self.requests > self.forward_first

    def _serve(self, client: socket.socket) -> None:
        upstream: socket.socket | None = None
        try:
            while True:
                data = client.recv(65536)
                if not data:
                    return
                if self._count(data):
                    self._fail(client)
                    return
                if upstream is None:
                    upstream = socket.create_connection(self.upstream)
                    self._held.append(upstream)
                    threading.Thread(target=self._back, args=(upstream, client), daemon=True).start()
                upstream.sendall(data)
        except OSError:
            return

    def _back(self, upstream: socket.socket, client: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := upstream.recv(65536):
                client.sendall(data)

    def _fail(self, client: socket.socket) -> None:
        self.failed.set()
        if self.mode == "die":
            self._stopping = True
            with contextlib.suppress(OSError):
                self._listener.close()
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_RDWR)
            client.close()
            return
        # stall: read whatever else comes and never answer, until the client gives up or the test ends
        with contextlib.suppress(OSError):
            while client.recv(65536):
                pass

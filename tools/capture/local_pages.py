"""Saved pages on disk browsed by address (``--url file:///home/me/page.html`` or ``--url ./page.html``).

The browser opens only http(s) pages with a host (``browser.url_problem``), so a local file is served read-only
on 127.0.0.1 for the length of the run: each file's folder under its own prefix, so the page's relative assets
(a saved page's ``page_files/``) load too and nothing else on the disk is reachable.
"""

from __future__ import annotations

import mimetypes
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import quote, unquote, urlsplit


def local_file(address: str) -> Path | None:
    """The file an address names when it is a ``file:`` URL or a path with no scheme; None for other URLs."""
    parts = urlsplit(address)
    if parts.scheme.lower() == "file":
        return Path(unquote(parts.path))
    if parts.scheme == "" and not address.startswith("//"):
        return Path(address).expanduser()
    return None


class LocalPages:
    """Serves the given files (and their folders) on 127.0.0.1 while open; ``url_of(path)`` is the address to
    browse."""

    def __init__(self, files: list[Path]) -> None:
        self.folders: list[Path] = []
        self._prefix: dict[Path, int] = {}
        for file in files:
            folder = file.resolve().parent
            if folder not in self.folders:
                self.folders.append(folder)
            self._prefix[file.resolve()] = self.folders.index(folder)
        self._server: ThreadingHTTPServer | None = None

    def __enter__(self) -> Self:
        folders = self.folders

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                target = _resolve(folders, self.path)
                if target is None:
                    self.send_error(404)
                    return
                body = target.read_bytes()
                kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
                if kind == "text/html" and b"charset" not in body[:4096].lower():
                    kind += "; charset=utf-8"  # a saved page that names no charset: today's likeliest one
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, name="local-pages", daemon=True).start()
        return self

    def url_of(self, file: Path) -> str:
        assert self._server is not None, "use LocalPages as a context manager"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/{self._prefix[file.resolve()]}/{quote(file.name)}"

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def _resolve(folders: list[Path], request_path: str) -> Path | None:
    """The file under one of ``folders`` that ``/<index>/<relative path>`` names; None outside them."""
    index, _, rest = unquote(urlsplit(request_path).path).lstrip("/").partition("/")
    if not index.isdigit() or int(index) >= len(folders):
        return None
    folder = folders[int(index)]
    target = (folder / rest).resolve()
    if not target.is_file() or not target.is_relative_to(folder):  # no "../" out of the folder
        return None
    return target

"""InteraShop: a local, stdlib-only demo web shop over a list of :class:`~catalog.models.Product`.

The agent drives it in headless Chromium and screenshots it, so pages are plain server-rendered HTML
(no JS framework, no external assets) with large, high-contrast text. Routes (GET/HEAD):
``/`` home; ``/c/<slug>`` listing for the slug of any level of ``category_path`` (``/c/wrist-watches``);
``/search?q=``; ``/p/<product id>``; ``/img/<file>`` (regular files inside ``image_dir`` only);
``/static/<file>`` (``shop/assets``); ``/healthz``. Listings take ``brand`` (repeatable),
``min_price``, ``max_price``, ``min_rating``, ``sort=relevance|price_asc|price_desc|rating`` and ``page``
(24 a page); values that do not parse are ignored, never an error.

Catalog indexing, search ranking and filters live in :mod:`shop.listings`; page HTML in
:mod:`shop.pages`. CLI: ``python -m shop.server --port 8000``.
"""

from __future__ import annotations

import argparse
import functools
import logging
import math
import threading
from collections.abc import Iterable, Mapping
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import NamedTuple, Self
from urllib.parse import parse_qs, unquote, urlsplit

from catalog.models import Product
from shop import pages
from shop.listings import Filters, ShopCatalog, brand_facets, first_param, safe_file
from shop.live import LiveFeed, event
from shop.pages import slugify

logger = logging.getLogger(__name__)

SHOP_NAME = "InteraShop"
PAGE_SIZE = 24
ASSETS_DIR = Path(__file__).parent / "assets"
IMAGE_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp",
               ".gif": "image/gif", ".avif": "image/avif", ".svg": "image/svg+xml"}
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
HTML_TYPE = "text/html; charset=utf-8"


class Response(NamedTuple):
    status: int
    content_type: str
    body: bytes
    headers: dict[str, str]


def _html(status: int, text: str) -> Response:
    return Response(status, HTML_TYPE, text.encode("utf-8"), {"Cache-Control": "no-cache"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    shop: DemoShop

    def handle_error(self, request, client_address) -> None:  # noqa: ANN001 - stdlib signature
        # A browser that closes mid-response (a session ending) is routine, not worth a traceback on stderr.
        logger.debug("request from %s ended early", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "InteraShop/1.0"
    protocol_version = "HTTP/1.1"
    timeout = 30

    def log_message(self, format: str, *args: object) -> None:
        logger.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._respond(send_body=True)

    def do_HEAD(self) -> None:
        self._respond(send_body=False)

    def do_POST(self) -> None:
        self.close_connection = True
        self._send(self.server.shop.error(405, "That action is not supported here."), True)

    def _respond(self, send_body: bool) -> None:
        live = self.server.shop.live
        if live is not None and urlsplit(self.path).path == "/live/events" and send_body:
            self._stream(live)
            return
        try:
            response = self.server.shop.respond(self.path, self.headers)
        except Exception:  # the HTTP boundary: any bug becomes a logged 500 page, never a dropped connection
            logger.exception("error serving %s", self.path)
            response = self.server.shop.error(500, "Something went wrong on our side.")
        self._send(response, send_body)

    def _stream(self, live: LiveFeed) -> None:
        """Server-sent events: the latest recommendations now, then each new one, until the page goes away."""
        self.close_connection = True
        self.send_response(200)
        for key, value in (("Content-Type", "text/event-stream; charset=utf-8"), ("Cache-Control", "no-store"),
                           ("X-Content-Type-Options", "nosniff")):
            self.send_header(key, value)
        self.end_headers()
        seen = -1
        try:
            while True:
                seen, payload, closed = live.next(seen)
                if closed:
                    return
                self.wfile.write(event(payload) if payload is not None else b": keep-alive\n\n")
                self.wfile.flush()
        except OSError:  # the page was left or closed: the browser dropped the stream
            return

    def _send(self, response: Response, send_body: bool) -> None:
        self.send_response(response.status)
        for key, value in {"Content-Type": response.content_type, "Content-Length": str(len(response.body)),
                           "X-Content-Type-Options": "nosniff", **response.headers}.items():
            self.send_header(key, value)
        self.end_headers()
        if send_body and response.body:
            self.wfile.write(response.body)


class DemoShop:
    """The shop server. ``with DemoShop(products, image_dir) as shop: page.goto(shop.url)``.

    ``port=0`` picks a free port; the real one is in :attr:`port` / :attr:`url` after :meth:`start`.
    Requests are served from a daemon thread and logged at DEBUG on this module's logger.
    """

    def __init__(self, products: Iterable[Product], image_dir: Path, host: str = "127.0.0.1", port: int = 0,
                 live: LiveFeed | None = None):
        self.image_dir = Path(image_dir)
        self.live = live  # given: every page shows the "Recommended for you" panel, fed from it
        self.catalog = ShopCatalog(products, self.image_dir)
        self.host = host
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._nav = pages.nav_links([name for (name,) in self.catalog.roots()])

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> Self:
        if self._server is not None:
            return self
        self._server = _Server((self.host, self._port), _Handler)
        self._server.shop = self
        self._port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="demo-shop", daemon=True)
        self._thread.start()
        logger.debug("demo shop serving %d products at %s", len(self.catalog.by_id), self.url)
        return self

    def stop(self) -> None:
        server, thread, self._server, self._thread = self._server, self._thread, None, None
        if self.live is not None:
            self.live.close()  # ends the open event streams
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        """Base URL without a trailing slash, e.g. ``http://127.0.0.1:41234``."""
        if self._server is None:
            raise RuntimeError("DemoShop is not started")
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        return f"http://{host}:{self._port}"

    def product_url(self, product_id: str) -> str:
        return self.url + pages.product_href(product_id)

    def category_url(self, name: str) -> str:
        return self.url + pages.category_href(slugify(name))

    # -- routing ---------------------------------------------------------------------------------
    def respond(self, target: str, headers: Mapping[str, str] | None = None) -> Response:
        """The response for a GET of ``target`` (path plus query string); never raises on bad input."""
        parts = urlsplit(target)
        path = parts.path if parts.path == "/" else parts.path.rstrip("/")
        try:
            qs = parse_qs(parts.query, max_num_fields=200)
        except ValueError:
            qs = {}
        headers = headers or {}
        if path == "/":
            return _html(200, pages.home_page(self._chrome(), *self._home_parts))
        if path == "/search":
            return self._search(qs)
        if path == "/healthz":
            return Response(200, "text/plain; charset=utf-8", b"ok", {"Cache-Control": "no-store"})
        if path == "/favicon.ico":
            path = "/static/logo.svg"
        for prefix, handler in (("/c/", self._category), ("/p/", self._product)):
            if path.startswith(prefix):
                return handler(unquote(path[len(prefix):]), qs)
        if path.startswith("/img/"):
            return self._file(self.image_dir, unquote(path[5:]), IMAGE_TYPES, headers, "max-age=86400")
        if path.startswith("/static/"):
            return self._file(ASSETS_DIR, unquote(path[8:]), STATIC_TYPES, headers, "max-age=300")
        return self.error(404, "We couldn't find the page you were looking for.")

    def error(self, status: int, message: str) -> Response:
        return _html(status, pages.error_page(self._chrome(), status, message))

    def _chrome(self, query: str = "") -> pages.Chrome:
        return pages.Chrome(SHOP_NAME, self._nav, self.catalog.images, query, live=self.live is not None)

    @functools.cached_property
    def _home_parts(self) -> tuple[list, list]:
        return pages.home_sections(self.catalog)  # the catalog never changes: computed once

    def _listing(self, qs, base: list[Product], **view) -> Response:
        filters = Filters.from_query(qs)
        pool = [p for p in base if filters.matches(p, check_brand=False)]
        results = filters.apply(base)
        page_count = max(1, math.ceil(len(results) / PAGE_SIZE))
        page = min(filters.page, page_count)
        listing = pages.Listing(
            products=results[(page - 1) * PAGE_SIZE: page * PAGE_SIZE], total=len(results), page=page,
            pages=page_count, filters=filters, params=filters.params(), page_size=PAGE_SIZE,
            brand_facets=brand_facets(pool, filters.brands), **view,
        )
        return _html(200, pages.listing_page(self._chrome(view.get("query", "")), listing))

    def _search(self, qs) -> Response:
        query = first_param(qs, "q")[:200]
        heading = f'Results for "{query}"' if query else "Search"
        return self._listing(qs, self.catalog.search(query), heading=heading,
                             base_path="/search", fixed=[("q", query)], query=query,
                             breadcrumb=[("Home", "/"), ("Search", None)])

    def _category(self, slug: str, qs) -> Response:
        paths = self.catalog.slug_paths.get(slug.lower())
        if not paths:
            return self.error(404, "We couldn't find that category.")
        main = max(paths, key=lambda k: (self.catalog.path_counts[k], k))
        crumbs = [("Home", "/")] + [(name, pages.category_href(slugify(name))) for name in main[:-1]]
        subs = [(name, pages.category_href(slugify(name)), n)
                for name, n in self.catalog.subcategories(paths)]
        return self._listing(qs, self.catalog.in_paths(paths), heading=main[-1], subcategories=subs,
                             base_path=pages.category_href(slug.lower()),
                             breadcrumb=[*crumbs, (main[-1], None)])

    def _product(self, product_id: str, qs) -> Response:
        product = self.catalog.by_id.get(product_id)
        if product is None:
            return self.error(404, "Sorry, this product is not available.")
        crumbs = [("Home", "/")] + [(n, pages.category_href(slugify(n))) for n in product.category_path]
        return _html(200, pages.product_page(self._chrome(), product, crumbs, self.catalog.similar(product)))

    def _file(self, base: Path, name: str, types: Mapping[str, str], headers, cache: str) -> Response:
        target = safe_file(base, name)
        content_type = types.get(target.suffix.lower()) if target else None
        if target is None or content_type is None:
            return self.error(404, "We couldn't find that file.")
        stat = target.stat()
        etag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
        modified = formatdate(stat.st_mtime, usegmt=True)
        extra = {"Cache-Control": cache, "ETag": etag, "Last-Modified": modified}
        if headers.get("If-None-Match") == etag:
            return Response(304, content_type, b"", extra)
        return Response(200, content_type, target.read_bytes(), extra)


def serve_forever(products: list[Product] | None = None, image_dir: Path | None = None,
                  host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the shop (the shipped demo catalog by default) until Ctrl-C."""
    from catalog import files

    with DemoShop(files.load_products() if products is None else products,
                  files.DEMO_IMAGES if image_dir is None else image_dir, host, port) as shop:
        print(f"{SHOP_NAME}: {len(shop.catalog.by_id)} products at {shop.url}/ (Ctrl-C to stop)", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


def main(argv: list[str] | None = None) -> None:
    from catalog import files

    parser = argparse.ArgumentParser(description=f"Run the {SHOP_NAME} demo web shop.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--products", type=Path, default=files.DEMO_PRODUCTS, help="products JSONL")
    parser.add_argument("--images", type=Path, default=files.DEMO_IMAGES, help="image directory")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request at DEBUG")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO)
    serve_forever(files.load_products(args.products), args.images, args.host, args.port)


if __name__ == "__main__":
    main()

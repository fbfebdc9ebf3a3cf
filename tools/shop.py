"""InteraShop: a local, stdlib-only demo web shop over a list of :class:`~catalog.models.Product`.

The agent drives it in headless Chromium and screenshots it, so pages are plain server-rendered HTML
(no JS framework, no external assets) with large, high-contrast text. Routes (GET/HEAD):
``/`` home; ``/c/<slug>`` listing for the slug of any level of ``category_path`` (``/c/wrist-watches``);
``/search?q=``; ``/p/<product id>``; ``/img/<file>`` (regular files inside ``image_dir`` only);
``/static/<file>`` (``tools/shop_assets``); ``/healthz``. Listings take ``brand`` (repeatable),
``min_price``, ``max_price``, ``min_rating``, ``sort=relevance|price_asc|price_desc|rating`` and ``page``
(24 a page); values that do not parse are ignored, never an error.

Search ranks by plain token overlap (no ML): (distinct query tokens in title + brand + category path,
distinct query tokens in the title) descending, then id. Tokens are lower-cased words minus a few stop
words, with a tiny plural rule (``watches`` -> ``watch``). CLI: ``python -m tools.shop --port 8000``.
"""

from __future__ import annotations

import argparse
import functools
import logging
import math
import re
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import NamedTuple, Self
from urllib.parse import parse_qs, quote, unquote, urlsplit

from catalog.models import Product
from tools import shop_pages as pages
from tools.shop_pages import slugify

logger = logging.getLogger(__name__)

SHOP_NAME = "InteraShop"
PAGE_SIZE = 24
SORTS = ("relevance", "price_asc", "price_desc", "rating")
ASSETS_DIR = Path(__file__).parent / "shop_assets"
IMAGE_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp",
               ".gif": "image/gif", ".avif": "image/avif", ".svg": "image/svg+xml"}
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
HTML_TYPE = "text/html; charset=utf-8"
_WORD_RE = re.compile(r"[^\W_]+")
_STOP_WORDS = frozenset({"a", "an", "and", "the", "for", "with", "of", "in", "on", "to", "by", "at", "or"})


def _stem(token: str) -> str:
    if len(token) > 4 and token.endswith(("ies", "ches", "shes", "xes", "sses")):
        return token[:-3] + "y" if token.endswith("ies") else token[:-2]
    plural = len(token) > 3 and token[-1] == "s" and token[-2:] not in ("ss", "us", "is")
    return token[:-1] if plural else token


def tokenize(text: str) -> set[str]:
    """Search tokens: lower-cased words, plural-stripped, without stop words and lone letters."""
    words = _WORD_RE.findall(text.lower())
    return {_stem(w) for w in words if w not in _STOP_WORDS and (len(w) > 1 or w.isdigit())}


def _popularity(p: Product) -> tuple:
    return (-(p.rating_count or 0), -(p.rating or 0.0), p.id)


def _first(qs: Mapping[str, list[str]], key: str) -> str:
    return (qs.get(key) or [""])[0].strip()


def _parse_number(text: str, low: float, high: float) -> float | None:
    try:
        value = float(text.replace(",", "").replace("₹", "").strip()) if len(text) <= 20 else math.nan
    except ValueError:
        return None
    return value if math.isfinite(value) and low <= value <= high else None


@dataclass(frozen=True)
class Filters:
    """Listing filters parsed from a query string; anything unparseable is dropped."""

    brands: tuple[str, ...] = ()
    min_price: float | None = None
    max_price: float | None = None
    min_rating: float | None = None
    sort: str = "relevance"
    page: int = 1

    @classmethod
    def from_query(cls, qs: Mapping[str, list[str]]) -> Filters:
        brands: list[str] = []
        for raw in qs.get("brand", [])[:50]:
            brand = "".join(ch for ch in raw if ch.isprintable()).strip()[:100]
            if brand and brand.casefold() not in {b.casefold() for b in brands}:
                brands.append(brand)
        min_price = _parse_number(_first(qs, "min_price"), 0, 1e9)
        max_price = _parse_number(_first(qs, "max_price"), 0, 1e9)
        if min_price is not None and max_price is not None and min_price > max_price:
            min_price, max_price = max_price, min_price
        page_text = _first(qs, "page")
        page = int(page_text) if page_text.isascii() and page_text.isdigit() and len(page_text) < 7 else 1
        sort = _first(qs, "sort")
        return cls(tuple(brands), min_price, max_price, _parse_number(_first(qs, "min_rating"), 0, 5),
                   sort if sort in SORTS else "relevance", max(page, 1))

    def matches(self, p: Product, *, check_brand: bool = True) -> bool:
        brands = {b.casefold() for b in self.brands} if check_brand else set()
        if brands and (p.brand or "").casefold() not in brands:
            return False
        if self.min_price is not None and (p.price is None or p.price < self.min_price):
            return False
        if self.max_price is not None and (p.price is None or p.price > self.max_price):
            return False
        return self.min_rating is None or (p.rating is not None and p.rating >= self.min_rating)

    def apply(self, products: Iterable[Product]) -> list[Product]:
        """Filter, then sort; ``relevance`` keeps the incoming order."""
        result = [p for p in products if self.matches(p)]
        if self.sort == "price_asc":
            result.sort(key=lambda p: (p.price is None, p.price or 0.0, p.id))
        elif self.sort == "price_desc":
            result.sort(key=lambda p: (p.price is None, -(p.price or 0.0), p.id))
        elif self.sort == "rating":
            result.sort(key=lambda p: (p.rating is None, -(p.rating or 0.0), -(p.rating_count or 0), p.id))
        return result

    def params(self) -> list[tuple[str, str]]:
        """The non-default filters as query parameters (without ``page``)."""
        numbers = {"min_price": self.min_price, "max_price": self.max_price, "min_rating": self.min_rating}
        return ([("brand", b) for b in self.brands]
                + [(k, pages.plain_number(v)) for k, v in numbers.items() if v is not None]
                + ([("sort", self.sort)] if self.sort != "relevance" else []))


class ShopCatalog:
    """The products plus the indexes the pages need (categories, search tokens, images)."""

    def __init__(self, products: Iterable[Product], image_dir: Path):
        self.by_id: dict[str, Product] = {}
        for p in products:
            if self.by_id.setdefault(p.id, p) is not p:
                logger.warning("duplicate product id %r ignored", p.id)
        self.ordered = sorted(self.by_id.values(), key=_popularity)
        self.path_counts: Counter[tuple[str, ...]] = Counter()
        self.children: dict[tuple[str, ...], set[tuple[str, ...]]] = defaultdict(set)
        self.slug_paths: dict[str, set[tuple[str, ...]]] = defaultdict(set)
        self.tokens: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
        for p in self.ordered:
            path = tuple(p.category_path)
            for depth in range(1, len(path) + 1):
                prefix = path[:depth]
                self.path_counts[prefix] += 1
                self.slug_paths[slugify(prefix[-1])].add(prefix)
                if depth > 1:
                    self.children[prefix[:-1]].add(prefix)
            title = tokenize(p.title)
            rest = tokenize(" ".join([p.brand or "", *p.category_path]))
            self.tokens[p.id] = (frozenset(title | rest), frozenset(title))
        self.images = {p.id: "/img/" + quote(p.image)  # only products whose photo really exists
                       for p in self.ordered if p.image and _safe_file(image_dir, p.image)}

    def roots(self) -> list[tuple[str, ...]]:
        return sorted((k for k in self.path_counts if len(k) == 1), key=lambda k: (-self.path_counts[k], k))

    def in_paths(self, paths: set[tuple[str, ...]]) -> list[Product]:
        depths = {len(path) for path in paths}
        return [p for p in self.ordered if any(tuple(p.category_path[:d]) in paths for d in depths)]

    def subcategories(self, paths: set[tuple[str, ...]]) -> list[tuple[str, int]]:
        counts: Counter[str] = Counter()
        for path in paths:
            for child in self.children.get(path, ()):
                counts[child[-1]] += self.path_counts[child]
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))

    def search(self, query: str) -> list[Product]:
        wanted = tokenize(query)
        if not wanted:
            return []
        scored = [(len(wanted & every), len(wanted & title), p) for p in self.ordered
                  for every, title in [self.tokens[p.id]]]
        return [p for hits, _, p in sorted(scored, key=lambda r: (-r[0], -r[1], r[2].id)) if hits]

    def similar(self, product: Product, limit: int = 6) -> list[Product]:
        path = tuple(product.category_path)
        same = [p for p in self.ordered if tuple(p.category_path) == path and p.id != product.id]
        if len(same) < limit and len(path) > 1:
            seen = {product.id, *(p.id for p in same)}
            same += [p for p in self.in_paths({path[:-1]}) if p.id not in seen]
        return same[:limit]


def _brand_facets(products: list[Product], chosen: tuple[str, ...], limit: int = 12) -> list:
    """Brand checkboxes (name, count, checked): chosen brands first, then the commonest ``limit``.
    Spellings that differ only in case are merged under the most common one."""
    counts: Counter[str] = Counter()
    names: dict[str, str] = {}
    for name, n in Counter(p.brand for p in products if p.brand).most_common():
        counts[name.casefold()] += n
        names.setdefault(name.casefold(), name)
    picked = {b.casefold() for b in chosen}
    names.update({b.casefold(): b for b in chosen if b.casefold() not in names})
    order = sorted(names, key=lambda k: (-counts[k], k))
    keys = [k for k in order if k in picked] + [k for k in order if k not in picked][:limit]
    return [(names[k], counts[k], k in picked) for k in keys]


def _safe_file(base: Path, name: str) -> Path | None:
    """``base/name`` if it is a regular file inside ``base`` (after resolving symlinks), else None."""
    if not name or "\x00" in name or "\\" in name:
        return None
    try:
        root = base.resolve()
        target = (root / name).resolve()
        return target if target != root and target.is_relative_to(root) and target.is_file() else None
    except (OSError, ValueError, RuntimeError):
        return None


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
        try:
            response = self.server.shop.respond(self.path, self.headers)
        except Exception:
            logger.exception("error serving %s", self.path)
            response = self.server.shop.error(500, "Something went wrong on our side.")
        self._send(response, send_body)

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

    def __init__(self, products: Iterable[Product], image_dir: Path, host: str = "127.0.0.1", port: int = 0):
        self.image_dir = Path(image_dir)
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
        return pages.Chrome(SHOP_NAME, self._nav, self.catalog.images, query)

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
            brand_facets=_brand_facets(pool, filters.brands), **view,
        )
        return _html(200, pages.listing_page(self._chrome(view.get("query", "")), listing))

    def _search(self, qs) -> Response:
        query = _first(qs, "q")[:200]
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
        target = _safe_file(base, name)
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

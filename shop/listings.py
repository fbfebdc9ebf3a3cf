"""InteraShop's catalog logic: indexing, search, listing filters and facets (no HTTP, no HTML).

Search ranks by plain token overlap (no ML): (distinct query tokens in title + brand + category path,
distinct query tokens in the title) descending, then id. Tokens are lower-cased words minus a few stop
words, with a tiny plural rule (``watches`` -> ``watch``). Served over HTTP by :mod:`shop.server`.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from catalog.models import Product
from shop import pages
from shop.pages import slugify

# The shop's logger, as before this module was split out of shop.server: one name for all shop messages.
logger = logging.getLogger("shop.server")

SORTS = ("relevance", "price_asc", "price_desc", "rating")
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


def first_param(qs: Mapping[str, list[str]], key: str) -> str:
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
        min_price = _parse_number(first_param(qs, "min_price"), 0, 1e9)
        max_price = _parse_number(first_param(qs, "max_price"), 0, 1e9)
        if min_price is not None and max_price is not None and min_price > max_price:
            min_price, max_price = max_price, min_price
        page_text = first_param(qs, "page")
        page = int(page_text) if page_text.isascii() and page_text.isdigit() and len(page_text) < 7 else 1
        sort = first_param(qs, "sort")
        return cls(tuple(brands), min_price, max_price, _parse_number(first_param(qs, "min_rating"), 0, 5),
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
                       for p in self.ordered if p.image and safe_file(image_dir, p.image)}

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


def brand_facets(products: list[Product], chosen: tuple[str, ...], limit: int = 12) -> list:
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


def safe_file(base: Path, name: str) -> Path | None:
    """``base/name`` if it is a regular file inside ``base`` (after resolving symlinks), else None."""
    if not name or "\x00" in name or "\\" in name:
        return None
    try:
        root = base.resolve()
        target = (root / name).resolve()
        return target if target != root and target.is_relative_to(root) and target.is_file() else None
    except (OSError, ValueError, RuntimeError):
        return None

"""Lexical retrieval and attribute checks over the catalog's own words.

``LexicalIndex`` is BM25 (``bm25s``) over each product's title, brand, category path, colour and descriptive
attributes (material, fabric, gender, usage, occasion, type, pattern), with the same singular-word tokens the
request parser uses. ``fuse`` merges it with the dense (Chroma) ranking by reciprocal rank fusion.
``has_colour`` / ``has_material`` / ``for_gender`` / ``has_words`` say whether a product meets a term a shopper
asked for, from what the catalog records (attribute first, then the title).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Sequence

import numpy as np

from catalog.models import Product
from catalog.search_filters import SearchFilters
from tools.recommend.vocabulary import COLOUR_ALIASES, MATERIAL_ALIASES, OTHER_SEX, STOPWORDS, words

RRF_K = 60  # reciprocal rank fusion: score = sum over rankings of 1 / (RRF_K + rank)
_ATTRIBUTE_KEYS = ("material", "fabric", "gender", "ideal for", "usage", "occasion", "type", "pattern", "color",
                   "colour", "strap", "size", "suitable for")
_GENDER_KEYS = ("gender", "ideal for")


def _attributes(product: Product) -> list[str]:
    return [v for k, v in product.specifications.items() if any(key in k.casefold() for key in _ATTRIBUTE_KEYS)]


def product_text(product: Product) -> str:
    parts = [product.title, product.brand or "", " ".join(product.category_path), product.colour or ""]
    return " ".join(parts + _attributes(product))


def tokens(text: str) -> list[str]:
    return [w for w in words(text) if w not in STOPWORDS]


class LexicalIndex:
    """BM25 over the catalog's products; build once per catalog (about 0.3 s for 1,647 products)."""

    def __init__(self, products: Iterable[Product]) -> None:
        import bm25s

        # bm25s logs its progress at DEBUG/INFO, which would land in the chat's stderr; it sets its logger to
        # DEBUG when first imported, so the level is set after the import
        logging.getLogger("bm25s").setLevel(logging.WARNING)

        self.products = sorted(products, key=lambda p: p.id)
        self.ids = [p.id for p in self.products]
        self.position = {pid: i for i, pid in enumerate(self.ids)}
        self._bm25 = bm25s.BM25()
        self._bm25.index([tokens(product_text(p)) or ["_"] for p in self.products], show_progress=False)

    def seen_scores(self, queries: Sequence[tuple[str, float]]) -> np.ndarray:
        """Per product, the weighted mean over ``queries`` (text, weight) of its BM25 score divided by that
        query's best score: 1 for the product matching a query best, so queries of different lengths weigh alike."""
        total = np.zeros(len(self.ids), dtype=np.float32)
        weights = sum(w for _, w in queries if w > 0)
        for query, weight in queries:
            scores = self.scores(query)
            top = float(scores.max()) if len(scores) else 0.0
            if weight > 0 and top > 0:
                total += (weight / weights) * scores / top
        return total

    def scores(self, query: str) -> np.ndarray:
        terms = tokens(query)
        if not terms:
            return np.zeros(len(self.ids), dtype=np.float32)
        return np.asarray(self._bm25.get_scores(terms), dtype=np.float32)

    def search(self, query: str, filters: SearchFilters | None = None, limit: int = 60) -> list[tuple[Product, float]]:
        """Products with a positive BM25 score that pass ``filters``, best first (ties by id)."""
        scores = self.scores(query)
        order = np.argsort(-scores, kind="stable")
        hits = []
        for i in order:
            if scores[i] <= 0 or len(hits) >= limit:
                break
            product = self.products[i]
            if filters is None or passes(product, filters):
                hits.append((product, float(scores[i])))
        return hits


_INDEXES: dict[str, LexicalIndex] = {}
_KEPT = 4  # catalogs whose index is kept in memory (a process sees one or two)


def index_for(products: Iterable[Product]) -> LexicalIndex:
    """The BM25 index of these products, built once per catalog content (the hash of every indexed text), so
    callers that recommend again and again do not rebuild it (about 0.2 s for 4,344 products)."""
    products = list(products)
    digest = hashlib.sha256()
    for p in sorted(products, key=lambda p: p.id):
        digest.update(f"{p.id}\x1f{product_text(p)}\x1e".encode())
    key = digest.hexdigest()
    if key not in _INDEXES:
        if len(_INDEXES) >= _KEPT:
            _INDEXES.pop(next(iter(_INDEXES)))
        _INDEXES[key] = LexicalIndex(products)
    return _INDEXES[key]


def passes(product: Product, f: SearchFilters) -> bool:
    """The same test as Chroma's ``where`` clause of ``f`` (catalog/search_filters.py), in Python."""
    if f.min_price is not None and (product.price is None or product.price < f.min_price):
        return False
    if f.max_price is not None and (product.price is None or product.price > f.max_price):
        return False
    if f.brands and (product.brand or "").casefold() not in {b.casefold() for b in f.brands}:
        return False
    if f.categories and not {c.casefold() for c in product.category_path[:6]} & {c.casefold() for c in f.categories}:
        return False
    if f.min_rating is not None and (product.rating is None or product.rating < f.min_rating):
        return False
    return product.id not in set(f.exclude_ids)


def fuse(*rankings: list[str]) -> dict[str, float]:
    """Reciprocal rank fusion of rankings of product ids (best first)."""
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, pid in enumerate(ranking, start=1):
            fused[pid] = fused.get(pid, 0.0) + 1.0 / (RRF_K + rank)
    return fused


# ------------------------------------------------------------------------------------------- attribute checks
def _text_words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.casefold()))


def _phrase_in(phrase: str, text: str) -> bool:
    return re.search(r"(?<![a-z0-9])" + re.escape(phrase.casefold()) + r"(?![a-z0-9])", text.casefold()) is not None


def has_colour(product: Product, colour: str) -> bool | None:
    """True/False from the recorded colour (or the title); None when the product records no colour at all."""
    names = COLOUR_ALIASES.get(colour, set()) | {colour.casefold()}
    recorded = " ".join(filter(None, [product.colour, product.specifications.get("Color", "")]))
    if any(_phrase_in(n, recorded) for n in names):
        return True
    if any(_phrase_in(n, product.title) for n in names):
        return True
    return False if recorded else None


def has_material(product: Product, material: str) -> bool | None:
    names = MATERIAL_ALIASES.get(material, set()) | {material.casefold()}
    recorded = " ".join(v for k, v in product.specifications.items()
                        if "material" in k.casefold() or "fabric" in k.casefold())
    if any(_phrase_in(n, recorded) or _phrase_in(n, product.title) for n in names):
        return True
    return False if recorded else None


def gender_of(product: Product) -> str:
    recorded = " ".join(v for k, v in product.specifications.items() if k.casefold() in _GENDER_KEYS)
    return recorded or " ".join(product.category_path) + " " + product.title


def for_gender(product: Product, gender: str) -> bool | None:
    """True when the product is recorded for this gender, False when only for the other sex, None otherwise."""
    found = _text_words(gender_of(product).replace("'s", "s"))
    same = {"men": {"men", "man", "mens"}, "women": {"women", "woman", "womens", "ladies"},
            "boys": {"boys", "boy", "kids"}, "girls": {"girls", "girl", "kids"},
            "baby": {"baby", "infant", "kids"}, "kids": {"kids", "boys", "girls", "baby"}}.get(gender, set())
    if "unisex" in found or found & same:
        return True
    if found & OTHER_SEX.get(gender, set()):
        return False
    return None


def has_words(product: Product, phrase: str) -> bool:
    """Every content word of ``phrase`` is in the product's text (singular forms)."""
    wanted = set(tokens(phrase))
    return bool(wanted) and wanted <= set(tokens(product_text(product)))

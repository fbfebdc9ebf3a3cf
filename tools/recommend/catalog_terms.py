"""The catalog's own names, for reading requests: its categories (by lexicon, then by meaning with the catalog's
MiniLM embedding), its brands, and the price bands of each product type.

A product type said in a request is resolved in this order (docs/chat-relevance.md, "Product types"):
1. lexicon: the request's words, singular, equal a category name at any level of a path ("coffee mugs" ->
   Coffee Mugs), or its last word when that word names the category's kind ("mug" -> Coffee Mugs; "watch" ->
   Wrist Watches and Watches); a general synonym first maps the word ("purse" -> wallet);
2. meaning: the cosine similarity of the phrase and each category (name and parent) with the MiniLM model the
   catalog is embedded with; accepted at ``ACCEPT`` or more, else the type is unknown and the nearest
   categories are named.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

import numpy as np

from catalog.models import Product
from tools.recommend.vocabulary import STOPWORDS, TYPE_SYNONYMS, words

ACCEPT = 0.65  # cosine similarity from which an unknown phrase is taken as a category (tuned on the dev split)
WEAK = 0.45  # below this a phrase alone is not taken as a shopping request at all
NEAREST = 3  # categories named when a type is unknown


@dataclass(frozen=True)
class TypeMatch:
    """A product type resolved against the catalog."""

    phrase: str  # as said
    categories: list[str]  # the catalog's names; empty when unknown
    how: str  # "lexicon", "synonym", "meaning" or "unknown"
    similarity: float = 1.0
    nearest: list[str] = field(default_factory=list)  # for an unknown type: the closest categories


@dataclass
class CatalogTerms:
    """Names and price bands of one catalog. Build with :meth:`from_products`; cheap to query."""

    products: dict[str, Product]
    category_counts: dict[str, int]
    lexicon: dict[tuple[str, ...], set[str]]
    brands: dict[str, str]  # casefolded -> catalog spelling
    brand_words: dict[tuple[str, ...], str]
    _prices: dict[str, list[float]] = field(default_factory=dict)
    _leaf_names: list[str] = field(default_factory=list)
    _vectors: np.ndarray | None = None

    @classmethod
    def from_products(cls, products: list[Product]) -> CatalogTerms:
        counts: dict[str, int] = {}
        prices: dict[str, list[float]] = {}
        for p in products:
            for name in dict.fromkeys(p.category_path):
                counts[name] = counts.get(name, 0) + 1
                if p.price is not None:
                    prices.setdefault(name, []).append(float(p.price))
        lexicon: dict[tuple[str, ...], set[str]] = {}
        for name in counts:
            # "Bottles & Sippers" names two kinds; "Coffee Mugs" is a kind of mug: the last word of each part finds
            # it too, unless that word is generic ("set", "care")
            for part in [name, *re.split(r"\s*(?:&|,|\band\b)\s*", name)]:
                key = tuple(words(part))
                if not key:
                    continue
                lexicon.setdefault(key, set()).add(name)
                if len(key) > 1 and key[-1] not in STOPWORDS and key[-1] not in _GENERIC_HEADS:
                    lexicon.setdefault(key[-1:], set()).add(name)
        brands = {b.casefold(): b for p in products if p.brand for b in [p.brand]}
        brand_words = {tuple(re.findall(r"[a-z0-9&'.!@-]+", key)): b for key, b in brands.items()}
        leaves = sorted({p.leaf_category for p in products})
        return cls({p.id: p for p in products}, counts, lexicon, brands, brand_words,
                   {k: sorted(v) for k, v in prices.items()}, leaves)

    # ------------------------------------------------------------------ product types
    def lexicon_types(self, tokens: list[str]) -> list[tuple[int, int, list[str], str]]:
        """Spans of ``tokens`` (singular words) naming categories, longest first, not overlapping:
        (start, end, categories, how)."""
        found: list[tuple[int, int, list[str], str]] = []
        taken: set[int] = set()
        for size in (4, 3, 2, 1):
            for start in range(len(tokens) - size + 1):
                span = range(start, start + size)
                if taken & set(span):
                    continue
                key = tuple(tokens[start:start + size])
                names, how = self._lookup(key)
                if names:
                    found.append((start, start + size, names, how))
                    taken |= set(span)
        return sorted(found)

    def _lookup(self, key: tuple[str, ...]) -> tuple[list[str], str]:
        if key in self.lexicon:
            return sorted(self.lexicon[key]), "lexicon"
        joined = "".join(key)  # "t shirt" / "tshirt", "pen drive" / "pendrive"
        for lex, names in self.lexicon.items():
            if len(key) > 1 and "".join(lex) == joined:
                return sorted(names), "lexicon"
        synonyms = TYPE_SYNONYMS.get(" ".join(key))
        if synonyms:
            names = set()
            for synonym in synonyms:
                names |= self.lexicon.get(tuple(words(synonym)), set())
            if names:
                return sorted(names), "synonym"
        return [], ""

    def _category_vectors(self) -> np.ndarray:
        if self._vectors is None:
            from catalog.embedding import embed_texts

            self._vectors = embed_texts([self._describe(name) for name in self._leaf_names])
        return self._vectors

    def _describe(self, leaf: str) -> str:
        parents = {p.category_path[-2] for p in self.products.values()
                   if p.leaf_category == leaf and len(p.category_path) > 1}
        return f"{leaf} ({', '.join(sorted(parents)[:2])})" if parents else leaf

    def by_meaning(self, phrase: str) -> TypeMatch:
        """The categories nearest ``phrase`` in meaning; accepted from ``ACCEPT`` similarity."""
        from catalog.embedding import embed_texts

        if not self._leaf_names:
            return TypeMatch(phrase, [], "unknown", 0.0)
        scores = self._category_vectors() @ embed_texts([phrase])[0]
        order = np.argsort(-scores)[:NEAREST]
        nearest = [self._leaf_names[i] for i in order]
        best = float(scores[order[0]])
        if best >= ACCEPT:
            return TypeMatch(phrase, nearest[:1], "meaning", round(best, 3), nearest)
        return TypeMatch(phrase, [], "unknown", round(best, 3), nearest)

    def resolve_type(self, phrase: str) -> TypeMatch:
        """A phrase that names a product type (whole): lexicon first, then meaning."""
        tokens = [t for t in words(phrase) if t not in STOPWORDS]
        if not tokens:
            return TypeMatch(phrase, [], "unknown", 0.0)
        names, how = self._lookup(tuple(tokens))
        if names:
            return TypeMatch(phrase, names, how)
        spans = self.lexicon_types(tokens)
        if spans:  # "slim wallet": the type is the part the lexicon knows
            start, end, names, how = max(spans, key=lambda s: (s[1] - s[0], s[1]))
            return TypeMatch(phrase, names, how)
        return self.by_meaning(" ".join(tokens))

    # ------------------------------------------------------------------ prices and brands
    def prices(self, categories: list[str]) -> list[float]:
        merged: list[float] = []
        for name in categories:
            merged.extend(self._prices.get(name, []))
        return sorted(merged)

    def band(self, categories: list[str], low_q: float, high_q: float) -> tuple[float, float] | None:
        """The prices between two quantiles of the products of ``categories`` (or of the whole catalog)."""
        prices = self.prices(categories) if categories else sorted(
            p.price for p in self.products.values() if p.price is not None)
        if not prices:
            return None
        return _quantile(prices, low_q), _quantile(prices, high_q)

    def brand(self, name: str) -> str | None:
        return self.brands.get(" ".join(name.split()).casefold())

    def close_brands(self, name: str, limit: int = 5) -> list[str]:
        key = name.casefold()[:3]
        return [b for k, b in sorted(self.brands.items()) if key and key in k][:limit]


_GENERIC_HEADS = {"set", "care", "kit", "accessory", "combo", "gift", "need", "wear", "essential", "product",
                  "good", "equipment", "furnishing", "decor", "linen", "tool"}


def _quantile(values: list[float], q: float) -> float:
    """The q-quantile of sorted values (nearest rank)."""
    index = min(len(values) - 1, max(0, int(round(q * (len(values) - 1)))))
    return values[index]


def rank_of(values: list[float], x: float) -> float:
    """The share of sorted ``values`` below ``x``."""
    return bisect.bisect_left(values, x) / len(values) if values else 0.0

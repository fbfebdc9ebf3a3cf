"""The catalog's own names, for reading requests: its categories (by lexicon, then by meaning with the catalog's
MiniLM embedding), its brands, and the price bands of each product type.

A product type said in a request is resolved in this order (docs/chat-relevance.md, "From words to
constraints"):
1. lexicon: the request's words, singular, equal a category name at any level of a path ("coffee mugs" ->
   Coffee Mugs), or its last word when that word names the category's kind ("mug" -> Coffee Mugs; "watch" ->
   Wrist Watches and Watches), also written as one word ("flipflops" -> Flip Flops); a general synonym first
   maps the word ("purse" -> wallet);
2. title words: a word of the catalog's titles that is no category name but that most products carrying it share
   one category ("earbuds", "kadhai", "ac" -> that category): ``TITLE_SHARE`` of at least ``TITLE_MIN`` products;
3. typos: a word found nowhere in the catalog one edit (two for long words) away from exactly one category word
   ("wach" -> watch, "deodrant" -> deodorant);
4. meaning: the cosine similarity of the phrase and each category (name and parent) with the MiniLM model the
   catalog is embedded with; accepted at ``ACCEPT`` or more, else the type is unknown and the nearest
   categories are named.

Brands are the catalog's. A one-word brand that is also an ordinary word of other products' titles ("Wireless",
"Fit", "Women" where a title's first word is taken as the brand) is ``ambiguous``: a brand only when said as one
("only Fit", "not Fit"). The distinctive word of a longer brand ("Benetton") names it after "not" or "only".
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz.distance import OSA

from catalog.models import Product
from tools.recommend.vocabulary import STOPWORDS, TYPE_SYNONYMS, words

TITLE_SHARE = 0.6  # share of the products whose titles carry a word that one category must hold
TITLE_MIN = 3  # products a title word must appear in to name a category
ACCEPT = 0.65  # cosine similarity from which an unknown phrase is taken as a category (tuned on the dev split)
WEAK = 0.45  # below this a phrase alone is not taken as a shopping request at all
# a phrase whose head word (its last) is found in titles of its nearest category ("face cream" ~ Face Care, whose
# products are creams) is taken as it from here: the titles back up a similarity too weak alone (dev split)
ACCEPT_SHARED = 0.55
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
    title_types: dict[str, list[str]] = field(default_factory=dict)  # title word -> the category it names
    vocabulary: set[str] = field(default_factory=set)  # every word of the catalog's titles and categories
    ambiguous_brands: set[str] = field(default_factory=set)  # one-word brand keys that are ordinary words too
    brand_parts: dict[str, list[str]] = field(default_factory=dict)  # a word of longer brands -> those brands
    _joined: dict[str, set[str]] = field(default_factory=dict)  # "flipflop" -> the categories of "flip flop"

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
        for key, brand in list(brand_words.items()):  # "levis" for Levi's
            bare = tuple(w.replace("'", "") for w in key)
            brand_words.setdefault(bare, brand)
        terms = cls({p.id: p for p in products}, counts, lexicon, brands, brand_words,
                    {k: sorted(v) for k, v in prices.items()}, sorted({p.leaf_category for p in products}))
        terms._index_titles(products)
        return terms

    def _index_titles(self, products: list[Product]) -> None:
        """Title words that name a category, the catalog's vocabulary, and which brand names are ordinary words."""
        leaves_of: dict[str, dict[str, int]] = {}
        brand_of_word: dict[str, int] = {}
        other_titles: dict[str, int] = {}
        single = {key[0]: brand for key, brand in self.brand_words.items() if len(key) == 1}
        for p in products:
            title = set(words(p.title))
            self.vocabulary |= title | {w for c in p.category_path for w in words(c)}
            for w in title:
                if w.isalpha() and len(w) > 1 and w not in STOPWORDS:
                    leaves_of.setdefault(w, {}).setdefault(p.leaf_category, 0)
                    leaves_of[w][p.leaf_category] += 1
            brand = (p.brand or "").casefold()
            for w in set(re.findall(r"[a-z0-9&'.!@-]+", p.title.casefold())):
                if w in single:
                    if single[w].casefold() == brand:
                        brand_of_word[w] = brand_of_word.get(w, 0) + 1
                    else:
                        other_titles[w] = other_titles.get(w, 0) + 1
        lexicon_words = {w for key in self.lexicon for w in key}
        brand_tokens = {w for key in self.brand_words for w in key}
        for w, leaves in leaves_of.items():
            total = sum(leaves.values())
            leaf, most = max(leaves.items(), key=lambda kv: (kv[1], kv[0]))
            if w not in lexicon_words and w not in brand_tokens and total >= TITLE_MIN and most / total >= TITLE_SHARE:
                self.title_types[w] = [leaf]
        self.ambiguous_brands = {w for w, n in other_titles.items() if n >= 2 and n * 2 >= brand_of_word.get(w, 0)}
        owners: dict[str, set[str]] = {}
        for key, brand in self.brand_words.items():
            for w in key if len(key) > 1 else ():
                if len(w) >= 4 and w not in STOPWORDS and w.isalpha():
                    owners.setdefault(w, set()).add(brand)
        self.brand_parts = {w: sorted(b) for w, b in owners.items() if len(b) <= 3}
        for key, names in self.lexicon.items():
            if len(key) > 1:
                self._joined.setdefault("".join(key), set()).update(names)

    # ------------------------------------------------------------------ product types
    def lexicon_types(self, tokens: list[str]) -> list[tuple[int, int, list[str], str]]:
        """Spans of ``tokens`` (singular words) naming categories, longest first, not overlapping:
        (start, end, categories, how)."""
        found: list[tuple[int, int, list[str], str]] = []
        taken: set[int] = set()
        fixed = [self.correct(t) for t in tokens]
        for size in (4, 3, 2, 1):
            for start in range(len(tokens) - size + 1):
                span = range(start, start + size)
                if taken & set(span):
                    continue
                key = tuple(fixed[start:start + size])
                names, how = self._lookup(key)
                if names:
                    typo = fixed[start:start + size] != tokens[start:start + size]
                    found.append((start, start + size, names, "typo" if typo else how))
                    taken |= set(span)
        return sorted(found)

    def _lookup(self, key: tuple[str, ...]) -> tuple[list[str], str]:
        if key in self.lexicon:
            return sorted(self.lexicon[key]), "lexicon"
        joined = "".join(key)  # "t shirt" / "tshirt", "pen drive" / "pendrive", "flipflops" / "flip flops"
        if len(key) > 1 and (joined,) in self.lexicon:
            return sorted(self.lexicon[(joined,)]), "lexicon"
        if joined in self._joined:
            return sorted(self._joined[joined]), "lexicon"
        synonyms = TYPE_SYNONYMS.get(" ".join(key))
        if synonyms:
            names = set()
            for synonym in synonyms:
                names |= self.lexicon.get(tuple(words(synonym)), set())
            if names:
                return sorted(names), "synonym"
        if len(key) == 1 and key[0] in self.title_types:
            return list(self.title_types[key[0]]), "title words"
        return [], ""

    def correct(self, word: str) -> str:
        """The category word ``word`` is a slip of ("wach" -> watch, "shoos" -> shoe), when ``word`` itself is no
        word of the catalog and one candidate is clearly the likelier (three times the products of the next)."""
        if len(word) < 4 or not word.isalpha() or word in self.vocabulary or word in STOPWORDS:
            return word
        limit = 1 if len(word) < 8 else 2
        close = sorted(((self._word_count(w), w) for w in {w for key in self.lexicon for w in key}
                        if abs(len(w) - len(word)) <= limit and w[:1] == word[:1] and osa_distance(word, w) <= limit),
                       reverse=True)
        if not close or (len(close) > 1 and close[0][0] < 3 * close[1][0]):
            return word
        return close[0][1]

    def _word_count(self, word: str) -> int:
        """Products in the categories whose names carry ``word``."""
        names = {n for key, found in self.lexicon.items() if word in key for n in found}
        return sum(self.category_counts.get(n, 0) for n in names)

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
        if best >= ACCEPT or (best >= ACCEPT_SHARED and self._head_in_titles(phrase, nearest[0])):
            return TypeMatch(phrase, nearest[:1], "meaning", round(best, 3), nearest)
        return TypeMatch(phrase, [], "unknown", round(best, 3), nearest)

    def _head_in_titles(self, phrase: str, category: str) -> bool:
        """Whether a product of ``category`` carries the phrase's last word in its title ("coffee table" is
        near Coffee Mugs, but no mug is called a table)."""
        head = (words(phrase) or [""])[-1]
        return bool(head) and head not in STOPWORDS and any(  # "Gel-Cream" is a cream too: hyphens split
            category in p.category_path and head in words(p.title.replace("-", " ")) for p in self.products.values())

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


def osa_distance(a: str, b: str) -> int:
    """Edits (insert, delete, substitute, swap two neighbours) from ``a`` to ``b``."""
    return OSA.distance(a, b)


def _quantile(values: list[float], q: float) -> float:
    """The q-quantile of sorted values (nearest rank)."""
    index = min(len(values) - 1, max(0, int(round(q * (len(values) - 1)))))
    return values[index]


def rank_of(values: list[float], x: float) -> float:
    """The share of sorted ``values`` below ``x``."""
    return bisect.bisect_left(values, x) / len(values) if values else 0.0

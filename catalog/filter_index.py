"""Every product's filterable fields in memory (numpy arrays), so a filtered search on a large catalog need not
ask Chroma to evaluate a ``where`` clause.

Why: on 100,000 products (2 cores) Chroma took 77 ms (p50) for a search with any ``where`` clause, even one a few
hundred products pass (590 ms for the agent's kind: a category and a price band), while a search restricted to
given ids took 4-15 ms once several hundred ids were given, and reading 60 products' metadata 8 ms. So the filter
is evaluated here over all products at once (under a millisecond) and Chroma searches only the products that
pass; fewer than 400 are ranked from their vectors instead (``CatalogStore.search``).

The cost is loading: one paged read of every product's metadata (1.2 s at 10,000 products, 12 s at 100,000),
once per process, which is why a store loads it only when asked (``CatalogStore.load_filter_index``: the chat
and the benchmarks do; a one-off search or run does not). The store keeps it current with its own writes and
reloads it when another process has changed the catalog.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from catalog.search_filters import MAX_CATEGORY_LEVELS, SearchFilters

_MISSING = -1


class FilterIndex:
    """Per product (by its id): price, rating, brand key and the category at each of the first six levels."""

    def __init__(self) -> None:
        self._ids: list[str] = []
        self._position: dict[str, int] = {}
        self._price: list[float] = []
        self._rating: list[float] = []
        self._brand: list[int] = []
        self._categories: list[list[int]] = []
        self._codes: dict[str, int] = {}  # brand keys and category names, each as a small integer
        self._arrays: tuple[np.ndarray, ...] | None = None  # built from the lists on the next select

    def __len__(self) -> int:
        return len(self._ids)

    def _code(self, text: str | None) -> int:
        if not text:
            return _MISSING
        return self._codes.setdefault(text, len(self._codes))

    def put(self, metadatas: Iterable[dict[str, Any]]) -> None:
        """Add products, or replace those already here, from the metadata the store writes for each."""
        for meta in metadatas:
            row = (float(meta.get("price", np.nan)), float(meta.get("rating", np.nan)),
                   self._code(meta.get("brand_key")),
                   [self._code(meta.get(f"cat{level}")) for level in range(MAX_CATEGORY_LEVELS)])
            position = self._position.get(meta["product_id"])
            if position is None:
                self._position[meta["product_id"]] = len(self._ids)
                self._ids.append(meta["product_id"])
                for column, value in zip((self._price, self._rating, self._brand, self._categories), row):
                    column.append(value)
            else:
                for column, value in zip((self._price, self._rating, self._brand, self._categories), row):
                    column[position] = value
        self._arrays = None

    def _columns(self) -> tuple[np.ndarray, ...]:
        if self._arrays is None:
            self._arrays = (np.array(self._price, dtype=np.float64), np.array(self._rating, dtype=np.float64),
                            np.array(self._brand, dtype=np.int32),
                            np.array(self._categories, dtype=np.int32).reshape(-1, MAX_CATEGORY_LEVELS))
        return self._arrays

    def select(self, filters: SearchFilters) -> list[str]:
        """The ids of the products that pass ``filters`` (the same products as Chroma's ``to_where``)."""
        price, rating, brand, categories = self._columns()
        keep = np.ones(len(self._ids), dtype=bool)
        # NaN (no price, no rating) fails every comparison, as a missing key fails Chroma's.
        if filters.min_price is not None:
            keep &= price >= float(filters.min_price)
        if filters.max_price is not None:
            keep &= price <= float(filters.max_price)
        if filters.min_rating is not None:
            keep &= rating >= float(filters.min_rating)
        if filters.brands:
            keep &= np.isin(brand, self._known({b.casefold() for b in filters.brands}))
        if filters.categories:
            keep &= np.isin(categories, self._known({c.casefold() for c in filters.categories})).any(axis=1)
        for product_id in filters.exclude_ids:
            position = self._position.get(product_id)
            if position is not None:
                keep[position] = False
        return [self._ids[i] for i in np.flatnonzero(keep)]

    def _known(self, texts: set[str]) -> list[int]:
        return [self._codes[t] for t in texts if t in self._codes]  # an unknown name matches no product

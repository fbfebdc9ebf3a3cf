"""Search filters over the catalog's metadata: as one Chroma ``where`` clause (``to_where``), or evaluated in
memory over every product at once by :class:`catalog.filter_index.FilterIndex`. Both give the same products."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_CATEGORY_LEVELS = 6  # category filters match any of the first six levels of a product's path


@dataclass(frozen=True)
class SearchFilters:
    """Metadata filters; ``None`` or empty means unconstrained. Categories match any level of the path. A price
    or rating bound leaves out products without a price or rating."""

    min_price: float | None = None
    max_price: float | None = None
    brands: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    min_rating: float | None = None
    exclude_ids: tuple[str, ...] = ()

    def is_empty(self) -> bool:
        return self == SearchFilters()

    def to_where(self) -> dict[str, Any] | None:
        clauses: list[dict[str, Any]] = []
        if self.min_price is not None:
            clauses.append({"price": {"$gte": float(self.min_price)}})
        if self.max_price is not None:
            clauses.append({"price": {"$lte": float(self.max_price)}})
        if self.brands:
            clauses.append({"brand_key": {"$in": [b.casefold() for b in self.brands]}})
        if self.categories:
            keys = [c.casefold() for c in self.categories]
            clauses.append({"$or": [{f"cat{i}": {"$in": keys}} for i in range(MAX_CATEGORY_LEVELS)]})
        if self.min_rating is not None:
            clauses.append({"rating": {"$gte": float(self.min_rating)}})
        if self.exclude_ids:
            clauses.append({"product_id": {"$nin": list(self.exclude_ids)}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

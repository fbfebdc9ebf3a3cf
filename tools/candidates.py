"""Candidate retrieval from the catalog and the MNL utilities the optimiser uses.

Utility of product i (README, "Utilities"):
    u_i = 2.0 * similarity(query, product) + 0.7 * [brand preferred] + 0.4 * [colour preferred]
          + 0.3 * (rating - 3) / 2 [when rated] + 0.5 * price_fit,     v_i = exp(u_i)
price_fit is 1 at the centre of the price band and falls linearly to 0 at its edges.
Value r_i: 1 (relevance), the price (revenue), or 1 + price / max price (mixed).
"""

from __future__ import annotations

import math

from catalog.models import Product
from catalog.store import CatalogStore, SearchFilters
from tools.schemas import Candidate, Constraints

WEIGHTS = {"similarity": 2.0, "brand": 0.7, "colour": 0.4, "rating": 0.3, "price_fit": 0.5}
RETRIEVAL_POOL = 60


def filters_for(constraints: Constraints, exclude_ids: list[str] = ()) -> SearchFilters:
    return SearchFilters(
        min_price=constraints.min_price,
        max_price=constraints.max_price,
        brands=tuple(constraints.include_brands),
        categories=tuple(constraints.categories),
        min_rating=constraints.min_rating,
        exclude_ids=tuple(sorted(set(constraints.must_exclude) | set(exclude_ids))),
    )


def _price_fit(price: float | None, constraints: Constraints) -> float:
    if price is None or constraints.min_price is None or constraints.max_price is None:
        return 0.0
    half = (constraints.max_price - constraints.min_price) / 2
    if half <= 0:
        return 1.0 if price == constraints.min_price else 0.0
    centre = constraints.min_price + half
    return max(0.0, 1.0 - abs(price - centre) / half)


def _value(product: Product, constraints: Constraints, max_price: float) -> float:
    price = product.price or 0.0
    if constraints.objective == "revenue":
        return price
    if constraints.objective == "mixed":
        return 1.0 + price / max_price if max_price > 0 else 1.0
    return 1.0


def retrieve(
    store: CatalogStore, constraints: Constraints, exclude_ids: list[str] = (), pool: int = RETRIEVAL_POOL
) -> list[Candidate]:
    """Catalog products that pass the hard constraints, scored with MNL utilities."""
    hits = store.search(constraints.query, filters_for(constraints, exclude_ids), limit=pool)
    brand_keys = {b.casefold() for b in constraints.preferred_brands}
    colour_keys = {c.casefold() for c in constraints.preferred_colours}
    exclude_brands = {b.casefold() for b in constraints.exclude_brands}
    max_price = max((hit.product.price or 0.0 for hit in hits), default=0.0)
    candidates = []
    for hit in hits:
        product = hit.product
        if product.brand and product.brand.casefold() in exclude_brands:
            continue
        matches: dict[str, list[str]] = {}
        utility = WEIGHTS["similarity"] * hit.similarity
        if product.brand and product.brand.casefold() in brand_keys:
            utility += WEIGHTS["brand"]
            matches[f"brand {product.brand}"] = constraints.provenance.get(f"brand:{product.brand.casefold()}", [])
        product_colours = {(product.colour or "").casefold()} | {
            c for c in colour_keys if c in product.title.casefold()
        }
        shared_colours = sorted(colour_keys & product_colours)
        if shared_colours:
            utility += WEIGHTS["colour"]
            matches[f"colour {shared_colours[0]}"] = constraints.provenance.get(f"colour:{shared_colours[0]}", [])
        if product.rating is not None:
            utility += WEIGHTS["rating"] * (product.rating - 3.0) / 2.0
        fit = _price_fit(product.price, constraints)
        utility += WEIGHTS["price_fit"] * fit
        if constraints.categories:
            matches[f"category {constraints.categories[0]}"] = constraints.provenance.get("categories", [])
        if constraints.min_price is not None and product.price is not None:
            matches["price in your range"] = constraints.provenance.get("price", [])
        candidates.append(Candidate(
            product_id=product.id, title=product.title, brand=product.brand, price=product.price,
            currency=product.currency, category_path=product.category_path, rating=product.rating,
            similarity=round(hit.similarity, 6), utility=math.exp(utility),
            value=_value(product, constraints, max_price), matches=matches,
        ))
    return candidates

"""From a BehaviorSummary to the optimiser's Constraints, by documented rules (docs/recommending.md, "From summary to
constraints"). The chat agent refines the result later; here nothing is asked of a model."""

from __future__ import annotations

from tools.schemas import BehaviorSummary, Constraints

DEFAULT_PRICE_TOLERANCE = 0.15  # the browsed band is widened by 15% on each side
DEFAULT_MAX_PER_BRAND = 2  # variety: at most two products of one brand in a list
# The type inferred from browsing as a filter, only as a score term, or ("auto") a filter only when one type holds
# DOMINANT_TYPE_SHARE of the recent products' recency weight (a shopper who looked at nothing else)
CATEGORY_POLICIES = ("hard", "soft", "auto")
DOMINANT_TYPE_SHARE = 0.8
SEEN_QUERIES = 5  # catalog queries from the newest titles the shopper saw (docs/recommending.md)


def seen_queries(summary: BehaviorSummary, limit: int = SEEN_QUERIES) -> list[tuple[str, float]]:
    """One catalog query per title the reader read, newest first, weighted 1 / (1 + d) at distance d from the
    newest: what the shopper looked at last says most about what they look at next."""
    titles = [p.title for p in summary.products_seen if p.title.strip()]
    newest = list(reversed(titles))[:limit]
    return [(title, 1.0 / (1 + d)) for d, title in enumerate(newest)]


def inferred_types(summary: BehaviorSummary, limit: int = SEEN_QUERIES) -> dict[str, float]:
    """Each type (leaf category) the shopper browsed -> its share of the recency weights of the newest products
    seen (the weights of ``seen_queries``); without categories on the products, the strongest summary type."""
    newest = [p for p in reversed(summary.products_seen) if p.title.strip()][:limit]
    weights: dict[str, float] = {}
    for d, product in enumerate(newest):
        if product.category:
            weights[product.category] = weights.get(product.category, 0.0) + 1.0 / (1 + d)
    total = sum(weights.values())
    if not total:
        types = summary.product_characteristics.types
        return {types[0].value: 1.0} if types else {}
    return {name: w / total for name, w in weights.items()}


def resolved_policy(summary: BehaviorSummary, category_policy: str) -> str:
    """"auto" -> "hard" when one browsed type holds at least DOMINANT_TYPE_SHARE of the recent products (by
    ``inferred_types``), else "soft"; "hard" and "soft" stay as they are."""
    if category_policy != "auto":
        return category_policy
    shares = inferred_types(summary)
    return "hard" if shares and max(shares.values()) >= DOMINANT_TYPE_SHARE else "soft"


def seen_brands(summary: BehaviorSummary, limit: int = SEEN_QUERIES) -> dict[str, float]:
    """Each brand read on the newest products seen -> its share of their recency weights (those of
    ``seen_queries``); products without a brand count in the total, so one branded product of five weighs less."""
    newest = [p for p in reversed(summary.products_seen) if p.title.strip()][:limit]
    weights: dict[str, float] = {}
    for d, product in enumerate(newest):
        if product.brand and product.brand.strip():
            key = product.brand.strip().casefold()
            weights[key] = weights.get(key, 0.0) + 1.0 / (1 + d)
    total = sum(1.0 / (1 + d) for d in range(len(newest)))
    return {name: w / total for name, w in weights.items()} if total else {}


def constraints_from_summary(
    summary: BehaviorSummary,
    k: int = 5,
    price_tolerance: float = DEFAULT_PRICE_TOLERANCE,
    max_per_brand: int | None = DEFAULT_MAX_PER_BRAND,
    catalog_currency: str | None = None,
    catalog_categories: set[str] | None = None,
    category_policy: str = "hard",
    nearest_categories: list[str] | None = None,
) -> Constraints:
    """Hard: the strongest product type and the browsed price band (widened by ``price_tolerance``).
    Soft: brands and colours seen. Variety: at most ``max_per_brand`` products of one brand.
    The query mixes the type, colours and search terms for retrieval. With ``category_policy="soft"`` the type
    inferred from browsing is no filter: it stays in the query, and ``candidates.retrieve_seen`` scores it
    (``inferred_types``); with ``"auto"``, only when no browsed type dominates (``resolved_policy``). A type the
    shopper *asks for* in chat is set by the chat and stays a filter.
    ``nearest_categories``: the catalog's categories nearest a type that is not one of them, named in the note."""
    if category_policy not in CATEGORY_POLICIES:
        raise ValueError(f"unknown category policy {category_policy!r}; use 'hard', 'soft' or 'auto'")
    category_policy = resolved_policy(summary, category_policy)
    provenance: dict[str, list[str]] = {}
    types = summary.product_characteristics.types
    categories: list[str] = []
    notes: list[str] = []
    if types and catalog_categories is not None and types[0].value.casefold() not in {
            c.casefold() for c in catalog_categories}:
        # Not a category of this catalog: a hard filter would match nothing, so it only steers the search.
        nearest = f" (nearest: {', '.join(nearest_categories)})" if nearest_categories else ""
        notes.append(f"'{types[0].value}' is not a category of the catalog{nearest}: "
                     "products are found by meaning instead")
        provenance["query"] = types[0].frame_ids
    elif types and category_policy == "soft":
        notes.append(f"'{types[0].value}' was inferred from browsing: it raises a product's score, it filters none")
        provenance["query"] = types[0].frame_ids
    elif types:
        categories = [types[0].value]
        provenance["categories"] = types[0].frame_ids
    prices = summary.price_range
    min_price = max_price = None
    if prices.lowest is not None and catalog_currency and prices.currency and prices.currency != catalog_currency:
        # No exchange rates offline: a band in another currency would filter by meaningless numbers.
        notes.append(f"the prices seen are in {prices.currency} and the catalog's in {catalog_currency}: "
                     f"the browsed price band ({prices.lowest:g}-{prices.highest:g} {prices.currency}) is not used")
    elif prices.lowest is not None and prices.highest is not None:
        min_price = round(prices.lowest * (1 - price_tolerance), 2)
        max_price = round(prices.highest * (1 + price_tolerance), 2)
        provenance["price"] = prices.frame_ids
    brands = [e.value for e in summary.brand_preferences]
    colours = [e.value for e in summary.product_characteristics.colours]
    for prefix, evidence in (("brand", summary.brand_preferences),
                             ("colour", summary.product_characteristics.colours)):
        for item in evidence:
            provenance[f"{prefix}:{item.value.casefold()}"] = item.frame_ids
    query_parts = [e.value for e in types[:1]] + colours[:2] + [e.value for e in summary.search_queries[:2]]
    return Constraints(
        k=k,
        query=" ".join(query_parts),
        categories=categories,
        min_price=min_price,
        max_price=max_price,
        preferred_brands=brands,
        preferred_colours=colours,
        max_per_brand=max_per_brand,
        provenance=provenance,
        notes=notes,
    )

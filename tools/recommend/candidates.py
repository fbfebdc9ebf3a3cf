"""Candidate retrieval from the catalog and the MNL utilities the optimiser uses.

Utility of product i (docs/recommending.md, "Utilities"):
    u_i = 2.0 * similarity(query, product) + 0.7 * [brand preferred] + 0.4 * [colour preferred]
          + 0.3 * (rating - 3) / 2 [when rated] + 0.5 * price_fit,     v_i = exp(u_i)
price_fit is 1 at the centre of the price band and falls linearly to 0 at its edges.
Value r_i: 1 (relevance), the price (revenue), or (1 - w) + w * price / P (mixed), with w the constraints'
revenue_weight and P the budget (max_price) or, without one, the highest price retrieved: a blend of the
chance of a click and the share of the budget it earns.

Session re-ranking (InteraRec's session-based variant) adds the current session's context: a session model
trained on click logs scores each candidate given the products viewed so far, and
    u_i += session_weight * s_i / max_j s_j        (s_i = 0 for products the model cannot score)
so the best-scored candidate gains ``session_weight`` utility and the order among the rest follows the model.
"""

from __future__ import annotations

import math

from catalog.models import Product
from catalog.store import CatalogStore, SearchFilters
from tools.recommend.lexical import LexicalIndex, passes
from tools.recommend.relaxation import HardFilter
from tools.schemas import Candidate, Constraints

WEIGHTS = {"similarity": 2.0, "brand": 0.7, "colour": 0.4, "rating": 0.3, "price_fit": 0.5}
SESSION_REASON = "session: viewed together with this session's products by other shoppers (score "
# The default weight of the session model's normalised score (docs/recommending.md, "Session re-ranking"): 2
# beat 0.5, 1, 3 and 4 on 300 dev users of the LC-Rec Scientific folder (docs/real-shoppers.md).
SESSION_WEIGHT = 2.0
SESSION_POOL = 100  # the session model's best-scored products added to a pool that lacks them
RETRIEVAL_POOL = 60
SEEN_POOL = 300  # candidates kept from the seen-title queries (recall vs time: docs/real-shoppers.md)
TYPE_WEIGHT = 1.0  # utility of a candidate in the browsed types, times the types' share (soft category policy)
BASE_QUERY_WEIGHT = 0.5  # the constraints' own query (type, colours, searches) beside the seen titles
LEXICAL_WEIGHT = 0.5  # share of the BM25 word match in a seen-title candidate's similarity (the rest: embeddings)
SEEN_BRAND_WEIGHT = 0.5  # score of a candidate of a brand seen, times the brand's share of the recent products


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


def _value(product: Product, constraints: Constraints, top_price: float) -> float:
    price = product.price or 0.0
    if constraints.objective == "revenue":
        return price
    if constraints.objective == "mixed":
        w = constraints.revenue_weight
        return (1.0 - w) + w * price / top_price if top_price > 0 else 1.0 - w
    return 1.0


def _matches(product: Product, constraints: Constraints) -> dict[str, list[str]]:
    """The preferences and hard constraints this product meets -> the screenshots they were read from."""
    proof = constraints.provenance
    matches: dict[str, list[str]] = {}
    brand = (product.brand or "").casefold()
    if brand and brand in {b.casefold() for b in constraints.preferred_brands + constraints.include_brands}:
        matches[f"brand {product.brand}"] = proof.get(f"brand:{brand}", [])
    colours = {c.casefold() for c in constraints.preferred_colours}
    shared = sorted(colours & ({(product.colour or "").casefold()} | {c for c in colours
                                                                       if c in product.title.casefold()}))
    if shared:
        matches[f"colour {shared[0]}"] = proof.get(f"colour:{shared[0]}", [])
    path = {p.casefold() for p in product.category_path}
    category = next((c for c in constraints.categories if c.casefold() in path), None)
    if category:
        matches[f"category {category}"] = proof.get("categories", [])
    if constraints.min_price is not None and constraints.max_price is not None and product.price is not None \
            and constraints.min_price <= product.price <= constraints.max_price:
        matches["price in your range"] = proof.get("price", [])
    if constraints.min_rating is not None and product.rating is not None and product.rating >= constraints.min_rating:
        matches[f"rating of {constraints.min_rating:g} or more"] = proof.get("min_rating", [])
    return matches


def candidate(product: Product, similarity: float, constraints: Constraints, top_price: float,
              bonus: float = 0.0, matches: dict[str, list[str]] | None = None) -> Candidate:
    """One product as a candidate: its MNL utility (module docstring) plus ``bonus``, and what it matches."""
    utility = WEIGHTS["similarity"] * similarity + bonus
    if product.brand and product.brand.casefold() in {b.casefold() for b in constraints.preferred_brands}:
        utility += WEIGHTS["brand"]
    colour_keys = {c.casefold() for c in constraints.preferred_colours}
    title = product.title.casefold()
    if colour_keys & ({(product.colour or "").casefold()} | {c for c in colour_keys if c in title}):
        utility += WEIGHTS["colour"]
    if product.rating is not None:
        utility += WEIGHTS["rating"] * (product.rating - 3.0) / 2.0
    utility += WEIGHTS["price_fit"] * _price_fit(product.price, constraints)
    return Candidate(
        product_id=product.id, title=product.title, brand=product.brand, price=product.price,
        currency=product.currency, category_path=product.category_path, rating=product.rating,
        colour=product.colour, similarity=round(similarity, 6), utility=math.exp(utility),
        value=_value(product, constraints, top_price), matches={**_matches(product, constraints), **(matches or {})},
    )


def retrieve(
    store: CatalogStore, constraints: Constraints, exclude_ids: list[str] = (), pool: int = RETRIEVAL_POOL,
    hard_filters: bool = True, unfiltered_pool: int = 0,
) -> list[Candidate]:
    """Catalog products most similar to the query, scored with MNL utilities. With ``hard_filters`` they pass
    every hard constraint; without, only ``exclude_ids`` is applied, so the optimiser can see what the filters
    exclude and suggest a relaxation (tools/recommend/relaxation.py). ``unfiltered_pool`` adds that many such
    products to the filtered ones (one pool, so values are scaled alike); the optimiser then enforces the
    constraints."""
    unfiltered = SearchFilters(exclude_ids=tuple(sorted(set(exclude_ids))))
    hits = store.search(constraints.query, filters_for(constraints, exclude_ids) if hard_filters else unfiltered,
                        limit=pool)
    if unfiltered_pool:
        known = {hit.product.id for hit in hits}
        hits += [hit for hit in store.search(constraints.query, unfiltered, limit=unfiltered_pool)
                 if hit.product.id not in known]
    top_price = constraints.max_price or max((hit.product.price or 0.0 for hit in hits), default=0.0)
    candidates = [candidate(hit.product, hit.similarity, constraints, top_price) for hit in hits]
    if hard_filters and not unfiltered_pool:  # the ones Chroma cannot express: excluded brands and colours
        check = HardFilter(constraints)
        candidates = [c for c in candidates if check.ok(c)]
    return candidates


def retrieve_seen(
    store: CatalogStore, constraints: Constraints, seen: list[tuple[str, float]], exclude_ids: list[str] = (),
    pool: int = SEEN_POOL, types: dict[str, float] | None = None, type_weight: float = TYPE_WEIGHT,
    base_weight: float = BASE_QUERY_WEIGHT, lexical: LexicalIndex | None = None,
    lexical_weight: float = LEXICAL_WEIGHT, brands: dict[str, float] | None = None,
    brand_weight: float = SEEN_BRAND_WEIGHT,
) -> list[Candidate]:
    """Candidates found from what the shopper saw: one search per (title, weight) in ``seen`` plus the
    constraints' query (``base_weight``), each under the hard filters. A product's dense similarity is the
    weighted mean of its embedding similarities to the queries (0 where a query did not return it). With
    ``lexical`` (a BM25 index of the catalog) the same queries are also matched word for word over the whole
    catalog (``LexicalIndex.seen_scores``) and the similarity is ``(1 - lexical_weight) * dense + lexical_weight
    * lexical``: exact title words (model numbers, materials, brands in titles) that embeddings blur.
    ``brands`` (brand -> share, ``constraints.seen_brands``) adds ``brand_weight * share`` to the score of
    products of a brand the shopper looked at. The best ``pool`` by that score are kept. ``types`` (type ->
    share, ``constraints.inferred_types``) adds ``type_weight * share`` utility to products whose category path
    holds that type: the inferred type as a score term, not a filter."""
    queries = [(q, w) for q, w in seen if q.strip() and w > 0]
    if constraints.query.strip() and base_weight > 0 or not queries:
        queries.append((constraints.query, base_weight if queries else 1.0))
    filters = filters_for(constraints, exclude_ids)
    total = sum(w for _, w in queries)
    dense: dict[str, float] = {}
    products: dict[str, Product] = {}
    for query, weight in queries:
        for hit in store.search(query, filters, limit=pool):
            products.setdefault(hit.product.id, hit.product)
            dense[hit.product.id] = dense.get(hit.product.id, 0.0) + weight * hit.similarity / total
    words: dict[str, float] = {}
    if lexical is not None and lexical_weight > 0:
        scores = lexical.seen_scores(queries)
        for i in sorted(range(len(scores)), key=lambda i: (-scores[i], lexical.ids[i])):
            if scores[i] <= 0 or len(words) >= pool:
                break
            if passes(lexical.products[i], filters):
                words[lexical.ids[i]] = float(scores[i])
                products.setdefault(lexical.ids[i], lexical.products[i])
        for pid in dense:  # a product the embeddings found has a word score too, maybe below the lexical pool
            if pid not in words and pid in lexical.position:
                words[pid] = float(scores[lexical.position[pid]])
        mix = lexical_weight
    else:
        mix = 0.0
    similarity = {pid: (1 - mix) * dense.get(pid, 0.0) + mix * words.get(pid, 0.0) for pid in products}
    brand_share = {b.casefold(): s for b, s in (brands or {}).items()}

    def seen_brand(pid: str) -> float:
        return brand_share.get((products[pid].brand or "").strip().casefold(), 0.0)

    score = {pid: similarity[pid] + brand_weight * seen_brand(pid) for pid in products}
    best = sorted(score, key=lambda pid: (-round(score[pid], 9), pid))[:pool]
    top_price = constraints.max_price or max((products[p].price or 0.0 for p in best), default=0.0)
    candidates = [_seen_candidate(products[pid], similarity[pid], constraints, top_price, types, type_weight,
                                  brands, brand_weight) for pid in best]
    check = HardFilter(constraints)  # the ones Chroma cannot express: excluded brands and colours
    return [c for c in candidates if check.ok(c)]


def _seen_candidate(product: Product, similarity: float, constraints: Constraints, top_price: float,
                    types: dict[str, float] | None, type_weight: float, brands: dict[str, float] | None,
                    brand_weight: float) -> Candidate:
    """A candidate of the seen-title pool: its utility plus the browsed-type and seen-brand terms."""
    shares = {t.casefold(): s for t, s in (types or {}).items()}
    in_type = sum(shares.get(c.casefold(), 0.0) for c in dict.fromkeys(product.category_path))
    brand = {b.casefold(): s for b, s in (brands or {}).items()}.get((product.brand or "").strip().casefold(), 0.0)
    matches = {f"type browsed ({in_type:.2f} of the recent products)": []} if in_type else {}
    if brand:
        matches[f"brand seen ({brand:.2f} of the recent products)"] = []
    return candidate(product, similarity, constraints, top_price, bonus=type_weight * in_type + brand_weight * brand,
                     matches=matches or None)


def with_session_candidates(
    store: CatalogStore, candidates: list[Candidate], constraints: Constraints, scores: dict[str, float],
    exclude_ids: list[str] = (), n: int = SESSION_POOL, types: dict[str, float] | None = None,
    type_weight: float = TYPE_WEIGHT, brands: dict[str, float] | None = None,
    brand_weight: float = SEEN_BRAND_WEIGHT,
) -> list[Candidate]:
    """The pool plus the ``n`` products the session model scores best (``scores``: product id -> score) that it
    lacks and that pass the hard filters, scored like seen-title candidates with no similarity (the browsed-type
    and seen-brand terms only): what other shoppers viewed next need not look like what this one saw. On 300 dev
    users it raised the share of targets among the candidates from 0.33 to 0.44 (docs/real-shoppers.md)."""
    known = {c.product_id for c in candidates} | set(exclude_ids) | set(constraints.must_exclude)
    wanted = [pid for pid in sorted(scores, key=lambda pid: (-scores[pid], pid)) if scores[pid] > 0
              and pid not in known][:n]
    if not wanted:
        return list(candidates)
    filters = filters_for(constraints, exclude_ids)
    check = HardFilter(constraints)
    top_price = constraints.max_price or max((c.price or 0.0 for c in candidates), default=0.0)
    extra = [_seen_candidate(p, 0.0, constraints, top_price, types, type_weight, brands, brand_weight)
             for p in store.get(wanted) if passes(p, filters)]
    return list(candidates) + [c for c in extra if check.ok(c)]


def with_session_scores(candidates: list[Candidate], scores: dict[str, float],
                        weight: float = SESSION_WEIGHT) -> list[Candidate]:
    """The candidates with the session model's scores folded into their MNL attraction (module docstring)."""
    top = max((scores.get(c.product_id, 0.0) for c in candidates), default=0.0)
    if top <= 0 or weight == 0:
        return list(candidates)
    result = []
    for c in candidates:
        share = max(0.0, scores.get(c.product_id, 0.0)) / top
        matches = dict(c.matches)
        if share > 0:
            matches[f"{SESSION_REASON}{share:.2f} of the best)"] = []
        result.append(c.model_copy(update={"utility": c.utility * math.exp(weight * share), "matches": matches}))
    return result

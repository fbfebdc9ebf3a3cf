"""Retrieval for a request in words: BM25 and Chroma's dense search fused by reciprocal rank, the terms the
shopper said turned into filters or boosts, and a utility that weighs how well each product meets them
(docs/chat-relevance.md, "Retrieval").

    u_i = (candidates.py utility) + LEXICAL_WEIGHT * fused_i / max_j fused_j + REQUEST_WEIGHT * met_i

with ``met_i`` the share of said terms (type, colours, materials, gender, occasion, size, other words) product i
meets. Colour, material and gender are filters when at least one product that passes the other constraints
meets them by what the catalog records; otherwise they stay boosts and the notes say so. A type said is already
a hard category filter (tools/recommend/requested.py); a type inferred from browsing follows
``INFERRED_TYPE_POLICY``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from catalog.models import Product
from catalog.store import CatalogStore, SearchFilters
from tools.recommend.candidates import candidate, filters_for
from tools.recommend.lexical import LexicalIndex, for_gender, fuse, has_colour, has_material, has_words
from tools.recommend.relaxation import HardFilter
from tools.recommend.requested import Asked, said_now
from tools.schemas import Candidate, Constraints

LEXICAL_WEIGHT = 1.0
REQUEST_WEIGHT = 2.0
POOL = 80  # products taken from each ranking before fusion
# A type read from browsing: "hard" keeps today's category filter; "soft" would search without it and let
# REQUEST_WEIGHT favour the type (issue 19's policy decides; one switch here).
INFERRED_TYPE_POLICY: Literal["hard", "soft"] = "hard"


def _cite(turn: int) -> list[str]:
    return [f"said:{turn}"]


def _terms(asked: Asked) -> list[tuple[str, int, Callable[[Product], bool | None], bool]]:
    """(match name, turn, test, strong) per said term; strong terms may become filters."""
    terms: list[tuple[str, int, Callable[[Product], bool | None], bool]] = []
    if asked.colours:
        colours = [c.value for c in asked.colours]
        terms.append((f"colour {' or '.join(colours).lower()}", asked.colours[0].turn,
                      lambda p: _any(has_colour(p, n) for n in colours), True))
    if asked.materials:
        materials = [m.value for m in asked.materials]
        terms.append((f"material {' or '.join(materials).lower()}", asked.materials[0].turn,
                      lambda p: _any(has_material(p, n) for n in materials), True))
    if asked.gender and asked.gender.value not in ("unisex", "kids", "baby"):
        gender = asked.gender.value
        terms.append((f"for {gender}", asked.gender.turn, lambda p: for_gender(p, gender), True))
    if asked.occasion and asked.occasion.value != "Gift":
        occasion = asked.occasion.value
        terms.append((f"for {occasion.lower()} use", asked.occasion.turn, lambda p: has_words(p, occasion), False))
    if asked.size:
        size = asked.size.value
        terms.append((f"size {size}", asked.size.turn, lambda p: has_words(p, size), False))
    for word in asked.search_words:
        terms.append((f"'{word.value}'", word.turn, lambda p, w=word.value: has_words(p, w), False))
    return terms


def _any(results) -> bool | None:
    values = list(results)
    return True if True in values else (False if False in values else None)


def retrieve_request(
    store: CatalogStore, lexical: LexicalIndex, constraints: Constraints, asked: Asked,
    exclude_ids: list[str] = (), unfiltered_pool: int = 0, turn: int | None = None,
) -> tuple[list[Candidate], list[str]]:
    """Candidates for the constraints and the said terms, and notes on terms that could not be filters (with
    ``turn``, only on terms said in that message: earlier ones were noted when they were said)."""
    query = constraints.query
    filters = filters_for(constraints, exclude_ids)
    inferred = bool(constraints.categories) and asked.product_type is None
    if inferred and INFERRED_TYPE_POLICY == "soft":
        filters = SearchFilters(**{**filters.__dict__, "categories": ()})
    dense = store.search(query, filters, limit=POOL)
    lexical_hits = lexical.search(query, filters, limit=POOL)
    products = {h.product.id: h.product for h in dense} | {p.id: p for p, _ in lexical_hits}
    similarity = {h.product.id: h.similarity for h in dense}
    fused = fuse([h.product.id for h in dense], [p.id for p, _ in lexical_hits])
    if unfiltered_pool:  # for the optimiser's diagnosis of a short list
        # a type the shopper said stays: the diagnosis looks only within it, so it never suggests a belt
        said_type = tuple(constraints.categories) if asked.product_type and not inferred else ()
        wide = SearchFilters(categories=said_type, exclude_ids=tuple(sorted(set(exclude_ids))))
        hits = store.search(query, wide, limit=unfiltered_pool)
        if said_type and _brands_said_after_type(constraints, turn):
            # "something from Puma" after "a laptop": the latest wish holds, so the diagnosis may look at that
            # brand's products beyond the type said before (the optimiser then relaxes the older wish)
            hits += store.search(query, SearchFilters(brands=tuple(constraints.include_brands),
                                                      exclude_ids=wide.exclude_ids), limit=unfiltered_pool)
        for hit in hits:
            products.setdefault(hit.product.id, hit.product)
            similarity.setdefault(hit.product.id, hit.similarity)
    floor = min(similarity.values(), default=0.0)
    top_fused = max(fused.values(), default=1.0)
    terms = _terms(asked)
    check = HardFilter(constraints)
    scope_ids = [pid for pid in products if pid in fused]
    notes: list[str] = []
    keep = set(products)
    applied: list[str] = []
    # the latest wish first: when two cannot both hold, the one said last wins ("what about for my mom");
    # who it is for comes first: a recipient is a need, a colour a wish
    for name, said_in, test, strong in sorted(terms, key=lambda t: (not t[0].startswith("for "), -t[1])):
        if not strong:
            continue
        first = len(notes)
        in_scope = [products[pid] for pid in scope_ids if pid in keep]
        in_scope = [p for p in in_scope if check.ok(_bare(p))]
        if not in_scope:
            break
        what = ", ".join(constraints.categories[:2]) or "products like these"
        if name.startswith("for "):  # gender: leave out only products recorded for the other sex
            if any(test(p) is not False for p in in_scope):
                keep = {pid for pid in keep if test(products[pid]) is not False}
                applied.append(name)
            else:
                notes.append(f"no {what} {name} in the catalog within your other wishes, so I could not "
                             "follow it")
        elif any(test(p) is True for p in in_scope):
            keep = {pid for pid in keep if test(products[pid]) is True}
            applied.append(name)
        else:
            recorded = any(test(p) is False for p in in_scope)
            notes.append(f"no {name.split(' ', 1)[1]} {what} in the catalog within your other wishes, so I "
                         f"favour it where it fits instead of requiring it" if recorded else
                         f"the catalog records no {name.split(' ', 1)[0]} for {what}, so "
                         f"'{name.split(' ', 1)[1]}' could not be checked")
        if turn is not None and said_in < turn:
            del notes[first:]
    fitting = [pid for pid in keep if pid in fused and check.ok(_bare(products[pid]))]
    if applied and len(fitting) < constraints.k:
        what = ", ".join(constraints.categories[:2]) or "products"
        notes.insert(0, f"only {len(fitting)} {what} in the catalog meet all of: {'; '.join(applied)} and your "
                        "other wishes (say 'any colour', another recipient or a wider budget for more)")
    top_price = constraints.max_price or max((p.price or 0.0 for p in products.values()), default=0.0)
    result = []
    for pid in sorted(keep):
        product = products[pid]
        matched = {name: _cite(turn) for name, turn, test, _ in terms if test(product) is True}
        budget = constraints.provenance.get("price", [])
        if constraints.max_price is not None and constraints.min_price is None and product.price is not None \
                and product.price <= constraints.max_price and any(f.startswith("said:") for f in budget):
            matched["price within your budget"] = budget
        met = len(matched) / len(terms) if terms else 0.0
        bonus = LEXICAL_WEIGHT * fused.get(pid, 0.0) / top_fused + REQUEST_WEIGHT * met
        result.append(candidate(product, similarity.get(pid, floor), constraints, top_price, bonus, matched))
    if not unfiltered_pool:
        result = [c for c in result if check.ok(c)]
    return result, notes


def _brands_said_after_type(constraints: Constraints, turn: int | None) -> bool:
    """Whether the brand list was said in this message and the type in an earlier one."""
    return turn is not None and "include_brands" in said_now(constraints, turn) and \
        f"said:{turn}" not in constraints.provenance.get("categories", [])


def _bare(product: Product) -> Candidate:
    """A product as a candidate for the hard-constraint check alone."""
    return Candidate(product_id=product.id, title=product.title, brand=product.brand, price=product.price,
                     currency=product.currency, category_path=product.category_path, rating=product.rating,
                     colour=product.colour, similarity=0.0, utility=1.0, value=1.0)

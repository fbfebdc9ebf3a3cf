"""Refining the optimiser's Constraints in conversation: "cheaper", "under 2000", "not Titan", "more like #2".

A ``PreferenceUpdate`` is what a chat model asks for (as tool arguments); ``apply_update`` turns it into new
Constraints against what is shown now, and says in words what changed. Every rule is here, not in a model,
so the local rule-based chat model and an LLM get the same behaviour (docs/chat.md).
"""

from __future__ import annotations

import statistics
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from catalog.models import Product
from tools.recommend.explain import money
from tools.schemas import Constraints, Recommendation

CHEAPER_FACTOR = 0.9  # "cheaper": the budget becomes 90% of the median price on show


class PreferenceError(ValueError):
    """A preference change that cannot be applied (unknown brand, no product #N, min above max)."""


class PreferenceUpdate(BaseModel):
    """Changes to the shopper's preferences. Unset fields keep their value; unknown fields and numbers that are
    not finite are refused."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    max_price: float | None = Field(None, gt=0, description="budget: the highest price to show")
    min_price: float | None = Field(None, ge=0, description="the lowest price to show")
    cheaper: bool = Field(False, description="show cheaper products than the ones on show now")
    only_brands: list[str] = Field(default_factory=list, description="show only these brands")
    exclude_brands: list[str] = Field(default_factory=list, description="never show these brands")
    prefer_colours: list[str] = Field(default_factory=list, description="colours to favour")
    exclude_colours: list[str] = Field(default_factory=list, description="never show these colours")
    another_colour: bool = Field(False, description="avoid the colours on show now")
    min_rating: float | None = Field(None, ge=0, le=5, description="lowest star rating")
    k: int | None = Field(None, ge=1, le=50, description="how many products to show")
    like_rank: int | None = Field(None, ge=1, description="more like product #N of the list on show")
    query: str | None = Field(None, description="new search terms")
    objective: Literal["relevance", "revenue", "mixed"] | None = None
    reset: bool = Field(False, description="start over from the browsing summary")
    request: str | None = Field(None, description="the shopper's message in their own words, verbatim: it is read "
                                "by the same rules for every chat model (product type, colour, material, who it "
                                "is for, occasion, brands, price such as 'around 2k' or 'more premium', rating)")
    product_type: str | None = Field(None, description="the kind of product asked for, e.g. 'wallet'")
    materials: list[str] = Field(default_factory=list, description="materials asked for, e.g. leather")
    recipient: str | None = Field(None, description="who it is for, e.g. 'my dad', 'women'")


def resolve_brand(name: str, brands: list[str]) -> str:
    """The catalog's spelling of ``name`` (case and spacing ignored), or a PreferenceError with close names."""
    key = "".join(name.split()).casefold()
    for brand in brands:
        if "".join(brand.split()).casefold() == key:
            return brand
    close = [b for b in brands if key and key[:3] in b.casefold()][:5]
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise PreferenceError(f"no brand {name!r} in the catalog{hint}")


def _shown_product(rank: int, shown: list[Recommendation]) -> Recommendation:
    if not shown:
        raise PreferenceError("nothing is on show yet: ask for recommendations first")
    if not 1 <= rank <= len(shown):
        raise PreferenceError(f"there is no product #{rank}: the list has {len(shown)} (#1-#{len(shown)})")
    return shown[rank - 1]


def apply_update(
    current: Constraints,
    update: PreferenceUpdate,
    *,
    base: Constraints | None,
    shown: list[Recommendation],
    brands: list[str],
    products: dict[str, Product],
) -> tuple[Constraints, list[str]]:
    """New constraints and a sentence per change. ``base`` is what "start over" returns to; ``products``
    maps the ids on show to catalog products (for colours and categories)."""
    new = (base or Constraints(k=current.k)).model_copy(deep=True) if update.reset else current.model_copy(deep=True)
    changes = ["started over from what you browsed" if base else "started over"] if update.reset else []
    currency = shown[0].currency if shown else "INR"

    if update.cheaper:
        prices = [r.price for r in shown if r.price is not None]
        if not prices:
            raise PreferenceError("nothing with a price is on show, so 'cheaper' has no reference")
        new.max_price = round(CHEAPER_FACTOR * statistics.median(prices), 2)
        new.min_price = None
        changes.append(f"budget now up to {money(new.max_price, currency)} (below the median price shown)")
    if update.max_price is not None:
        new.max_price = update.max_price
        if new.min_price is not None and new.min_price > new.max_price:
            new.min_price = None
        changes.append(f"budget now up to {money(update.max_price, currency)}")
    if update.min_price is not None:
        new.min_price = update.min_price
        changes.append(f"prices from {money(update.min_price, currency)}")
    if new.min_price is not None and new.max_price is not None and new.min_price > new.max_price:
        raise PreferenceError(f"the lowest price {money(new.min_price, currency)} is above the budget "
                              f"{money(new.max_price, currency)}")

    if update.only_brands:
        new.include_brands = sorted({resolve_brand(b, brands) for b in update.only_brands})
        new.exclude_brands = [b for b in new.exclude_brands if b not in new.include_brands]
        changes.append(f"only {', '.join(new.include_brands)}")
    if update.exclude_brands:
        dropped = sorted({resolve_brand(b, brands) for b in update.exclude_brands})
        keys = {b.casefold() for b in dropped}
        new.exclude_brands = sorted(set(new.exclude_brands) | set(dropped))
        new.include_brands = [b for b in new.include_brands if b.casefold() not in keys]
        new.preferred_brands = [b for b in new.preferred_brands if b.casefold() not in keys]
        changes.append(f"no {', '.join(dropped)}")

    if update.prefer_colours:
        new.preferred_colours = [c.strip().title() for c in update.prefer_colours if c.strip()]
        avoid = {c.casefold() for c in new.preferred_colours}
        new.exclude_colours = [c for c in new.exclude_colours if c.casefold() not in avoid]
        changes.append(f"favouring {', '.join(new.preferred_colours)}")
    if update.exclude_colours:
        avoided = [c.strip().title() for c in update.exclude_colours if c.strip()]
        new.exclude_colours = sorted(set(new.exclude_colours) | set(avoided))
        new.preferred_colours = [c for c in new.preferred_colours if c.casefold() not in
                                 {a.casefold() for a in avoided}]
        changes.append(f"no {', '.join(avoided)}")
    if update.another_colour:
        seen = sorted({products[r.product_id].colour for r in shown
                       if r.product_id in products and products[r.product_id].colour})
        if not seen:
            raise PreferenceError("the products on show have no recorded colour to move away from")
        new.exclude_colours = sorted(set(new.exclude_colours) | set(seen))
        new.preferred_colours = [c for c in new.preferred_colours if c not in seen]
        changes.append(f"other colours than {', '.join(seen)}")

    if update.min_rating is not None:
        new.min_rating = update.min_rating
        changes.append(f"rated {update.min_rating:g} or more")
    if update.k is not None:
        new.k = update.k
        changes.append(f"showing {update.k}")
    if update.objective is not None:
        new.objective = update.objective
        changes.append(f"ranking by {update.objective}")
    if update.query:
        new.query, new.categories = update.query, []  # new search terms replace the browsed category
        changes.append(f"searching for '{update.query}'")
    if update.like_rank is not None:
        liked = _shown_product(update.like_rank, shown)
        product = products.get(liked.product_id)
        new.query = liked.title
        if product is not None:
            new.categories = [product.leaf_category]
        new.must_exclude = sorted(set(new.must_exclude) | {liked.product_id})
        changes.append(f"more like #{update.like_rank} {liked.title}")
    if not changes:
        raise PreferenceError("no change was asked for")
    return new, changes


def describe(constraints: Constraints) -> str:
    """The constraints in one line, for answers and the terminal."""
    currency = "INR"
    parts = list(constraints.categories[:2])
    if constraints.min_price is not None and constraints.max_price is not None:
        parts.append(f"{money(constraints.min_price, currency)}-{money(constraints.max_price, currency)}")
    elif constraints.max_price is not None:
        parts.append(f"up to {money(constraints.max_price, currency)}")
    elif constraints.min_price is not None:
        parts.append(f"from {money(constraints.min_price, currency)}")
    if constraints.include_brands:
        parts.append("only " + ", ".join(constraints.include_brands))
    if constraints.exclude_brands:
        parts.append("no " + ", ".join(constraints.exclude_brands))
    if constraints.exclude_colours:
        parts.append("not " + ", ".join(constraints.exclude_colours))
    if constraints.preferred_colours:
        parts.append("favouring " + ", ".join(constraints.preferred_colours[:3]))
    if constraints.min_rating is not None:
        parts.append(f"rated {constraints.min_rating:g}+")
    if constraints.max_per_brand:
        parts.append(f"at most {constraints.max_per_brand} per brand")
    parts.append(f"{constraints.k} products, by {constraints.objective}")
    return " · ".join(parts)

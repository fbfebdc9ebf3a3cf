"""Synthetic shoppers: eval cases whose ground truth is known because the shopper's wishes are drawn first.

``generate_shoppers(products, n=50, seed=0)`` returns ``n`` :class:`~evals.cases.EvalCase` (dataset
``"synthetic"``, ids ``synthetic-<seed>-<i>``), the same ones for the same products and seed whatever the
products' order (they are read in id order). Everything is drawn from one ``random.Random(seed)``.

**Hidden preferences** (:class:`~evals.cases.HiddenPreferences`, never shown to a recommender):

* ``category``: a leaf category (``Product.leaf_category``) with at least ``MIN_CATEGORY_SIZE`` (15) priced
  products (15 such leaves in the demo catalog), drawn with weight sqrt(size): big categories come up more, not always.
* ``brands``: the shape is drawn first: no brand (30%), 1 brand (45%) or 2 (25%; 1 if the category has only
  one), and wants a colour (50%). Brands are drawn without replacement among the category's brands with at
  least 3 products, weighted by their product count.
* ``colour``: only in categories where at least half the products have a colour; one colour (spellings that
  differ in case merged) of the products left after the brand choice, weighted by count.
* ``price``: a budget around a stretch of the category's price range. The products meeting category, brand
  and colour are sorted by price; ``k`` consecutive ones are taken at a random start, with ``k`` =
  max(views + 3, 25-50% of them), shrunk (down to 6) until some stretch spans at most ``MAX_BAND_RATIO``
  (2.5x) from cheapest to dearest. The band runs from the cheapest to the dearest of the stretch, widened by
  up to 10 quantile points of the category's prices on each side (never more than 1.25x), then rounded
  outwards to a shop-like step (10s under ₹500, 50s to ₹1,000, 100s to ₹5,000, 500s to ₹10,000, ...).

A product **meets** the preferences (:func:`satisfies`) when its leaf category equals ``category``, its price
is known and within ``price`` (bounds included), its brand is one of ``brands`` (case-insensitive; any if
none) and its colour is ``colour`` (case-insensitive; any if none).

**Session.** ``views`` products (3-5, at most 4 with a noise event, fewer if too few products meet the
preferences) are drawn at random among those meeting them. In 60% of sessions there is one noise event, put
after the first view: half the time a glance at the listing of a category under another top-level category
(not a product view), else a view of a product that does not meet the preferences (half of those from the
same category, the others from such another category). The persona's steps: ``category <slug of the leaf>``;
``price_filter`` with the band for half the shoppers; then ``goto /p/<id>`` per viewed product (or
``category <slug>`` for a glance), with 1-3 steps scroll (300-600 px), dwell (0.3-0.6 s) or back after random
visits, never more than ``MAX_STEPS`` (8) steps in all: about 4 s of browsing in Chromium.

**Case fields.** ``viewed_ids`` = the products opened, the noise product included, in order; ``viewed_titles``
= their titles; ``targets`` = every catalog product that meets all the hidden preferences and was not viewed
(at least 3). **Re-draws**: a draw is dropped when fewer than 6 products meet its preferences (with fewer
than views + 3, views shrink to keep 3 targets); the shape is re-drawn after 10 failed draws, the category
after 40. Re-draws continue the same random stream, so results stay deterministic, but they make brand and
colour shoppers rarer than the shape's odds, since in many categories brands or colours are spread thin: over
seeds 0-4, about half the shoppers have a brand and about a third of those in colourful categories a colour.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path

from catalog.models import Product
from evals.cases import EvalCase, HiddenPreferences
from shop.pages import product_href, slugify
from tools.capture.personas import Persona, Step

MIN_CATEGORY_SIZE = 15
MIN_TARGETS = 3
MAX_STEPS = 8
MAX_BAND_RATIO = 2.5
_TRIES_PER_CATEGORY = 40
_TRIES_PER_SHAPE = 10
_MAX_CATEGORY_DRAWS = 200


def satisfies(product: Product, hidden: HiddenPreferences) -> bool:
    """Whether ``product`` meets every hard preference (see the module docstring)."""
    if product.leaf_category != hidden.category or product.price is None:
        return False
    if hidden.price is not None and not hidden.price[0] <= product.price <= hidden.price[1]:
        return False
    if hidden.brands and (product.brand or "").casefold() not in {b.casefold() for b in hidden.brands}:
        return False
    return hidden.colour is None or (product.colour or "").casefold() == hidden.colour.casefold()


def _weighted(rng: random.Random, counts: Counter[str]) -> str:
    keys = sorted(counts)  # sorted: the draw must not depend on insertion order
    return rng.choices(keys, weights=[counts[k] for k in keys])[0]


def _nice(price: float, up: bool) -> float:
    """Round to a shop-like step: 10s under ₹500, 50s to ₹1,000, 100s to ₹5,000, 500s to ₹10,000, ..."""
    decade = 10 ** math.floor(math.log10(max(price, 1)))
    step = max(10.0, decade / 10 if price < 5 * decade else decade / 2)  # 1,500 -> 100s; 6,000 -> 500s
    return (math.ceil if up else math.floor)(price / step) * step


def _band(rng: random.Random, prices: list[float], pool: list[float], wanted: int) -> tuple[float, float] | None:
    """A budget over ``k`` consecutive prices of ``pool`` (at most ``MAX_BAND_RATIO`` apart), widened a little
    towards the category's neighbouring prices, then rounded outwards."""
    pool = sorted(pool)
    for k in range(max(wanted, round(rng.uniform(0.25, 0.5) * len(pool))), MIN_TARGETS + 2, -1):
        starts = [i for i in range(len(pool) - k + 1) if pool[i + k - 1] <= MAX_BAND_RATIO * pool[i]]
        if starts:
            break
    else:
        return None
    i = rng.choice(starts)
    low, high = pool[i], pool[i + k - 1]

    def at(x: float) -> float:
        return prices[round(min(max(x, 0.0), 1.0) * (len(prices) - 1))]

    spread, last = rng.uniform(0.0, 0.1), max(len(prices) - 1, 1)
    low = max(at(prices.index(low) / last - spread), low / 1.25)
    high = min(at((len(prices) - 1 - prices[::-1].index(high)) / last + spread), high * 1.25)
    return _nice(low, up=False), _nice(high, up=True)


class _Catalog:
    def __init__(self, products: Sequence[Product]):
        self.by_leaf: dict[str, list[Product]] = defaultdict(list)
        for p in sorted(products, key=lambda p: p.id):
            if p.price is not None:
                self.by_leaf[p.leaf_category].append(p)
        self.leaves = sorted(leaf for leaf, ps in self.by_leaf.items() if len(ps) >= MIN_CATEGORY_SIZE)
        if not self.leaves:
            raise ValueError(f"no leaf category has {MIN_CATEGORY_SIZE} priced products")
        self.tops = {leaf: {p.category for p in self.by_leaf[leaf]} for leaf in self.leaves}

    def has_colours(self, leaf: str) -> bool:
        return sum(p.colour is not None for p in self.by_leaf[leaf]) * 2 >= len(self.by_leaf[leaf])

    def others(self, leaf: str) -> list[str]:
        """Eligible leaves under other top-level categories: what an unrelated glance lands on."""
        return [o for o in self.leaves if not self.tops[o] & self.tops[leaf]] or [o for o in self.leaves if o != leaf]


def _colours(products: list[Product]) -> Counter[str]:
    """Colour counts, 'white' and 'White' counted as one colour spelt the commoner way."""
    spellings = Counter(p.colour for p in products if p.colour)
    common = [s for s, _ in spellings.most_common()]
    colours: Counter[str] = Counter()
    for spelling, count in spellings.items():
        colours[next(s for s in common if s.casefold() == spelling.casefold())] += count
    return colours


def _preferences(
    rng: random.Random, cat: _Catalog, leaf: str, n_brands: int, wants_colour: bool, wanted: int
) -> HiddenPreferences | None:
    """Preferences met by ``wanted`` products if the band can reach that, by ``MIN_TARGETS + 3`` at least."""
    members = cat.by_leaf[leaf]
    counts = Counter(p.brand for p in members if p.brand)
    # Brand-loyal shoppers go for a brand the category really stocks (3+ products), not a one-off.
    counts = Counter({b: n for b, n in counts.items() if n >= 3})
    if n_brands and not counts:
        return None
    brands: list[str] = []
    while len(brands) < min(n_brands, len(counts)):
        brands.append(_weighted(rng, counts))
        del counts[brands[-1]]
    chosen = {b.casefold() for b in brands}
    pool = [p for p in members if not chosen or (p.brand or "").casefold() in chosen]
    colour = None
    if wants_colour and cat.has_colours(leaf):
        colours = _colours(pool)
        if not colours:
            return None
        colour = _weighted(rng, colours)
        pool = [p for p in pool if (p.colour or "").casefold() == colour.casefold()]
    band = _band(rng, sorted(p.price for p in members), [p.price for p in pool], wanted)
    return None if band is None else HiddenPreferences(leaf, tuple(brands), band, colour)


def _noise(rng: random.Random, cat: _Catalog, hidden: HiddenPreferences) -> Product | str | None:
    """None, an off-preference product, or the slug of an unrelated category to glance at."""
    others = cat.others(hidden.category)
    if rng.random() >= 0.6 or not others:
        return None
    other = rng.choice(others)
    if rng.random() < 0.5:
        return slugify(other)
    same = [p for p in cat.by_leaf[hidden.category] if not satisfies(p, hidden)]
    return rng.choice(same if same and rng.random() < 0.5 else cat.by_leaf[other])


def _steps(rng: random.Random, leaf: str, band: tuple[float, float], visits: list[Product | str]) -> list[Step]:
    steps = [Step(action="category", text=slugify(leaf))]
    if rng.random() < 0.5:
        steps.append(Step(action="price_filter", amount=band[0], upper=band[1]))
    spare = MAX_STEPS - len(steps) - len(visits)
    extras = set(rng.sample(range(len(visits)), min(rng.randint(1, 3), spare, len(visits))))
    for i, visit in enumerate(visits):
        if isinstance(visit, str):
            steps.append(Step(action="category", text=visit))
        else:
            steps.append(Step(action="goto", text=product_href(visit.id)))
        if i in extras:
            kind = rng.choice(["scroll", "dwell", "back"])
            if kind == "scroll":
                steps.append(Step(action="scroll", amount=rng.randrange(300, 601, 50)))
            elif kind == "dwell":
                steps.append(Step(action="dwell", amount=round(rng.uniform(0.3, 0.6), 1)))
            else:
                steps.append(Step(action="back"))
    return steps


def _describe(hidden: HiddenPreferences) -> str:
    parts = [f"Synthetic shopper after {hidden.category}"]
    if hidden.price:
        parts.append(f"₹{hidden.price[0]:,.0f}-{hidden.price[1]:,.0f}")
    if hidden.brands:
        parts.append("brand " + " or ".join(hidden.brands))
    if hidden.colour:
        parts.append(f"colour {hidden.colour}")
    return ", ".join(parts) + "."


def _shopper(rng: random.Random, cat: _Catalog, case_id: str) -> EvalCase:
    weights = [math.sqrt(len(cat.by_leaf[leaf])) for leaf in cat.leaves]
    for _ in range(_MAX_CATEGORY_DRAWS):
        leaf = rng.choices(cat.leaves, weights=weights)[0]
        for attempt in range(_TRIES_PER_CATEGORY):
            if attempt % _TRIES_PER_SHAPE == 0:  # a shape gets several draws before it is given up
                n_brands = rng.choices([0, 1, 2], weights=[0.3, 0.45, 0.25])[0]
                wants_colour = rng.random() < 0.5
            views = rng.randint(3, 5)
            hidden = _preferences(rng, cat, leaf, n_brands, wants_colour, views + MIN_TARGETS)
            if hidden is None:
                continue
            matching = [p for p in cat.by_leaf[leaf] if satisfies(p, hidden)]
            noise = _noise(rng, cat, hidden)
            # 4 views at most with noise: the listing, a price filter and one extra step must still fit in 8
            views = min(views, len(matching) - MIN_TARGETS, 5 if noise is None else 4)
            viewed = rng.sample(matching, views)
            targets = frozenset(p.id for p in matching) - {p.id for p in viewed}
            visits: list[Product | str] = list(viewed)
            if noise is not None:
                visits.insert(rng.randint(1, len(visits)), noise)
            opened = [v for v in visits if isinstance(v, Product)]
            persona = Persona(
                name=case_id, description=_describe(hidden), steps=_steps(rng, leaf, hidden.price, visits),
                categories=[leaf], brands=list(hidden.brands), budget=hidden.price,
            )
            return EvalCase(
                case_id=case_id, dataset="synthetic", viewed_ids=tuple(p.id for p in opened),
                targets=targets, persona=persona, hidden=hidden, viewed_titles=tuple(p.title for p in opened),
            )
    raise ValueError("could not draw a shopper with enough targets; is the catalog too small?")


def generate_shoppers(products: list[Product], n: int = 50, seed: int = 0) -> list[EvalCase]:
    """``n`` synthetic shoppers over ``products``, deterministic given ``seed`` (see the module docstring)."""
    rng = random.Random(seed)
    cat = _Catalog(products)
    return [_shopper(rng, cat, f"synthetic-{seed}-{i:03d}") for i in range(n)]


def write_click_log(products: list[Product], path: Path, n: int = 400, seed: int = 1, days: int = 90) -> int:
    """Other synthetic shoppers' product views as a click log in the Diginetica item-views format
    (`session_id;user_id;item_id;timeframe;eventdate`), one session a day in turn over ``days`` days, so
    `interarec session-model train --data PATH` can learn a session model for the demo catalog."""
    start = dt.date(2026, 1, 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, delimiter=";")
        writer.writerow(["session_id", "user_id", "item_id", "timeframe", "eventdate"])
        shoppers = generate_shoppers(products, n=n, seed=seed)
        for number, case in enumerate(shoppers, start=1):
            day = (start + dt.timedelta(days=number * days // len(shoppers))).isoformat()
            for position, product_id in enumerate(case.viewed_ids):
                writer.writerow([number, "NA", product_id, position * 1000, day])
    return len(shoppers)


if __name__ == "__main__":
    import argparse

    from catalog.files import DEMO_PRODUCTS, load_products

    parser = argparse.ArgumentParser(description="write a click log of synthetic shoppers on the demo catalog")
    parser.add_argument("--click-log", required=True, type=Path, help="the CSV file to write")
    parser.add_argument("--shoppers", type=int, default=400)
    args = parser.parse_args()
    written = write_click_log(load_products(DEMO_PRODUCTS), args.click_log, n=args.shoppers)
    print(f"wrote {written} sessions to {args.click_log}")

"""Scoring one turn's shown list against its expectations, and the split's figures.

The checks read the catalog's own record of each product (category path, colour and material fields, title,
description) with their own simple word tests, not the recommender's (tools/recommend/lexical.py), so a bug
there cannot make itself look right here. A product that records nothing about a colour or material at all
is "unknown" for that check and left out of attribute satisfaction (the count is reported).
"""

from __future__ import annotations

import re
import statistics
from dataclasses import asdict, dataclass, field

from catalog.models import Product
from evals.relevance.scenarios import Expect

TOP = 5
THRESHOLDS = {"category_precision@5": 0.90, "attribute_satisfaction@5": 0.80, "budget_violations": 0,
              "brand_violations": 0, "refinements_honoured": 0.90, "latency_p95_s": 1.0}
_OTHER_SEX = {"men": ("women", "woman", "womens", "ladies", "girls", "girl"),
              "women": ("men", "man", "mens", "boys", "boy"),
              "boys": ("women", "womens", "girls", "girl", "ladies"), "girls": ("men", "mens", "boys", "boy")}
_COLOUR_KEYS = ("color", "colour")
_MATERIAL_KEYS = ("material", "fabric")


def _has_word(word: str, text: str) -> bool:
    return re.search(r"(?<![a-z0-9])" + re.escape(word.casefold()) + r"s?(?![a-z0-9])", text.casefold()) is not None


def _recorded(product: Product, keys: tuple[str, ...]) -> str:
    return " ".join(v for k, v in product.specifications.items() if any(key in k.casefold() for key in keys))


def colour_ok(product: Product, colours: list[str]) -> bool | None:
    recorded = " ".join(filter(None, [product.colour, _recorded(product, _COLOUR_KEYS)]))
    if any(_has_word(c, recorded) or _has_word(c, product.title) for c in colours):
        return True
    return False if recorded else None


def material_ok(product: Product, materials: list[str]) -> bool | None:
    recorded = _recorded(product, _MATERIAL_KEYS)
    if any(_has_word(m, recorded) or _has_word(m, product.title) for m in materials):
        return True
    if recorded:
        return False
    return True if any(_has_word(m, product.description) for m in materials) else None


def gender_ok(product: Product, gender: str) -> bool | None:
    """False when the product is recorded only for the other sex; None when it says nothing."""
    recorded = " ".join(v for k, v in product.specifications.items() if k.casefold() in ("gender", "ideal for"))
    text = (recorded or f"{product.title} {' '.join(product.category_path)}").casefold().replace("'s", "s")
    words = set(re.findall(r"[a-z]+", text))
    same = {"men": {"men", "man", "mens", "unisex", "boys"}, "women": {"women", "woman", "womens", "ladies", "unisex",
            "girls"}, "boys": {"boys", "boy", "kids", "unisex"}, "girls": {"girls", "girl", "kids", "unisex"},
            "kids": {"kids", "boys", "girls", "baby", "children", "child"}}[gender]
    if words & same:
        return True
    if words & set(_OTHER_SEX.get(gender, ())):
        return False
    return None


def in_category(product: Product, names: list[str]) -> bool:
    path = {c.casefold() for c in product.category_path}
    return any(n.casefold() in path for n in names)


@dataclass
class TurnScore:
    scenario: str
    turn: int
    said: str
    shown: int
    category_precision: float | None = None
    attribute_satisfaction: float | None = None
    attribute_unknown: int = 0
    budget_violations: int = 0
    brand_violations: int = 0
    refinement: str | None = None
    refinement_honoured: bool | None = None
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)
    top: list[str] = field(default_factory=list)  # "title | price | category" of the shown top 5

    def as_dict(self) -> dict:
        return asdict(self)


def _mean_price(items: list[Product]) -> float | None:
    prices = [p.price for p in items if p.price is not None]
    return statistics.mean(prices) if prices else None


def score_turn(scenario: str, turn: int, said: str, expect: Expect, shown: list[Product],
               previous: list[Product] | None, seconds: float) -> TurnScore:
    top = shown[:TOP]
    score = TurnScore(scenario, turn, said, len(shown), seconds=round(seconds, 3),
                      top=[f"{p.title[:70]} | {p.price} | {' > '.join(p.category_path[-2:])}" for p in top])
    if expect.category:
        hits = sum(in_category(p, expect.category) for p in top)
        score.category_precision = hits / len(top) if top else 0.0  # of what is shown (short lists: see `short`)
        if hits < len(top) or not top:
            score.failures.append(f"category: {len(top) - hits} of {len(top)} not {'/'.join(expect.category)}")
    checks = []
    for name, values, test in (("colour", expect.colour, colour_ok), ("material", expect.material, material_ok),
                               ("gender", expect.gender, gender_ok)):
        if not values:
            continue
        for p in top:
            ok = test(p, values)
            if ok is None:
                score.attribute_unknown += 1
                continue
            checks.append(ok)
            if not ok:
                score.failures.append(f"{name}: '{p.title[:50]}' is not {values}")
    if checks or ((expect.colour or expect.material or expect.gender) and not top):
        score.attribute_satisfaction = sum(checks) / len(checks) if checks else 0.0
    for p in shown:
        if p.price is not None and ((expect.max_price is not None and p.price > expect.max_price + 0.01)
                                    or (expect.min_price is not None and p.price < expect.min_price - 0.01)):
            score.budget_violations += 1
            score.failures.append(f"budget: '{p.title[:50]}' at {p.price}")
        brand = (p.brand or "").casefold()
        if (expect.brand_not and brand in {b.casefold() for b in expect.brand_not}) or \
                (expect.brand_only and brand not in {b.casefold() for b in expect.brand_only}):
            score.brand_violations += 1
            score.failures.append(f"brand: '{p.title[:50]}' by {p.brand}")
    if expect.direction:
        score.refinement = expect.direction
        before, now = _mean_price((previous or [])[:TOP]), _mean_price(top)
        score.refinement_honoured = before is not None and now is not None and (
            now < before if expect.direction == "cheaper" else now > before)
        if not score.refinement_honoured:
            score.failures.append(f"{expect.direction}: mean price {before} -> {now}")
    if expect.like:
        score.refinement = f"like #{expect.like}"
        ref = (previous or [])[expect.like - 1:expect.like]
        leaf = ref[0].category_path[-1] if ref else None
        same = sum(p.category_path[-1] == leaf for p in top if p.id != (ref[0].id if ref else None))
        others = len([p for p in top if not ref or p.id != ref[0].id])
        score.refinement_honoured = bool(ref) and others > 0 and same / others >= 0.8
        if not score.refinement_honoured:
            score.failures.append(f"like #{expect.like}: {same} of {others} in {leaf}")
    return score


def _mean(values: list[float]) -> float | None:
    return round(statistics.mean(values), 4) if values else None


def _quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, max(0, int(round(q * (len(ordered) - 1)))))], 3)


def summarise(scores: list[TurnScore]) -> dict:
    """The figures of a set of turns (the ones the targets are set on)."""
    refinements = [s.refinement_honoured for s in scores if s.refinement_honoured is not None]
    seconds = [s.seconds for s in scores]
    return {
        "scenarios": len({s.scenario for s in scores}), "turns": len(scores),
        "category_precision@5": _mean([s.category_precision for s in scores if s.category_precision is not None]),
        "attribute_satisfaction@5": _mean([s.attribute_satisfaction for s in scores
                                           if s.attribute_satisfaction is not None]),
        "attribute_unknown": sum(s.attribute_unknown for s in scores),
        "budget_violations": sum(s.budget_violations for s in scores),
        "brand_violations": sum(s.brand_violations for s in scores),
        "refinements_honoured": _mean([float(r) for r in refinements]),
        "refinements": len(refinements),
        "latency_p50_s": _quantile(seconds, 0.5), "latency_p95_s": _quantile(seconds, 0.95),
        "empty_lists": sum(s.shown == 0 for s in scores),
        "short_lists": sum(0 < s.shown < TOP for s in scores),
    }


def below(summary: dict, thresholds: dict = THRESHOLDS) -> list[str]:
    """The targets a summary misses, in words."""
    missed = []
    for name, target in thresholds.items():
        value = summary.get(name)
        if value is None:
            continue
        worse = value > target if name in ("budget_violations", "brand_violations", "latency_p95_s") else \
            value < target
        if worse:
            missed.append(f"{name} {value} (target {'<=' if isinstance(target, int) or 'latency' in name else '>='}"
                          f" {target})")
    return missed

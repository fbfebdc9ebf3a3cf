"""The agent evals' metrics, defined once: ranking quality against a case's targets, how well a behaviour summary
recovers the hidden preferences, hard-preference violations, and list diversity and catalog coverage.

Ranking conventions (all five ranking metrics):
- only the first ``k`` positions of ``ranked`` are judged; a shorter list simply has fewer positions;
- a repeated id counts once, at its first position: later copies are non-relevant (they still use up a slot);
- with no targets every ranking metric is 0 (nothing can be found, and a score of 1 would flatter the method);
- ``k`` must be at least 1.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from catalog.models import Product
from evals.cases import HiddenPreferences
from tools.schemas import BehaviorSummary


def _check_k(k: int) -> None:
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")


def _hit_positions(ranked: list[str], targets: set[str], k: int) -> list[int]:
    """1-based positions within the top ``k`` that hold a target, each id counted at its first position only."""
    _check_k(k)
    seen: set[str] = set()
    positions = []
    for position, item in enumerate(ranked[:k], start=1):
        if item in targets and item not in seen:
            positions.append(position)
        seen.add(item)
    return positions


def hit_rate(ranked: list[str], targets: set[str], k: int) -> float:
    """HR@k = 1 if any target is in the top k, else 0."""
    return 1.0 if _hit_positions(ranked, targets, k) else 0.0


def precision(ranked: list[str], targets: set[str], k: int) -> float:
    """P@k = |distinct targets in the top k| / k. The denominator is k even for a shorter list: an empty slot
    is a wasted recommendation."""
    return len(_hit_positions(ranked, targets, k)) / k


def recall(ranked: list[str], targets: set[str], k: int) -> float:
    """R@k = |distinct targets in the top k| / |targets| (the standard definition, so it cannot reach 1 when
    |targets| > k); 0 when there are no targets."""
    hits = _hit_positions(ranked, targets, k)
    return len(hits) / len(targets) if targets else 0.0


def mrr(ranked: list[str], targets: set[str], k: int) -> float:
    """Reciprocal rank: 1 / (position of the first target within the top k), else 0. Averaged over cases it is
    MRR@k."""
    hits = _hit_positions(ranked, targets, k)
    return 1.0 / hits[0] if hits else 0.0


def ndcg(ranked: list[str], targets: set[str], k: int) -> float:
    """NDCG@k with binary relevance: DCG = sum over target positions i of 1 / log2(i + 1); IDCG is the DCG of
    min(|targets|, k) targets at positions 1.. (the best any list of length k can do); 0 when there are no
    targets."""
    hits = _hit_positions(ranked, targets, k)
    if not targets:
        return 0.0
    dcg = sum(1.0 / math.log2(i + 1) for i in hits)
    idcg = sum(1.0 / math.log2(i + 1) for i in range(1, min(len(targets), k) + 1))
    return dcg / idcg


def _norm(text: str) -> str:
    """Case- and whitespace-insensitive form, so 'Running  Shoes' matches 'running shoes'."""
    return " ".join(text.split()).casefold()


def _norm_set(values: Iterable[str | None]) -> set[str]:
    return {_norm(v) for v in values if v and v.strip()}


def _widened(band: tuple[float, float], tolerance: float) -> tuple[float, float]:
    """The band widened by ``tolerance`` of each bound: (low * (1 - t), high * (1 + t))."""
    low, high = band
    return low * (1 - tolerance), high * (1 + tolerance)


def _price_correct(lowest: float | None, highest: float | None, band: tuple[float, float], tolerance: float) -> bool:
    """A stated range is right when its stated bounds lie inside the widened band and it overlaps the band
    itself (a range sitting wholly in the tolerance margin is wrong). A missing bound is not judged."""
    wide_low, wide_high = _widened(band, tolerance)
    low = band[0] if lowest is None else lowest
    high = band[1] if highest is None else highest
    return wide_low <= low and high <= wide_high and low <= band[1] and high >= band[0]


def _prf(tp: int, predicted: int, gold: int) -> dict[str, float]:
    # Undefined ratios (nothing predicted, or nothing gold) score 0, as in sklearn's zero_division=0.
    p = tp / predicted if predicted else 0.0
    r = tp / gold if gold else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f1, "tp": tp, "predicted": predicted, "gold": gold}


def attribute_scores(
    summary: BehaviorSummary, hidden: HiddenPreferences, tolerance: float = 0.15
) -> dict[str, dict[str, float]]:
    """Attribute-level precision, recall and F1 of a behaviour summary against the hidden preferences.

    Per attribute, predicted set P (from the summary) and gold set G (hidden), compared case-insensitively:
    - category: P = the top-1 summary type (the constraint builder uses only the top one), G = {hidden.category};
    - brands: P = all brand_preferences values, G = hidden.brands;
    - colour: P = all summary colours, G = {hidden.colour};
    - price: P = the price_range as one value (empty when neither bound is stated), G = the hidden band; the value
      is right when its stated bounds lie inside the band widened by ``tolerance`` (low*(1-t), high*(1+t)) and
      it overlaps the band.
    precision = |P ∩ G| / |P|, recall = |P ∩ G| / |G|, F1 their harmonic mean (0 when undefined). Attributes
    with no hidden value are skipped. "micro" pools tp, |P| and |G| over the scored attributes.
    Returns {attribute: {precision, recall, f1, tp, predicted, gold}} plus "micro".
    """
    chars = summary.product_characteristics
    sets: dict[str, tuple[set[str], set[str]]] = {
        "category": (_norm_set(e.value for e in chars.types[:1]), _norm_set([hidden.category])),
        "brands": (_norm_set(e.value for e in summary.brand_preferences), _norm_set(hidden.brands)),
        "colour": (_norm_set(e.value for e in chars.colours), _norm_set([hidden.colour])),
    }
    counts: dict[str, tuple[int, int, int]] = {name: (len(p & g), len(p), len(g)) for name, (p, g) in sets.items() if g}
    if hidden.price is not None:
        price_range = summary.price_range
        stated = price_range.lowest is not None or price_range.highest is not None
        right = stated and _price_correct(price_range.lowest, price_range.highest, hidden.price, tolerance)
        counts["price"] = (int(right), int(stated), 1)
    scores = {name: _prf(*c) for name, c in counts.items()}
    scores["micro"] = _prf(*(sum(c[i] for c in counts.values()) for i in range(3)))
    return scores


def violation_rate(recommended: list[Product], hidden: HiddenPreferences, price_tolerance: float = 0.15) -> float:
    """Share of recommended products that break a hidden hard preference: a leaf category other than
    hidden.category (case-insensitive), or a price outside the hidden band widened by ``price_tolerance``
    (low*(1-t), high*(1+t)). Brand and colour are soft preferences and never count. A product without a price
    cannot break the price band. An empty list violates nothing (0)."""
    if not recommended:
        return 0.0
    category = _norm(hidden.category)
    band = _widened(hidden.price, price_tolerance) if hidden.price is not None else None

    def violates(product: Product) -> bool:
        if _norm(product.leaf_category) != category:
            return True
        return band is not None and product.price is not None and not band[0] <= product.price <= band[1]

    return sum(violates(p) for p in recommended) / len(recommended)


def _features(product: Product) -> set[tuple[str, object]]:
    """The product's attribute set; values are tagged with their attribute so 'Black' the brand and 'black' the
    colour never match. Missing attributes are left out. Price bucket = floor(log2(price)) (a factor-of-2 band;
    prices below 1 share bucket 0)."""
    features: set[tuple[str, object]] = {("category", _norm(product.leaf_category))}
    if product.brand:
        features.add(("brand", _norm(product.brand)))
    if product.colour:
        features.add(("colour", _norm(product.colour)))
    if product.price is not None:
        features.add(("price", math.floor(math.log2(max(product.price, 1.0)))))
    return features


def intra_list_diversity(products: list[Product]) -> float:
    """ILD = mean over unordered pairs of (1 - Jaccard(A_i, A_j)), where A is the set {brand, leaf category,
    colour, price bucket floor(log2(price))}; 0 for fewer than 2 products."""
    if len(products) < 2:
        return 0.0
    sets = [_features(p) for p in products]
    total = 0.0
    pairs = 0
    for i in range(len(sets)):
        for j in range(i + 1, len(sets)):
            union = sets[i] | sets[j]
            total += 1.0 - len(sets[i] & sets[j]) / len(union)
            pairs += 1
    return total / pairs


def coverage(lists: list[list[str]], catalog_size: int) -> float:
    """Catalog coverage = |distinct ids over all recommendation lists| / catalog_size."""
    if catalog_size < 1:
        raise ValueError(f"catalog_size must be at least 1, got {catalog_size}")
    return len({item for ranked in lists for item in ranked}) / catalog_size

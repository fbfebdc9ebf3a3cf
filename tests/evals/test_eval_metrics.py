"""The agent evals' metrics (evals/metrics.py) and statistics (evals/stats.py), each against a value worked out
by hand in the comment beside it."""

from __future__ import annotations

import math

import pytest

from catalog.models import Product
from evals.cases import HiddenPreferences
from evals.metrics import (
    attribute_scores,
    coverage,
    hit_rate,
    intra_list_diversity,
    mrr,
    ndcg,
    precision,
    recall,
    violation_rate,
)
from evals.stats import bootstrap_ci, paired_bootstrap_diff, percentile, summarise
from tools.schemas import BehaviorSummary, Evidence, PriceRange, ProductCharacteristics

RANKING = [hit_rate, precision, recall, mrr, ndcg]


# --- ranking metrics ---------------------------------------------------------------------------------------------


def test_ndcg_hand_computed():
    # DCG = 1/log2(2) + 1/log2(4) = 1 + 0.5 = 1.5; IDCG = 1/log2(2) + 1/log2(3) = 1 + 0.63093 = 1.63093
    # NDCG = 1.5 / 1.63093 = 0.91972
    assert ndcg(["a", "x", "b"], {"a", "b"}, 3) == pytest.approx(0.91972, abs=1e-5)


def test_ndcg_ideal_is_capped_at_k():
    # 3 targets but k = 2: IDCG counts min(3, 2) = 2 ideal hits, so two hits in the top 2 is perfect
    assert ndcg(["a", "b"], {"a", "b", "c"}, 2) == pytest.approx(1.0)


def test_hit_rate():
    # the target sits at position 3: outside the top 2, inside the top 3
    assert hit_rate(["x", "y", "a"], {"a"}, 2) == 0.0
    assert hit_rate(["x", "y", "a"], {"a"}, 3) == 1.0


def test_precision_divides_by_k_even_for_short_lists():
    assert precision(["a", "x", "b"], {"a", "b"}, 3) == pytest.approx(2 / 3)  # 2 hits / k = 3
    assert precision(["a", "x", "b"], {"a", "b"}, 5) == pytest.approx(2 / 5)  # 2 hits / k = 5 (list has 3)


def test_recall_divides_by_number_of_targets():
    assert recall(["a", "x", "b"], {"a", "b", "c"}, 3) == pytest.approx(2 / 3)  # 2 hits / 3 targets
    assert recall(["a", "x", "b"], {"a", "b", "c"}, 1) == pytest.approx(1 / 3)  # 1 hit / 3 targets (not / k)


def test_mrr():
    assert mrr(["x", "y", "a", "b"], {"a", "b"}, 4) == pytest.approx(1 / 3)  # first target at rank 3
    assert mrr(["x", "y", "a"], {"a"}, 2) == 0.0  # first target beyond k


def test_duplicates_count_once_at_first_position():
    ranked = ["a", "a", "b"]
    # top 2 = [a, a]: one distinct hit, and the copy wastes slot 2
    assert precision(ranked, {"a", "b"}, 2) == pytest.approx(1 / 2)
    assert recall(ranked, {"a", "b"}, 2) == pytest.approx(1 / 2)
    # DCG = 1/log2(2) = 1; IDCG = 1 + 1/log2(3) = 1.63093; NDCG = 0.61315
    assert ndcg(ranked, {"a", "b"}, 2) == pytest.approx(0.61315, abs=1e-5)
    # top 3: the second 'a' is not a hit, b at position 3: DCG = 1 + 1/log2(4) = 1.5 -> 0.91972
    assert ndcg(ranked, {"a", "b"}, 3) == pytest.approx(0.91972, abs=1e-5)
    # a duplicate non-target still takes a rank: first target at 3
    assert mrr(["x", "x", "a"], {"a"}, 3) == pytest.approx(1 / 3)
    # a target repeated is one hit, not two: precision 1/3, never 2/3
    assert precision(["a", "a", "x"], {"a"}, 3) == pytest.approx(1 / 3)


@pytest.mark.parametrize("metric", RANKING)
def test_empty_ranking_scores_zero(metric):
    assert metric([], {"a"}, 5) == 0.0


@pytest.mark.parametrize("metric", RANKING)
def test_no_targets_scores_zero(metric):
    assert metric(["a", "b"], set(), 2) == 0.0


@pytest.mark.parametrize("metric", RANKING)
def test_k_below_one_is_rejected(metric):
    with pytest.raises(ValueError):
        metric(["a"], {"a"}, 0)


@pytest.mark.parametrize("metric", RANKING)
def test_perfect_ranking_scores_one(metric):
    # two targets at ranks 1 and 2 with k = 2: every metric is 1
    assert metric(["a", "b", "x"], {"a", "b"}, 2) == pytest.approx(1.0)


# --- attribute scores -----------------------------------------------------------------------------------------


def _summary(types=(), brands=(), colours=(), lowest=None, highest=None) -> BehaviorSummary:
    return BehaviorSummary(
        product_characteristics=ProductCharacteristics(
            types=[Evidence(value=t) for t in types], colours=[Evidence(value=c) for c in colours]
        ),
        brand_preferences=[Evidence(value=b) for b in brands],
        price_range=PriceRange(lowest=lowest, highest=highest),
        summariser="test",
    )


HIDDEN = HiddenPreferences(category="Running Shoes", brands=("Nike", "Adidas"), price=(1000, 2000), colour="Blue")


def test_attribute_scores_hand_computed():
    summary = _summary(
        types=["running  shoes", "Sandals"], brands=["NIKE", "Puma"], colours=["black"], lowest=1000, highest=2500
    )
    scores = attribute_scores(summary, HIDDEN)
    # category: top-1 only, P = {running shoes} = G -> 1/1, 1/1 (Sandals is ignored)
    assert scores["category"]["precision"] == scores["category"]["recall"] == scores["category"]["f1"] == 1.0
    # brands: P = {nike, puma}, G = {nike, adidas}, tp = 1 -> P = 1/2, R = 1/2, F1 = 1/2
    assert (scores["brands"]["precision"], scores["brands"]["recall"], scores["brands"]["f1"]) == (0.5, 0.5, 0.5)
    # colour: {black} vs {blue} -> 0
    assert scores["colour"]["f1"] == 0.0
    # price: band widened by 15% = [850, 2300]; 2500 > 2300 -> wrong: tp 0, predicted 1, gold 1
    assert (scores["price"]["tp"], scores["price"]["predicted"], scores["price"]["gold"]) == (0, 1, 1)
    # micro: tp = 1+1+0+0 = 2, |P| = 1+2+1+1 = 5, |G| = 1+2+1+1 = 5 -> P = R = F1 = 0.4
    micro = scores["micro"]
    assert micro["precision"] == pytest.approx(0.4) and micro["recall"] == pytest.approx(0.4)
    assert micro["f1"] == pytest.approx(0.4)


@pytest.mark.parametrize(
    ("lowest", "highest", "right"),
    [
        (1000, 2200, True),  # 2200 <= 2300 and overlaps [1000, 2000]
        (900, 1900, True),  # 900 >= 850
        (800, 1900, False),  # 800 < 850
        (None, 1900, True),  # one-sided: only the stated bound is judged
        (860, 950, False),  # inside the widened band but wholly in the margin, no overlap with the band
    ],
)
def test_attribute_scores_price_rule(lowest, highest, right):
    scores = attribute_scores(_summary(lowest=lowest, highest=highest), HIDDEN)
    assert scores["price"]["tp"] == int(right)


def test_attribute_scores_skips_attributes_without_hidden_value():
    scores = attribute_scores(_summary(types=["Sandals"], colours=["red"]), HiddenPreferences(category="Sandals"))
    assert set(scores) == {"category", "micro"}  # brands, colour and price have no hidden value
    assert scores["micro"]["f1"] == 1.0  # the summary's colour cannot be penalised when no colour is hidden


def test_attribute_scores_empty_summary():
    scores = attribute_scores(_summary(), HIDDEN)
    # nothing predicted: precision 0 (zero_division = 0), recall 0/|G| = 0; no price range -> predicted 0
    assert scores["micro"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "tp": 0, "predicted": 0, "gold": 5}


# --- violation rate, diversity, coverage -----------------------------------------------------------------------


def _product(pid, leaf="Running Shoes", price=None, brand=None, colour=None) -> Product:
    return Product(id=pid, title=pid, category_path=["Footwear", leaf], price=price, brand=brand, colour=colour)


def test_violation_rate():
    hidden = HiddenPreferences(category="running shoes", brands=("Nike",), price=(1000, 2000), colour="blue")
    recommended = [
        _product("p1", price=1500),  # fine
        _product("p2", leaf="Sandals", price=1500),  # wrong leaf category
        _product("p3", price=2250),  # within 2000 * 1.15 = 2300
        _product("p4", price=2400),  # above 2300
        _product("p5", brand="Puma", colour="red"),  # soft misses and no price: not a violation
    ]
    assert violation_rate(recommended, hidden) == pytest.approx(2 / 5)  # p2, p4
    assert violation_rate(recommended, hidden, price_tolerance=0.0) == pytest.approx(3 / 5)  # p3 too
    assert violation_rate([], hidden) == 0.0


def test_intra_list_diversity_three_products():
    a = _product("a", brand="Nike", colour="black", price=1500)  # price bucket floor(log2 1500) = 10
    b = _product("b", brand="Nike", colour="blue", price=1800)  # bucket 10
    c = _product("c", leaf="Sandals", brand="Puma", price=600)  # bucket 9, no colour
    # a-b: shared {brand, leaf, bucket} = 3 of 5 -> 1 - 3/5 = 0.4; a-c and b-c share nothing -> 1, 1
    # ILD = (0.4 + 1 + 1) / 3 = 0.8
    assert intra_list_diversity([a, b, c]) == pytest.approx(0.8)
    assert intra_list_diversity([a]) == 0.0
    assert intra_list_diversity([]) == 0.0
    assert intra_list_diversity([a, a]) == 0.0


def test_diversity_tags_values_by_attribute():
    # brand 'Black' and colour 'black' are different attributes: only the leaf is shared -> 1 - 1/3 = 2/3
    x = _product("x", brand="Black")
    y = _product("y", colour="black")
    assert intra_list_diversity([x, y]) == pytest.approx(2 / 3)


def test_coverage():
    # distinct {a, b, c, d} = 4 over a catalog of 10
    assert coverage([["a", "b", "c"], ["b", "c", "d"], []], 10) == pytest.approx(0.4)
    assert coverage([], 10) == 0.0
    with pytest.raises(ValueError):
        coverage([["a"]], 0)


# --- statistics ----------------------------------------------------------------------------------------------


VALUES = [0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.5, 0.25]


def test_bootstrap_ci_contains_the_mean_and_is_deterministic():
    mean, low, high = bootstrap_ci(VALUES)
    assert mean == pytest.approx(0.575)  # 5.75 / 10
    assert low < mean < high
    assert bootstrap_ci(VALUES) == (mean, low, high)  # same seed, same interval
    assert bootstrap_ci(VALUES, seed=1) != (mean, low, high)


def test_bootstrap_ci_narrows_with_more_data():
    _, low_small, high_small = bootstrap_ci([0.0, 1.0] * 10)
    _, low_large, high_large = bootstrap_ci([0.0, 1.0] * 500)
    assert high_large - low_large < (high_small - low_small) / 4  # width ~ 1/sqrt(n): 50x the data, ~7x narrower


def test_bootstrap_ci_two_points():
    # resample means of [0, 1] are 0, 0.5, 1 with probability 1/4, 1/2, 1/4: the 2.5% and 97.5% quantiles are 0, 1
    assert bootstrap_ci([0.0, 1.0], n_resamples=4000) == (0.5, 0.0, 1.0)


def test_bootstrap_ci_degenerate_inputs():
    assert all(math.isnan(x) for x in bootstrap_ci([]))
    assert bootstrap_ci([0.7]) == (0.7, 0.7, 0.7)
    assert bootstrap_ci([2.0, 2.0, 2.0]) == (2.0, 2.0, 2.0)
    with pytest.raises(ValueError):
        bootstrap_ci([1.0, float("nan")])
    with pytest.raises(ValueError):
        bootstrap_ci(VALUES, confidence=1.0)


def test_paired_bootstrap_diff_keeps_the_pairing():
    b = VALUES
    a = [v + 0.1 for v in b]
    # every case improves by exactly 0.1: the paired interval has zero width, though each method's own is wide
    mean, low, high = paired_bootstrap_diff(a, b)
    assert (mean, low, high) == pytest.approx((0.1, 0.1, 0.1))
    _, low_b, high_b = bootstrap_ci(b)
    assert high_b - low_b > 0.3
    with pytest.raises(ValueError):
        paired_bootstrap_diff([1.0], [1.0, 2.0])


def test_summarise():
    mean, low, high = bootstrap_ci(VALUES)
    assert summarise(VALUES) == {"mean": mean, "ci_low": low, "ci_high": high, "n": 10}
    assert summarise([])["n"] == 0


def test_percentile():
    # linear interpolation: p50 of [1, 2, 3, 4] sits at position 1.5 -> 2.5; p95 at 2.85 -> 3 + 0.85 = 3.85
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == pytest.approx(2.5)
    assert percentile([4.0, 1.0, 3.0, 2.0], 95) == pytest.approx(3.85)
    assert math.isnan(percentile([], 50))
    with pytest.raises(ValueError):
        percentile([1.0], 150)

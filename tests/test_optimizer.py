"""The MNL optimiser (tools.optimizer): both exact methods against brute force, constraints, ties, reports."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from tools.optimizer import select
from tools.schemas import Candidate, Constraints

METHODS = ("dinkelbach", "milp")


def cand(pid: str, utility: float, value: float, brand: str | None = "B0", price: float | None = None) -> Candidate:
    return Candidate(product_id=pid, title=f"Product {pid}", brand=brand, price=value if price is None else price,
                     currency="INR", category_path=["Watches"], rating=None, similarity=0.5, utility=utility,
                     value=value)


def random_instance(seed: int, n: int, brands: int = 4) -> list[Candidate]:
    rng = random.Random(seed)
    return [
        cand(f"p{i:02d}", utility=math.exp(rng.uniform(-1.0, 2.0)), value=round(rng.uniform(100, 3000), 2),
             brand=f"Brand{rng.randrange(brands)}")
        for i in range(n)
    ]


def mnl_revenue(chosen: list[Candidate], v0: float) -> float:
    return sum(c.value * c.utility for c in chosen) / (v0 + sum(c.utility for c in chosen))


def feasible(subset: tuple[Candidate, ...], k: int, c: Constraints) -> bool:
    if c.selection == "ranking" and len(subset) != k:
        return False
    if len(subset) > k:
        return False
    ids = {x.product_id for x in subset}
    if not set(c.must_include) <= ids or ids & set(c.must_exclude):
        return False
    if c.max_per_brand:
        per_brand: dict[str, int] = {}
        for x in subset:
            key = (x.brand or x.product_id).casefold()
            per_brand[key] = per_brand.get(key, 0) + 1
        if max(per_brand.values(), default=0) > c.max_per_brand:
            return False
    return True


def brute_force(cands: list[Candidate], c: Constraints, v0: float) -> tuple[float, list[tuple[float, set[str]]]]:
    """The best MNL revenue over all feasible subsets, and every subset within a hair of it."""
    k = min(c.k, len(cands))
    scored = []
    for size in range(k + 1):
        for subset in itertools.combinations(cands, size):
            if feasible(subset, k, c):
                scored.append((mnl_revenue(list(subset), v0), {x.product_id for x in subset}))
    best = max(value for value, _ in scored)
    return best, [(value, ids) for value, ids in scored if value >= best - 1e-6 * max(1.0, best)]


CASES = [
    # (seed, n, k, selection, max_per_brand, no-choice utility)
    (1, 10, 3, "ranking", None, 1.0),
    (2, 11, 4, "ranking", 2, 1.0),
    (3, 12, 3, "assortment", None, 1.0),
    (4, 12, 5, "assortment", 2, 0.5),
    (5, 10, 4, "assortment", 1, 3.0),
    (6, 12, 4, "ranking", 1, 2.0),
    (7, 11, 6, "assortment", None, 10.0),
]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("seed", "n", "k", "selection", "max_per_brand", "v0"), CASES)
def test_select_equals_brute_force(method, seed, n, k, selection, max_per_brand, v0):
    cands = random_instance(seed, n)
    c = Constraints(k=k, selection=selection, objective="revenue", max_per_brand=max_per_brand)
    best, near_best = brute_force(cands, c, v0)

    result = select(cands, c, no_choice_utility=v0, method=method)

    chosen = {x.product_id for x in result.chosen}
    assert result.report.status == "OPTIMAL"
    assert mnl_revenue(result.chosen, v0) == pytest.approx(best, rel=1e-6)
    assert result.report.objective_value == pytest.approx(best, rel=1e-6)
    assert any(chosen == ids for _, ids in near_best)
    assert feasible(tuple(result.chosen), k, c)
    assert result.unmet == []


def test_assortment_mode_may_show_fewer_than_k_when_that_earns_more():
    # one expensive product and many cheap, attractive ones: adding the cheap ones cannibalises revenue
    cands = [cand("a", 1.0, 5000.0)] + [cand(f"c{i}", 5.0, 10.0, brand=f"C{i}") for i in range(5)]
    ranking = Constraints(k=4, selection="ranking", objective="revenue")
    assortment = ranking.model_copy(update={"selection": "assortment"})
    for method in METHODS:
        shown = select(cands, assortment, method=method)
        assert [x.product_id for x in shown.chosen] == ["a"]
        forced = select(cands, ranking, method=method)
        assert len(forced.chosen) == 4 and "a" in {x.product_id for x in forced.chosen}
        assert shown.report.objective_value > forced.report.objective_value


@pytest.mark.parametrize("method", METHODS)
def test_must_include_and_must_exclude_are_honoured(method):
    cands = random_instance(11, 10)
    by_value = sorted(cands, key=lambda x: x.value * x.utility)
    weakest, strongest = by_value[0].product_id, by_value[-1].product_id
    c = Constraints(k=3, objective="revenue", must_include=[weakest], must_exclude=[strongest])
    result = select(cands, c, method=method)
    ids = [x.product_id for x in result.chosen]
    assert weakest in ids and strongest not in ids and len(ids) == 3
    best, _ = brute_force(cands, c, 1.0)
    assert result.report.objective_value == pytest.approx(best, rel=1e-6)
    assert strongest not in result.choice_probability


@pytest.mark.parametrize("method", METHODS)
def test_fewer_candidates_than_k_are_all_shown_and_reported(method):
    cands = random_instance(12, 3)
    result = select(cands, Constraints(k=5, objective="revenue"), method=method)
    assert {x.product_id for x in result.chosen} == {"p00", "p01", "p02"}
    assert result.report.status == "OPTIMAL"
    assert any("only 3 candidate(s)" in reason and "k=5" in reason for reason in result.unmet)


@pytest.mark.parametrize("method", METHODS)
def test_must_include_missing_from_candidates_is_reported(method):
    cands = random_instance(13, 6)
    result = select(cands, Constraints(k=2, must_include=["gone"]), method=method)
    assert len(result.chosen) == 2
    assert any("gone" in reason for reason in result.unmet)


@pytest.mark.parametrize("method", METHODS)
def test_no_candidates(method):
    result = select([], Constraints(k=3), method=method)
    assert result.chosen == [] and result.choice_probability == {}
    assert result.report.status == "NO_CANDIDATES"
    assert any("only 0 candidate(s)" in reason for reason in result.unmet)


@pytest.mark.parametrize("method", METHODS)
def test_infeasible_constraints_are_reported_not_guessed(method):
    cands = [cand(f"t{i}", 1.0 + i, 500.0 + i, brand="Titan") for i in range(4)]
    cands += [cand(f"f{i}", 2.0, 800.0, brand="Fastrack") for i in range(3)]
    c = Constraints(k=4, objective="revenue", max_per_brand=1, must_include=["t0", "t1", "t2"])
    result = select(cands, c, method=method)
    assert result.report.status == "INFEASIBLE"
    assert result.chosen == [] and result.choice_probability == {}
    assert any("brand cap" in reason for reason in result.unmet)


def _identical_candidates() -> list[Candidate]:
    ids = ["m05", "a10", "z01", "c03", "b02", "k07"]
    random.Random(0).shuffle(ids)
    return [cand(pid, 2.0, 999.0, brand=None) for pid in ids]


@pytest.mark.parametrize("method", METHODS)
def test_ties_give_the_same_output_every_time_whatever_the_input_order(method):
    cands = _identical_candidates()
    c = Constraints(k=3, objective="revenue")
    first = select(cands, c, method=method)
    second = select(cands, c, method=method)
    third = select(list(reversed(cands)), c, method=method)
    assert len(first.chosen) == 3
    assert [x.product_id for x in first.chosen] == [x.product_id for x in second.chosen]
    assert [x.product_id for x in first.chosen] == [x.product_id for x in third.chosen]
    assert first.choice_probability == third.choice_probability


@pytest.mark.parametrize("method", [
    "dinkelbach",
    pytest.param("milp", marks=pytest.mark.xfail(strict=True, reason=(
        "bug: the 1e-7 id tie-break in the MILP objective is below SCIP's tolerances on the continuous y "
        "variables (feasibility 1e-6 x r_i v_i), so tied products are not chosen by id order"))),
])
def test_ties_are_broken_by_product_id(method):
    result = select(_identical_candidates(), Constraints(k=3, objective="revenue"), method=method)
    assert [x.product_id for x in result.chosen] == ["a10", "b02", "c03"]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("v0", [0.25, 1.0, 4.0])
def test_choice_probabilities_follow_the_mnl_model(method, v0):
    cands = random_instance(21, 10)
    result = select(cands, Constraints(k=4, objective="revenue"), no_choice_utility=v0, method=method)
    probs = result.choice_probability
    assert set(probs) == {x.product_id for x in result.chosen}
    assert sum(probs.values()) + result.report.no_choice_weight == pytest.approx(1.0, abs=1e-12)
    denominator = v0 + sum(x.utility for x in result.chosen)
    for x in result.chosen:
        assert probs[x.product_id] == pytest.approx(x.utility / denominator)
    assert result.report.no_choice_weight == pytest.approx(v0 / denominator)


@pytest.mark.parametrize("method", METHODS)
def test_chosen_products_are_ordered_by_expected_revenue(method):
    cands = random_instance(31, 12)
    result = select(cands, Constraints(k=5, objective="revenue"), method=method)
    contributions = [x.value * result.choice_probability[x.product_id] for x in result.chosen]
    assert len(contributions) == 5
    assert contributions == sorted(contributions, reverse=True)


def test_expected_revenue_order_is_not_utility_order():
    # cheap but attractive vs expensive but less attractive: the expensive one is listed first
    cands = [cand("cheap", 5.0, 100.0, brand="A"), cand("dear", 1.0, 2000.0, brand="B")]
    result = select(cands, Constraints(k=2, objective="revenue"))
    assert [x.product_id for x in result.chosen] == ["dear", "cheap"]


def test_both_methods_agree_and_report_their_mode():
    cands = random_instance(41, 12)
    c = Constraints(k=4, objective="revenue", selection="assortment", max_per_brand=2)
    d = select(cands, c, method="dinkelbach")
    m = select(cands, c, method="milp")
    assert [x.product_id for x in d.chosen] == [x.product_id for x in m.chosen]
    assert d.report.mode == "assortment/revenue/dinkelbach"
    assert m.report.mode == "assortment/revenue/milp"
    assert d.report.candidates == m.report.candidates == 12
    assert d.report.solve_seconds >= 0


def test_unknown_method_is_an_error():
    with pytest.raises(ValueError, match="unknown optimiser method"):
        select(random_instance(1, 3), Constraints(k=2), method="greedy")


def test_brand_cap_that_allows_fewer_than_k_shows_what_it_can_and_says_why():
    pool = [
        Candidate(product_id=f"{brand}{i}", title="t", brand=brand, price=100.0, currency="INR",
                  category_path=["x"], rating=None, similarity=0.5, utility=1.0 + i, value=1.0)
        for brand in ("a", "b") for i in range(3)
    ]
    selection = select(pool, Constraints(k=5, max_per_brand=2))
    assert selection.report.status == "OPTIMAL"
    assert len(selection.chosen) == 4
    assert any("per brand allows only 4" in note for note in selection.unmet)

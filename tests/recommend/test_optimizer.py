"""The MNL optimiser (tools.recommend.optimizer): both exact methods against brute force, constraints, ties, reports."""

from __future__ import annotations

import itertools
import math
import random
import time

import pytest

from tools.recommend import optimizer
from tools.recommend.optimizer import OptimizerError, select
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
    assert any("cannot all be shown with the brand cap" in reason for reason in result.unmet)


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


@pytest.mark.parametrize("method", METHODS)
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


# -- every hard constraint, every objective mode: both methods against brute force ----------------------------
BRANDS = ["Titan", "Fastrack", "Sonata", "Casio"]
COLOURS = ["Black", "silver", "Red", None]
KINDS = ["Wrist Watches", "Smart Watches", "Clocks"]


def shop(seed: int, mode: str, n: int = 12) -> list[Candidate]:
    """A small catalog with every attribute a constraint can look at; r_i as tools.recommend.candidates sets it."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        price = float(rng.randrange(300, 3000, 50))
        value = {"relevance": 1.0, "revenue": price, "mixed": 0.7 + 0.3 * price / 3000}[mode]
        rows.append(Candidate(
            product_id=f"s{i:02d}", title=f"Watch {i}", brand=rng.choice(BRANDS), price=price, currency="INR",
            category_path=["Watches", rng.choice(KINDS)], rating=rng.choice([None, 3.0, 3.5, 4.0, 4.5]),
            colour=rng.choice(COLOURS), similarity=0.5, utility=math.exp(rng.uniform(-1.0, 2.0)), value=value))
    return rows


def allowed(x: Candidate, c: Constraints) -> bool:
    """The per-product hard constraints, restated here independently of tools.recommend.relaxation."""
    low = [s.lower() for s in c.categories]
    return ((c.min_price is None or (x.price is not None and x.price >= c.min_price))
            and (c.max_price is None or (x.price is not None and x.price <= c.max_price))
            and (not c.categories or any(p.lower() in low for p in x.category_path))
            and (not c.include_brands or (x.brand or "").lower() in [b.lower() for b in c.include_brands])
            and (x.brand or "").lower() not in [b.lower() for b in c.exclude_brands]
            and (x.colour is None or x.colour.lower() not in [b.lower() for b in c.exclude_colours])
            and (c.min_rating is None or (x.rating is not None and x.rating >= c.min_rating))
            and x.product_id not in c.must_exclude)


def brute_force_all(cands: list[Candidate], c: Constraints, v0: float = 1.0) -> tuple[float, list[set[str]]]:
    """Best MNL value over every subset meeting every constraint (ranking: the largest size that exists)."""
    pool = [x for x in cands if allowed(x, c)]
    sizes = range(c.k, -1, -1) if c.selection == "ranking" else [None]
    for size in sizes:
        scored = [(mnl_revenue(list(s), v0), {x.product_id for x in s})
                  for r in ([size] if size is not None else range(c.k + 1))
                  for s in itertools.combinations(pool, r) if feasible(s, r if size is not None else c.k, c)]
        if scored:
            best = max(v for v, _ in scored)
            return best, [ids for v, ids in scored if v >= best - 1e-6 * max(1.0, best)]
    raise AssertionError("no feasible subset")


CONSTRAINT_CASES = {
    "price band": {"min_price": 800, "max_price": 2200},
    "budget": {"max_price": 1500},
    "category": {"categories": ["wrist watches", "CLOCKS"]},
    "include brands": {"include_brands": ["titan", "Casio"]},
    "exclude brands": {"exclude_brands": ["FASTRACK"]},
    "exclude colours": {"exclude_colours": ["red"]},
    "min rating": {"min_rating": 4.0},
    "brand cap": {"max_per_brand": 1},
    "must lists": {"must_include": ["s03", "s07"], "must_exclude": ["s00", "s01"]},
    "everything": {"min_price": 400, "max_price": 2800, "categories": ["Watches"], "exclude_brands": ["Sonata"],
                   "exclude_colours": ["RED"], "min_rating": 3.0, "max_per_brand": 2, "must_exclude": ["s05"]},
    "everything, assortment": {"max_price": 2500, "exclude_colours": ["red"], "max_per_brand": 2,
                               "min_rating": 3.5, "selection": "assortment"},
}


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("mode", ["relevance", "revenue", "mixed"])
@pytest.mark.parametrize("case", list(CONSTRAINT_CASES))
@pytest.mark.parametrize("seed", [1, 2])
def test_every_constraint_and_objective_agree_with_brute_force(method, mode, case, seed):
    cands = shop(seed, mode)
    c = Constraints(k=3, objective=mode, **CONSTRAINT_CASES[case])
    if c.must_include:  # make the must-include products admissible whatever the seed
        cands = [x.model_copy(update={"brand": f"Own{x.product_id}"}) if x.product_id in c.must_include else x
                 for x in cands]
    best, near_best = brute_force_all(cands, c)

    result = select(cands, c, method=method)

    assert result.report.status == "OPTIMAL"
    assert all(allowed(x, c) for x in result.chosen)
    assert {x.product_id for x in result.chosen} in near_best
    assert result.report.objective_value == pytest.approx(best, rel=1e-6)
    assert set(c.must_include) <= {x.product_id for x in result.chosen}


def test_a_time_limit_is_respected_and_reported():
    rng = random.Random(3)
    cands = [cand(f"p{i:03d}", math.exp(rng.uniform(-1, 2)), rng.uniform(100, 3000), brand=f"B{rng.randrange(8)}")
             for i in range(80)]
    c = Constraints(k=10, objective="revenue", max_per_brand=2)
    started = time.perf_counter()
    try:
        result = select(cands, c, time_limit_s=0.05, method="milp")  # the MILP needs about 0.3 s here
    except OptimizerError as error:  # nothing found in time
        assert "time limit" in str(error)
    else:
        assert result.report.status == "FEASIBLE"
        assert any("time limit" in note for note in result.unmet)
        assert len(result.chosen) == 10
    assert time.perf_counter() - started < 0.5


# -- dominance pruning --------------------------------------------------------------------------------------
def test_pruning_keeps_an_optimal_set_and_shrinks_the_model(monkeypatch):
    rng = random.Random(5)
    big = [cand(f"q{i:04d}", math.exp(rng.uniform(-1, 2)), round(rng.uniform(100, 3000), 0),
                brand=f"B{rng.randrange(12)}") for i in range(600)]
    big += [cand("q9998", 3.0, 1000.0, brand="B1"), cand("q9999", 3.0, 1000.0, brand="B1")]  # an exact tie
    kept = []
    real_prune = optimizer._prune
    monkeypatch.setattr(optimizer, "_prune", lambda p, lo: kept.append(real_prune(p, lo)) or kept[-1])
    for objective in ("relevance", "revenue", "mixed"):
        for selection_mode, cap in (("ranking", 2), ("ranking", None), ("assortment", 2)):
            c = Constraints(k=10, objective=objective, selection=selection_mode, max_per_brand=cap,
                            must_include=["q0007"])
            pruned = select(big, c)
            monkeypatch.setattr(optimizer, "_prune", lambda p, lo: p.pool)
            full = select(big, c)
            monkeypatch.setattr(optimizer, "_prune", lambda p, lo: kept.append(real_prune(p, lo)) or kept[-1])
            assert [x.product_id for x in pruned.chosen] == [x.product_id for x in full.chosen]
            assert pruned.report.objective_value == full.report.objective_value
            assert "q0007" in {x.product_id for x in kept[-1]}
    assert max(len(k) for k in kept) < 200


@pytest.mark.parametrize("method", METHODS)
def test_ties_between_different_products_go_to_the_lower_id(method):
    # R({z9}) = 1.5 * 2 / 3 = 1 = 2 * 1 / 2 = R({a1}): the same value from different products
    cands = [cand("z9", 2.0, 1.5, brand="Z"), cand("a1", 1.0, 2.0, brand="A")]
    result = select(cands, Constraints(k=1, objective="revenue"), method=method)
    assert [x.product_id for x in result.chosen] == ["a1"]


@pytest.mark.parametrize("seed", range(6))
def test_pruning_from_any_lower_bound_keeps_the_optimal_set(seed):
    cands = sorted(random_instance(seed, 40, brands=5), key=lambda x: x.product_id)
    c = Constraints(k=5, objective="revenue", max_per_brand=2 if seed % 2 else None)
    best = select(cands, c, method="milp")
    level = best.report.objective_value
    problem = optimizer._Problem(pool=cands, k=5, ranking=True, must=frozenset(), cap=c.max_per_brand, v0=1.0)
    for lo in (0.0, level / 2, level * 0.99, level):
        kept = {x.product_id for x in optimizer._prune(problem, lo)}
        assert {x.product_id for x in best.chosen} <= kept
        assert len(kept) < len(cands)

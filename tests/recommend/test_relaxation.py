"""Hard constraints and infeasibility reports (tools.recommend.relaxation): what each constraint excludes, which
constraints conflict, the smallest relaxation that yields K with its exact values and sentence, and that
applying it does yield K."""

from __future__ import annotations

import pytest

from tools.recommend.optimizer import select
from tools.recommend.relaxation import HardFilter, relax, relaxed
from tools.schemas import Candidate, Constraints

CATALOG = [  # id, brand, price, rating, colour, leaf category: small enough to check every answer by hand
    ("h1", "Titan", 1450.0, 4.3, "Black", "Wrist Watches"),
    ("h2", "Maxima", 595.0, 3.9, "Silver", "Wrist Watches"),
    ("h3", "Fastrack", 2499.0, 4.0, None, "Wrist Watches"),
    ("h4", "Titan", 8995.0, 4.7, "Gold", "Wrist Watches"),
    ("h5", "Sonata", 350.0, None, "red", "Wrist Watches"),
    ("h6", "Noise", 1999.0, 4.1, "Black", "Smart Watches"),
    ("h7", "TITAN", 2100.0, None, "RED", "Wrist Watches"),
    ("h8", "Timex", None, 3.5, "Blue", "Wrist Watches"),
]


def catalog() -> list[Candidate]:
    return [Candidate(product_id=pid, title=pid, brand=brand, price=price, currency="INR",
                      category_path=["Watches", leaf], rating=rating, colour=colour, similarity=0.5,
                      utility=1.0 + int(pid[1:]) / 10, value=1.0)
            for pid, brand, price, rating, colour, leaf in CATALOG]


@pytest.mark.parametrize(("update", "shown"), [
    ({"min_price": 1000}, {"h1", "h3", "h4", "h6", "h7"}),  # unpriced h8 cannot show it is above
    ({"max_price": 2100}, {"h1", "h2", "h5", "h6", "h7"}),  # exactly 2,100 is in
    ({"categories": ["smart watches"]}, {"h6"}),
    ({"categories": ["WATCHES"]}, {f"h{i}" for i in range(1, 9)}),  # any level of the path
    ({"include_brands": ["titan"]}, {"h1", "h4", "h7"}),
    ({"exclude_brands": ["Titan", "noise"]}, {"h2", "h3", "h5", "h8"}),
    ({"exclude_colours": ["Red", "gold"]}, {"h1", "h2", "h3", "h6", "h8"}),  # unknown colour (h3) passes
    ({"min_rating": 4.0}, {"h1", "h3", "h4", "h6"}),  # unrated fail
    ({"must_exclude": ["h1", "h8"]}, {"h2", "h3", "h4", "h5", "h6", "h7"}),
    ({"max_per_brand": 1}, {"h2", "h3", "h5", "h6", "h7", "h8"}),  # the likeliest Titan; case ignored
])
@pytest.mark.parametrize("method", ["dinkelbach", "milp"])
def test_each_hard_constraint_excludes_exactly_its_products(method, update, shown):
    result = select(catalog(), Constraints(k=8, **update), method=method)
    assert {x.product_id for x in result.chosen} == shown
    if len(shown) < 8:
        assert result.report.relaxation is not None


@pytest.mark.parametrize("method", ["dinkelbach", "milp"])
def test_a_must_include_product_that_breaks_a_filter_is_a_reported_conflict(method):
    result = select(catalog(), Constraints(k=2, max_price=8000, must_include=["h4"]), method=method)
    assert result.report.status == "INFEASIBLE" and result.chosen == []
    relaxation = result.report.relaxation
    assert relaxation.conflicts == ["max_price", "must_include"]
    assert relaxation.changes == {"max_price": 8995.0}  # +12%: cheaper than giving up the product
    assert any("h4" in note and "the budget" in note for note in result.unmet)
    # a budget three times too small costs more than the must-include list (relative change 2.0 > 1)
    far = select(catalog(), Constraints(k=2, max_price=3000, must_include=["h4"]), method=method)
    assert far.report.relaxation.changes == {"must_include": None}


def test_duplicate_candidates_from_merged_pools_count_once():
    cands = catalog()
    result = select(cands + cands[:3], Constraints(k=8))
    assert len(result.chosen) == 8 and result.report.candidates == 8


CASES = [
    # constraints, feasible now, conflicts, changes, message
    (dict(k=6, max_price=2000), 4, ["max_price"], {"max_price": 2499.0},
     "Only 4 products under ₹2,000 match; raising the budget to ₹2,499 gives 6."),
    (dict(k=5, min_price=1500), 4, ["min_price"], {"min_price": 1450.0},
     "Only 4 products from ₹1,500 up match; lowering the minimum price to ₹1,450 gives 5."),
    (dict(k=4, min_rating=4.2), 2, ["min_rating"], {"min_rating": 4.0},
     "Only 2 products rated 4.2 or more match; lowering the minimum rating to 4 gives 4."),
    (dict(k=7, min_rating=4.2), 2, ["min_rating"], {"min_rating": None},
     "Only 2 products rated 4.2 or more match; accepting unrated products gives 8."),
    (dict(k=5, include_brands=["Titan"]), 3, ["include_brands"], {"include_brands": ["Titan", "Fastrack", "Maxima"]},
     "Only 3 products from Titan match; adding Fastrack, Maxima gives 5."),
    # more than three brands would be needed: "any brand" rather than a long list; none fits: "No product"
    (dict(k=7, include_brands=["Noise"]), 1, ["include_brands"], {"include_brands": None},
     "Only 1 product from Noise matches; allowing any brand gives 8."),
    # (a +100% budget costs more than two brands, 2/3: the two under the budget are added)
    (dict(k=2, include_brands=["Noise"], max_price=1000), 0, ["include_brands"],
     {"include_brands": ["Noise", "Maxima", "Sonata"]},
     "No product from Noise matches; adding Maxima, Sonata gives 2."),
    (dict(k=3, categories=["Smart Watches"]), 1, ["categories"],
     {"categories": ["Smart Watches", "Wrist Watches"]},
     "Only 1 product in Smart Watches matches; adding Wrist Watches gives 8."),
    (dict(k=7, exclude_brands=["Titan", "Noise"]), 4, ["exclude_brands"], {"exclude_brands": ["Noise"]},
     "Only 4 products meeting all your constraints match; no longer excluding Titan gives 7."),
    (dict(k=7, exclude_colours=["red", "gold"]), 5, ["exclude_colours"], {"exclude_colours": ["gold"]},
     "Only 5 products meeting all your constraints match; no longer excluding red gives 7."),
    (dict(k=8, must_exclude=["h1"]), 7, ["must_exclude"], {"must_exclude": None},
     "Only 7 products meeting all your constraints match; no longer excluding h1 gives 8."),
    (dict(k=8, max_per_brand=1), 8, ["max_per_brand"], {"max_per_brand": 3},
     "Only 6 products at 1 per brand match; allowing 3 per brand gives 8."),
    # no single change is enough: the cheapest pair (+5% budget, unrated accepted)
    (dict(k=5, max_price=2000, min_rating=4.2), 1, ["max_price", "min_rating"],
     {"max_price": 2100.0, "min_rating": None},
     "Only 1 product meeting all your constraints matches; raising the budget to ₹2,100 and accepting unrated "
     "products gives 5."),
    # three constraints must give way: each is relaxed, then tightened back as far as the others allow
    (dict(k=8, max_price=2000, min_rating=4.2, exclude_colours=["red"]), 1,
     ["max_price", "min_rating", "exclude_colours"], {"max_price": None, "min_rating": None, "exclude_colours": None},
     "Only 1 product meeting all your constraints matches; dropping the budget, accepting unrated products and "
     "no longer excluding red gives 8."),
    # more than exist: say so and lower k
    (dict(k=9), 8, ["k"], {"k": 8},
     "Even with every constraint relaxed only 8 of the candidates fit, fewer than k=9; asking for 8 instead of 9 "
     "gives 8."),
    (dict(k=9, max_price=3000), 6, ["max_price", "k"], {"max_price": None, "k": 8},
     "Even with every constraint relaxed only 8 of the candidates fit, fewer than k=9; dropping the budget and "
     "asking for 8 instead of 9 gives 8."),
    # must-include conflicts
    (dict(k=3, max_per_brand=1, must_include=["h1", "h4"]), 8, ["max_per_brand", "must_include"],
     {"must_include": ["h1"]},
     "2 must-include products (h1, h4) cannot all be shown with the brand cap; not requiring h4 gives 6."),
    (dict(k=2, must_include=["h1", "h2", "h3"]), 8, ["must_include", "k"], {"must_include": ["h1", "h2"]},
     "3 must-include products (h1, h2, h3) cannot all be shown with k; not requiring h3 gives 8."),
    (dict(k=2, min_rating=4.0, must_include=["h2"]), 4, ["min_rating", "must_include"], {"min_rating": 3.9},
     "1 must-include product (h2) cannot be shown with the minimum rating; lowering the minimum rating to 3.9 "
     "gives 5."),
]


@pytest.mark.parametrize(("update", "feasible", "conflicts", "changes", "message"), CASES)
def test_relaxation_names_the_conflict_and_the_exact_smallest_change(update, feasible, conflicts, changes, message):
    c = Constraints(**update)
    relaxation = relax(catalog(), c)
    assert relaxation.feasible == feasible
    assert relaxation.conflicts == conflicts
    assert relaxation.changes == changes
    assert relaxation.message == message


@pytest.mark.parametrize(("update", "changes"), [(case[0], case[3]) for case in CASES])
@pytest.mark.parametrize("method", ["dinkelbach", "milp"])
def test_applying_the_relaxation_yields_k_products(method, update, changes):
    c = Constraints(**update)
    before = select(catalog(), c, method=method)
    assert before.report.relaxation is not None and before.report.relaxation.changes == changes
    assert before.report.relaxation.message in before.unmet
    after = select(catalog(), relaxed(c, changes), method=method)
    assert after.report.status == "OPTIMAL" and after.report.relaxation is None and after.unmet == []
    assert len(after.chosen) == changes.get("k", c.k)


@pytest.mark.parametrize(("update", "changes"), [(case[0], case[3]) for case in CASES if "k" not in case[3]])
def test_the_relaxation_is_minimal_one_step_less_is_not_enough(update, changes):
    """Tighten each relaxed numeric value to the next candidate value short of it: fewer than k remain."""
    c = Constraints(**update)
    prices = sorted({x.price for x in catalog() if x.price is not None})
    ratings = sorted({x.rating for x in catalog() if x.rating is not None})
    for name, value in changes.items():
        if name == "max_price":
            short = max(p for p in prices if p < (value or float("inf")))
        elif name == "min_price":
            short = min(p for p in prices if p > value)
        elif name == "min_rating":
            short = min(r for r in ratings if r > value) if value is not None else min(ratings)
        elif name == "max_per_brand":
            short = value - 1
        else:
            continue
        tighter = relaxed(c, {**changes, name: short})
        assert len(select(catalog(), tighter).chosen) < c.k or select(catalog(), tighter).report.status != "OPTIMAL"


def test_select_never_returns_a_silent_empty_list():
    for update in (dict(k=3, categories=["Clocks"]), dict(k=2, max_price=100), dict(k=2, must_include=["h4"],
                                                                                     max_price=2000)):
        result = select(catalog(), Constraints(**update))
        assert result.chosen == []
        assert result.report.relaxation is not None and result.report.relaxation.changes
        assert result.unmet


def test_no_candidates_at_all():
    relaxation = relax([], Constraints(k=3, max_price=100))
    assert relaxation.feasible == 0 and relaxation.changes == {}
    assert relaxation.message == "No candidates to choose from; widen the search query."


def test_a_must_include_product_missing_from_the_candidates_is_noted_not_a_conflict():
    result = select(catalog(), Constraints(k=2, must_include=["gone", "h3"]))
    assert "h3" in {x.product_id for x in result.chosen} and result.report.relaxation is None
    assert result.unmet == ["must-include product(s) not among the candidates: gone"]


def test_the_hard_filter_reports_every_constraint_a_product_breaks():
    c = Constraints(max_price=2000, min_rating=4.5, exclude_colours=["RED"], include_brands=["Titan"],
                    categories=["Smart Watches"], must_exclude=["h7"])
    h7 = next(x for x in catalog() if x.product_id == "h7")
    assert HardFilter(c).violations(h7) == {"max_price", "min_rating", "exclude_colours", "categories",
                                            "must_exclude"}  # 'TITAN' is in the brand list


def test_nothing_to_show_gives_the_list_under_the_smallest_relaxation_and_says_which():
    from tools.recommend.optimizer import select_or_relax

    c = Constraints(k=3, max_per_brand=None, include_brands=["Titan"], max_price=1000)  # Titan starts at 1,450
    selection, used, said = select_or_relax(catalog(), c)
    assert selection.chosen and all(x.brand.casefold() == "titan" for x in selection.chosen)
    assert used.max_price == 8995.0 and used.include_brands == ["Titan"]  # just enough for k=3 Titans
    assert said and "raising the budget to ₹8,995" in said
    # the wish said last is kept: with the brand list set in this message, the budget goes instead
    selection, used, said = select_or_relax(catalog(), c, keep=frozenset({"max_price", "min_price"}))
    assert used.max_price == 1000 and all((x.price or 0) <= 1000 for x in selection.chosen)
    assert selection.chosen and "Titan" not in {x.brand for x in selection.chosen}


def test_a_list_that_can_be_shown_is_not_relaxed():
    from tools.recommend.optimizer import select_or_relax

    c = Constraints(k=2, max_per_brand=None, max_price=1500)
    selection, used, said = select_or_relax(catalog(), c)
    assert said is None and used == c and {x.product_id for x in selection.chosen} <= {"h1", "h2", "h5"}

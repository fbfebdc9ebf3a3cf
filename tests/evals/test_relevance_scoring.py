"""The relevance eval's scoring (evals/relevance/scoring.py) on hand-made lists whose figures are worked out by
hand: category precision@5, attribute satisfaction@5 (unknown left out), budget and brand violations over the
whole list, whether a refinement took effect, and the split's figures against the targets."""

from __future__ import annotations

import pytest

from catalog.models import Product
from evals.relevance.scenarios import Expect, Scenario
from evals.relevance.scoring import THRESHOLDS, below, colour_ok, gender_ok, material_ok, score_turn, summarise


def _p(i: int, leaf: str, price: float | None, brand: str = "Acme", colour: str | None = None,
       title: str = "", specs: dict[str, str] | None = None) -> Product:
    return Product(id=f"p{i}", title=title or f"{brand} {leaf} {i}", brand=brand, category_path=["Shop", leaf],
                   price=price, colour=colour, specifications=specs or {})


WALLETS = [_p(1, "Wallets", 900, colour="Black"), _p(2, "Wallets", 1200, colour="Brown"),
           _p(3, "Belts", 500, colour="Black"), _p(4, "Wallets", 700), _p(5, "Wallets", 1600, colour="Black"),
           _p(6, "Belts", 2500, brand="Hidesign", colour="Black")]  # #6 is outside the top 5


def _score(expect: dict, shown: list[Product], previous: list[Product] | None = None):
    return score_turn("s", 1, "words", Expect(**expect), shown, previous, 0.1)


def test_category_precision_counts_the_top_five_only():
    score = _score({"category": ["Wallets"]}, WALLETS)
    assert score.category_precision == pytest.approx(4 / 5)
    assert score.failures == ["category: 1 of 5 not Wallets"]
    assert _score({"category": ["Shop"]}, WALLETS).category_precision == 1.0  # any level of the path


def test_an_empty_list_scores_zero_and_is_a_failure():
    score = _score({"category": ["Wallets"], "colour": ["black"]}, [])
    assert score.category_precision == 0.0 and score.attribute_satisfaction == 0.0 and score.failures


def test_attribute_satisfaction_leaves_out_products_that_record_nothing():
    score = _score({"colour": ["black"]}, WALLETS)  # #4 records no colour: 3 black of the 4 that say
    assert score.attribute_satisfaction == pytest.approx(3 / 4) and score.attribute_unknown == 1


def test_attribute_tests_read_the_catalog_record():
    assert colour_ok(_p(1, "Bags", 1, title="Navy blue bag"), ["blue"]) is True  # the title counts
    assert colour_ok(_p(1, "Bags", 1, colour="Red"), ["blue"]) is False
    assert colour_ok(_p(1, "Bags", 1), ["blue"]) is None
    assert material_ok(_p(1, "Bags", 1, specs={"Material": "Genuine Leather"}), ["leather"]) is True
    assert material_ok(_p(1, "Bags", 1, specs={"Material": "PU"}), ["leather"]) is False
    assert gender_ok(_p(1, "Shirts", 1, title="Roadster Women Checked Shirt"), "men") is False
    assert gender_ok(_p(1, "Shirts", 1, specs={"Ideal For": "Men"}), "men") is True
    assert gender_ok(_p(1, "Mugs", 1, title="Coffee Mug"), "men") is None


def test_budget_and_brand_violations_are_counted_over_the_whole_list():
    score = _score({"max_price": 1500, "brand_not": ["hidesign"]}, WALLETS)
    assert score.budget_violations == 2  # #5 at 1,600 and #6 at 2,500
    assert score.brand_violations == 1  # #6, past the top 5
    only = _score({"brand_only": ["Acme"], "min_price": 800}, WALLETS)
    assert only.brand_violations == 1 and only.budget_violations == 2  # #3 at 500, #4 at 700
    assert _score({"max_price": 1500}, [_p(9, "Wallets", None)]).budget_violations == 0  # no price, no claim


@pytest.mark.parametrize(("direction", "now", "honoured"), [
    ("cheaper", [_p(7, "Wallets", 400), _p(8, "Wallets", 600)], True),
    ("cheaper", [_p(7, "Wallets", 2000)], False),
    ("pricier", [_p(7, "Wallets", 2000)], True),
    ("pricier", [_p(7, "Wallets", 972)], False),  # the mean of the previous top 5 is 980
])
def test_a_price_refinement_must_move_the_mean_price_of_the_top_five(direction, now, honoured):
    score = _score({"direction": direction}, now, previous=WALLETS)
    assert score.refinement == direction and score.refinement_honoured is honoured


def test_a_price_refinement_without_a_list_before_is_not_honoured():
    assert _score({"direction": "cheaper"}, WALLETS, previous=None).refinement_honoured is False


def test_more_like_n_needs_four_fifths_of_the_others_in_the_category_of_n():
    previous = WALLETS
    like = [WALLETS[0], _p(7, "Wallets", 1), _p(8, "Wallets", 1), _p(9, "Wallets", 1), _p(10, "Belts", 1)]
    assert _score({"like": 2}, like, previous).refinement_honoured is True  # 4 of 5 are wallets
    assert _score({"like": 3}, like, previous).refinement_honoured is False  # #3 is a belt: 1 of 5
    assert _score({"like": 9}, like, previous).refinement_honoured is False  # no such product


def test_expectations_carry_over_and_one_turn_keys_do_not():
    scenario = Scenario(id="s", turns=[
        {"say": "a", "expect": {"category": ["Wallets"], "max_price": 1500}},
        {"say": "b", "expect": {"direction": "cheaper"}},
        {"say": "c", "expect": {"max_price": None, "colour": ["brown"]}}])
    first, second, third = scenario.expectations()
    assert second.category == ["Wallets"] and second.max_price == 1500 and second.direction == "cheaper"
    assert third.max_price is None and third.direction is None and third.colour == ["brown"]


def test_the_summary_and_the_targets():
    good = _score({"category": ["Wallets", "Belts"], "max_price": 3000}, WALLETS)
    bad = _score({"category": ["Wallets"], "max_price": 1000, "direction": "pricier"}, WALLETS,
                 previous=[_p(9, "Wallets", 5000)])
    figures = summarise([good, bad])
    assert figures["category_precision@5"] == pytest.approx((1.0 + 0.8) / 2)
    assert figures["budget_violations"] == 3 and figures["refinements_honoured"] == 0.0
    assert figures["turns"] == 2 and figures["scenarios"] == 1
    missed = below(figures)
    assert any(m.startswith("budget_violations 3") for m in missed)
    assert any(m.startswith("refinements_honoured") for m in missed)
    assert not any(m.startswith("category_precision") for m in missed)  # 0.9 meets the 0.90 target
    assert below(summarise([good])) == [] and THRESHOLDS["brand_violations"] == 0

"""Preference changes in chat (tools/recommend/preferences.py): each request changes exactly what it says."""

from __future__ import annotations

import pytest

from catalog.models import Product
from tools.recommend.preferences import CHEAPER_FACTOR, PreferenceError, PreferenceUpdate, apply_update, describe
from tools.schemas import Constraints, Recommendation

BRANDS = ["Titan", "Fastrack", "Sonata", "Casio"]


def _rec(rank: int, product_id: str, price: float, brand: str) -> Recommendation:
    return Recommendation(rank=rank, product_id=product_id, title=f"{brand} watch {product_id}", brand=brand,
                          price=price, currency="INR", score=0.1, reasons=[])


SHOWN = [_rec(1, "w1", 1200, "Titan"), _rec(2, "w2", 1500, "Fastrack"), _rec(3, "w3", 2500, "Sonata")]
PRODUCTS = {
    "w1": Product(id="w1", title="Titan watch", category_path=["Watches", "Wrist Watches"], colour="Black"),
    "w2": Product(id="w2", title="Fastrack watch", category_path=["Watches", "Wrist Watches"], colour="Blue"),
    "w3": Product(id="w3", title="Sonata watch", category_path=["Watches", "Smart Watches"]),
}
CURRENT = Constraints(k=5, query="wrist watch", categories=["Wrist Watches"], min_price=1000, max_price=3000,
                      preferred_brands=["Titan"], max_per_brand=2)


def _apply(update: PreferenceUpdate, current: Constraints = CURRENT, base: Constraints | None = None):
    return apply_update(current, update, base=base, shown=SHOWN, brands=BRANDS, products=PRODUCTS)


def test_cheaper_sets_the_budget_below_the_median_price_shown_and_drops_the_floor():
    new, changes = _apply(PreferenceUpdate(cheaper=True))
    assert new.max_price == pytest.approx(CHEAPER_FACTOR * 1500)
    assert new.min_price is None
    assert "budget now up to ₹1,350" in changes[0]
    assert new.categories == CURRENT.categories  # nothing else moved


def test_a_budget_below_the_floor_removes_the_floor():
    new, _ = _apply(PreferenceUpdate(max_price=800))
    assert (new.min_price, new.max_price) == (None, 800)


def test_a_floor_above_the_budget_is_refused():
    with pytest.raises(PreferenceError, match="above the budget"):
        _apply(PreferenceUpdate(min_price=5000))


def test_brands_are_resolved_to_the_catalog_spelling_and_only_and_not_exclude_each_other():
    only, _ = _apply(PreferenceUpdate(only_brands=["Fas Track"]))
    assert only.include_brands == ["Fastrack"]
    both, _ = _apply(PreferenceUpdate(exclude_brands=["FASTRACK"]), current=only)
    assert both.include_brands == [] and both.exclude_brands == ["Fastrack"]
    dropped, changes = _apply(PreferenceUpdate(exclude_brands=["titan"]))
    assert dropped.preferred_brands == [] and changes == ["no Titan"]


def test_an_unknown_brand_names_close_ones():
    with pytest.raises(PreferenceError, match="no brand 'casi0'.*Casio"):
        _apply(PreferenceUpdate(exclude_brands=["casi0"]))


def test_another_colour_avoids_the_colours_on_show():
    new, changes = _apply(PreferenceUpdate(another_colour=True))
    assert new.exclude_colours == ["Black", "Blue"]
    assert "other colours than Black, Blue" in changes[0]


def test_colour_preferences_and_exclusions_do_not_contradict():
    avoid, _ = _apply(PreferenceUpdate(exclude_colours=["black"]))
    prefer, _ = _apply(PreferenceUpdate(prefer_colours=["black"]), current=avoid)
    assert prefer.preferred_colours == ["Black"] and prefer.exclude_colours == []


def test_more_like_a_product_searches_its_title_in_its_leaf_category_without_it():
    new, _ = _apply(PreferenceUpdate(like_rank=3))
    assert new.query == SHOWN[2].title
    assert new.categories == ["Smart Watches"]
    assert "w3" in new.must_exclude


def test_an_unknown_product_number_is_refused_with_the_range():
    with pytest.raises(PreferenceError, match=r"no product #7.*#1-#3"):
        _apply(PreferenceUpdate(like_rank=7))


def test_start_over_returns_to_the_browsed_preferences():
    base = CURRENT.model_copy()
    changed, _ = _apply(PreferenceUpdate(exclude_brands=["Sonata"], max_price=900))
    reset, changes = _apply(PreferenceUpdate(reset=True), current=changed, base=base)
    assert reset == base
    assert changes == ["started over from what you browsed"]


def test_a_new_search_replaces_the_browsed_category():
    new, _ = _apply(PreferenceUpdate(query="coffee mug"))
    assert new.query == "coffee mug" and new.categories == []


def test_an_empty_update_is_refused():
    with pytest.raises(PreferenceError, match="no change"):
        _apply(PreferenceUpdate())


def test_bad_values_are_refused_by_the_schema():
    with pytest.raises(ValueError):
        PreferenceUpdate(max_price=-5)
    with pytest.raises(ValueError):
        PreferenceUpdate(k=0)


def test_describe_names_every_active_constraint():
    text = describe(CURRENT.model_copy(update={"exclude_brands": ["Sonata"], "min_rating": 4.0}))
    for part in ("Wrist Watches", "₹1,000-₹3,000", "no Sonata", "rated 4+", "at most 2 per brand", "5 products"):
        assert part in text

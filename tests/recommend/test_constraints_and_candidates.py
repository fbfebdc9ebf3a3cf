"""From summary to constraints (tools.recommend.constraints), candidate retrieval and utilities
(tools.recommend.candidates), and the reasons shown with each recommendation (tools.recommend.explain)."""

from __future__ import annotations

import math

import pytest

from catalog.models import Product
from catalog.store import CatalogStore
from tools.recommend.candidates import WEIGHTS, _price_fit, retrieve
from tools.recommend.constraints import DEFAULT_MAX_PER_BRAND, DEFAULT_PRICE_TOLERANCE, constraints_from_summary
from tools.recommend.explain import recommendations
from tools.recommend.optimizer import select
from tools.schemas import (
    BehaviorSummary,
    Candidate,
    Constraints,
    Evidence,
    PriceRange,
    ProductCharacteristics,
)


def ev(value: str, *frame_ids: str, count: int = 1) -> Evidence:
    return Evidence(value=value, frame_ids=list(frame_ids), count=count)


def watch_summary(**overrides) -> BehaviorSummary:
    fields = {
        "product_characteristics": ProductCharacteristics(
            types=[ev("Wrist Watches", "s:2", "s:5", count=2), ev("Smart Watches", "s:7")],
            colours=[ev("Navy Blue", "s:5"), ev("black", "s:2"), ev("silver", "s:7")],
        ),
        "price_range": PriceRange(lowest=595, highest=2499, frame_ids=["s:2", "s:5"], confidence=0.9),
        "brand_preferences": [ev("Titan", "s:2", "s:9", count=2), ev("Maxima", "s:5")],
        "search_queries": [ev("analog watch", "s:1"), ev("men's watch", "s:3"), ev("gift", "s:4")],
        "summariser": "test",
    }
    fields.update(overrides)
    return BehaviorSummary(**fields)


# -- constraints_from_summary -----------------------------------------------------------------------------
def test_strongest_type_becomes_the_hard_category():
    c = constraints_from_summary(watch_summary())
    assert c.categories == ["Wrist Watches"]
    assert c.provenance["categories"] == ["s:2", "s:5"]


def test_price_band_is_the_browsed_band_widened_by_the_tolerance():
    c = constraints_from_summary(watch_summary())
    assert DEFAULT_PRICE_TOLERANCE == 0.15
    assert c.min_price == pytest.approx(595 * 0.85)
    assert c.max_price == pytest.approx(2499 * 1.15)
    assert c.provenance["price"] == ["s:2", "s:5"]
    exact = constraints_from_summary(watch_summary(), price_tolerance=0.0)
    assert (exact.min_price, exact.max_price) == (595, 2499)
    wide = constraints_from_summary(watch_summary(), price_tolerance=0.5)
    assert (wide.min_price, wide.max_price) == (297.5, 3748.5)


def test_brands_and_colours_are_soft_preferences_with_per_value_provenance():
    c = constraints_from_summary(watch_summary())
    assert c.preferred_brands == ["Titan", "Maxima"]
    assert c.preferred_colours == ["Navy Blue", "black", "silver"]
    assert c.include_brands == [] and c.exclude_brands == []  # seen brands never become a hard filter
    assert c.provenance["brand:titan"] == ["s:2", "s:9"]
    assert c.provenance["brand:maxima"] == ["s:5"]
    assert c.provenance["colour:navy blue"] == ["s:5"]
    assert c.provenance["colour:black"] == ["s:2"]


def test_query_mixes_type_colours_and_search_terms():
    c = constraints_from_summary(watch_summary())
    assert c.query == "Wrist Watches Navy Blue black analog watch men's watch"


def test_k_and_brand_cap_are_passed_through():
    c = constraints_from_summary(watch_summary(), k=7)
    assert c.k == 7
    assert c.max_per_brand == DEFAULT_MAX_PER_BRAND == 2
    assert constraints_from_summary(watch_summary(), max_per_brand=None).max_per_brand is None
    assert c.objective == "relevance" and c.selection == "ranking"


def test_an_empty_summary_constrains_nothing():
    c = constraints_from_summary(BehaviorSummary(summariser="test"))
    assert c.categories == [] and c.min_price is None and c.max_price is None
    assert c.preferred_brands == [] and c.preferred_colours == []
    assert c.query == ""
    assert "categories" not in c.provenance and "price" not in c.provenance


def test_a_half_open_price_range_sets_no_band():
    c = constraints_from_summary(watch_summary(price_range=PriceRange(lowest=500, frame_ids=["s:1"])))
    assert c.min_price is None and c.max_price is None and "price" not in c.provenance


# -- price fit ---------------------------------------------------------------------------------------------
BAND = Constraints(min_price=1000, max_price=3000)


@pytest.mark.parametrize(
    ("price", "expected"),
    [(2000, 1.0), (1000, 0.0), (3000, 0.0), (1500, 0.5), (2500, 0.5), (2250, 0.75), (999, 0.0), (5000, 0.0),
     (None, 0.0)],
)
def test_price_fit_peaks_at_the_centre_of_the_band(price, expected):
    assert _price_fit(price, BAND) == pytest.approx(expected)


def test_price_fit_without_a_band_or_with_a_point_band():
    assert _price_fit(1500, Constraints()) == 0.0
    assert _price_fit(1500, Constraints(min_price=1000)) == 0.0
    point = Constraints(min_price=999, max_price=999)
    assert _price_fit(999, point) == 1.0
    assert _price_fit(1000, point) == 0.0


# -- retrieval from a real catalog store ---------------------------------------------------------------
WRIST = ["Watches", "Wrist Watches"]
PRODUCTS = [
    Product(id="w1", title="Titan Analog Black Dial Men's Watch", brand="Titan", category_path=WRIST, price=1450,
            rating=4.3, colour="Black"),
    Product(id="w2", title="Maxima Analog Silver Dial Watch", brand="Maxima", category_path=WRIST, price=595,
            rating=3.9, colour="Silver"),
    Product(id="w3", title="Fastrack Leather Strap Analog Watch", brand="Fastrack", category_path=WRIST,
            price=2499, rating=4.0),
    Product(id="w4", title="Titan Raga Women's Gold Watch", brand="Titan", category_path=WRIST, price=8995,
            rating=4.7, colour="Gold"),  # over the band
    Product(id="w5", title="Sonata Quartz Analog Watch", brand="Sonata", category_path=WRIST, price=350),  # under
    Product(id="w6", title="Noise Smart Watch with Heart Rate Monitor", brand="Noise",
            category_path=["Watches", "Smart Watches"], price=1999, rating=4.1),  # other category
    Product(id="m1", title="Borosil Black Ceramic Coffee Mug", brand="Borosil",
            category_path=["Kitchen", "Coffee Mugs"], price=899, rating=4.0, colour="Black"),
    Product(id="w7", title="TITAN Steel Analog Watch", brand="TITAN", category_path=WRIST, price=2100),  # unrated
    Product(id="w8", title="Timex Analog Watch, price on request", brand="Timex", category_path=WRIST),
]
IN_BAND_WRIST = {"w1", "w2", "w3", "w7"}


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> CatalogStore:
    s = CatalogStore.open(tmp_path_factory.mktemp("catalog"))
    s.upsert(PRODUCTS)
    return s


def watch_constraints(**overrides) -> Constraints:
    fields = {
        "query": "analog wrist watch", "categories": ["Wrist Watches"], "min_price": 500, "max_price": 3000,
        "provenance": {"categories": ["s:2"], "price": ["s:2", "s:3"], "brand:titan": ["s:4", "s:11"],
                       "colour:black": ["s:6"]},
    }
    fields.update(overrides)
    return Constraints(**fields)


def test_retrieve_never_violates_the_hard_category_and_price_filters(store):
    candidates = retrieve(store, watch_constraints())
    assert {c.product_id for c in candidates} == IN_BAND_WRIST
    for c in candidates:
        assert "Wrist Watches" in c.category_path
        assert c.price is not None and 500 <= c.price <= 3000


def test_retrieve_category_filter_ignores_case_and_matches_any_level(store):
    assert {c.product_id for c in retrieve(store, watch_constraints(categories=["wrist watches"]))} == IN_BAND_WRIST
    top = {c.product_id for c in retrieve(store, watch_constraints(categories=["Watches"]))}
    assert top == IN_BAND_WRIST | {"w6"}


def test_retrieve_honours_exclusions(store):
    got = retrieve(store, watch_constraints(must_exclude=["w1"], exclude_brands=["fastrack"]), exclude_ids=["w2"])
    assert {c.product_id for c in got} == {"w7"}


def test_retrieve_honours_include_brands_and_min_rating(store):
    titan = retrieve(store, watch_constraints(include_brands=["Titan"]))
    assert {c.product_id for c in titan} == {"w1", "w7"}  # 'TITAN' is the same brand
    rated = retrieve(store, watch_constraints(min_rating=4.0))
    assert {c.product_id for c in rated} == {"w1", "w3"}


def test_preferred_brand_raises_utility_by_its_weight(store):
    plain = {c.product_id: c for c in retrieve(store, watch_constraints())}
    liked = {c.product_id: c for c in retrieve(store, watch_constraints(preferred_brands=["titan"]))}
    for pid in ("w1", "w7"):  # 'Titan' and 'TITAN'
        assert liked[pid].utility == pytest.approx(plain[pid].utility * math.exp(WEIGHTS["brand"]))
        assert liked[pid].matches[f"brand {liked[pid].brand}"] == ["s:4", "s:11"]
    for pid in ("w2", "w3"):
        assert liked[pid].utility == pytest.approx(plain[pid].utility)
        assert not any(m.startswith("brand") for m in liked[pid].matches)


def test_preferred_colour_raises_utility_and_cites_its_frames(store):
    plain = {c.product_id: c for c in retrieve(store, watch_constraints())}
    liked = {c.product_id: c for c in retrieve(store, watch_constraints(preferred_colours=["Black"]))}
    assert liked["w1"].utility == pytest.approx(plain["w1"].utility * math.exp(WEIGHTS["colour"]))
    assert liked["w1"].matches["colour black"] == ["s:6"]
    assert liked["w2"].utility == pytest.approx(plain["w2"].utility)


def test_utility_follows_the_documented_formula(store):
    c = watch_constraints(preferred_brands=["Titan"])
    w1 = next(x for x in retrieve(store, c) if x.product_id == "w1")
    expected = (WEIGHTS["similarity"] * w1.similarity + WEIGHTS["brand"] + WEIGHTS["rating"] * (4.3 - 3) / 2
                + WEIGHTS["price_fit"] * _price_fit(1450, c))
    assert w1.utility == pytest.approx(math.exp(expected), rel=1e-5)
    assert -1.0 <= w1.similarity <= 1.0
    assert w1.matches["category Wrist Watches"] == ["s:2"]
    assert w1.matches["price in your range"] == ["s:2", "s:3"]


@pytest.mark.parametrize(
    ("objective", "weight", "value_of"),
    [("relevance", 0.5, lambda price: 1.0), ("revenue", 0.5, lambda price: price),
     ("mixed", 0.5, lambda price: 0.5 + 0.5 * price / 3000), ("mixed", 0.2, lambda price: 0.8 + 0.2 * price / 3000),
     ("mixed", 1.0, lambda price: price / 3000), ("mixed", 0.0, lambda price: 1.0)],
)
def test_value_per_objective(store, objective, weight, value_of):
    candidates = retrieve(store, watch_constraints(objective=objective, revenue_weight=weight))
    assert len(candidates) == 4
    for c in candidates:  # mixed: (1 - w) + w * price / budget (max_price 3000)
        assert c.value == pytest.approx(value_of(c.price))


def test_mixed_value_without_a_budget_is_relative_to_the_dearest_retrieved(store):
    c = watch_constraints(objective="mixed", revenue_weight=0.4, max_price=None)
    candidates = retrieve(store, c)
    top = max(x.price for x in candidates)
    assert top == 8995
    for x in candidates:
        assert x.value == pytest.approx(0.6 + 0.4 * x.price / top)


def test_retrieve_carries_the_colour_and_drops_excluded_colours(store):
    got = {c.product_id: c for c in retrieve(store, watch_constraints())}
    assert got["w1"].colour == "Black" and got["w3"].colour is None
    assert set(retrieve_ids(store, watch_constraints(exclude_colours=["BLACK"]))) == IN_BAND_WRIST - {"w1"}


def retrieve_ids(store, constraints, **kwargs) -> list[str]:
    return [c.product_id for c in retrieve(store, constraints, **kwargs)]


def test_retrieve_without_hard_filters_sees_what_they_exclude_but_not_excluded_ids(store):
    broad = set(retrieve_ids(store, watch_constraints(), exclude_ids=["w2"], hard_filters=False))
    assert broad == {p.id for p in PRODUCTS} - {"w2"}


def test_an_unfiltered_addition_shares_one_value_scale_with_the_filtered_pool(store):
    c = watch_constraints(objective="mixed", revenue_weight=0.4, max_price=None)
    pool = retrieve(store, c, unfiltered_pool=20)
    top = max(x.price or 0 for x in pool)
    for x in pool:
        assert x.value == pytest.approx(0.6 + 0.4 * (x.price or 0) / top)


def test_matches_only_name_what_the_product_meets(store):
    c = watch_constraints(min_rating=4.0, include_brands=["titan", "Noise"],
                          provenance={"categories": ["s:2"], "price": ["s:3"], "brand:titan": ["s:4"],
                                      "min_rating": ["s:8"]})
    got = {x.product_id: x.matches for x in retrieve(store, c, hard_filters=False)}
    assert got["w1"] == {"brand Titan": ["s:4"], "category Wrist Watches": ["s:2"], "price in your range": ["s:3"],
                         "rating of 4 or more": ["s:8"]}
    assert got["w6"] == {"brand Noise": [], "price in your range": ["s:3"],  # a smart watch: no category match
                         "rating of 4 or more": ["s:8"]}
    assert "price in your range" not in got["w4"] and "rating of 4 or more" not in got["w7"]  # too dear; unrated


def test_a_broad_pool_lets_the_optimiser_suggest_the_smallest_relaxation(store):
    c = watch_constraints(k=5)
    pool = retrieve(store, c, unfiltered_pool=20)
    assert len({x.product_id for x in pool}) == len(pool) == len(PRODUCTS)  # merged once, no duplicates
    selection = select(pool, c)
    assert {x.product_id for x in selection.chosen} == IN_BAND_WRIST
    relaxation = selection.report.relaxation
    # -30% on the minimum price (Sonata, 350) beats adding a category (+50%) or a budget of 8,995 (+200%)
    assert relaxation.changes == {"min_price": 350.0} and relaxation.conflicts == ["min_price"]
    assert relaxation.message == "Only 4 products from ₹500 up match; lowering the minimum price to ₹350 gives 5."
    assert relaxation.message in selection.unmet


def test_reasons_from_retrieval_cite_the_screenshots(store):
    c = watch_constraints(k=2, preferred_brands=["Titan"], min_rating=4.0)
    recs = recommendations(select(retrieve(store, c), c), c)
    titan = next(r for r in recs if r.product_id == "w1")
    assert "matches the brand Titan you viewed (screenshots #4, #11)" in titan.reasons
    assert "matches the category Wrist Watches you viewed (screenshots #2)" in titan.reasons
    assert "₹1,450 is within your ₹500-₹3,000 band (screenshots #2, #3)" in titan.reasons


def test_retrieved_candidates_feed_the_optimiser(store):
    c = watch_constraints(k=3, preferred_brands=["Titan"], max_per_brand=1)
    chosen = select(retrieve(store, c), c).chosen
    assert len(chosen) == 3
    assert sum(1 for x in chosen if (x.brand or "").casefold() == "titan") == 1


# -- explanations ------------------------------------------------------------------------------------------
def _candidate(pid: str, matches: dict[str, list[str]], price: float = 1450.0, rating: float | None = 4.3,
               utility: float = 2.0) -> Candidate:
    return Candidate(product_id=pid, title=f"Watch {pid}", brand="Titan", price=price, currency="INR",
                     category_path=WRIST, rating=rating, similarity=0.8123, utility=utility, value=1.0,
                     matches=matches)


def test_reasons_cite_the_screenshots_each_preference_came_from():
    c = Constraints(query="analog watch", min_price=505.75, max_price=2873.85)
    cands = [
        _candidate("a", {"brand Titan": ["sess:12", "sess:3"], "price in your range": ["sess:2"],
                         "category Wrist Watches": ["sess:2", "sess:5", "sess:7", "sess:8", "sess:9"]}),
        _candidate("b", {"colour black": []}, price=999.0, rating=None, utility=1.0),
    ]
    selection = select(cands, Constraints(k=2))
    recs = recommendations(selection, c)
    assert [r.rank for r in recs] == [1, 2]
    assert [r.product_id for r in recs] == ["a", "b"]
    first = recs[0].reasons
    assert "matches the brand Titan you viewed (screenshots #3, #12)" in first  # numeric order
    assert "₹1,450 is within your ₹506-₹2,874 band (screenshots #2)" in first
    assert "matches the category Wrist Watches you viewed (screenshots #2, #5, #7, #8 ...)" in first
    assert "rated 4.3/5" in first
    assert "semantic match 0.81 to 'analog watch'" in first
    second = recs[1].reasons
    assert "matches the colour black you viewed" in second  # no frames: no citation
    assert not any("rated" in reason for reason in second)


def test_recommendation_scores_are_the_choice_probabilities():
    cands = [_candidate("a", {}, utility=3.0), _candidate("b", {}, utility=1.0)]
    selection = select(cands, Constraints(k=2))
    recs = recommendations(selection, Constraints(k=2))
    assert [r.score for r in recs] == [pytest.approx(3 / 5, abs=1e-6), pytest.approx(1 / 5, abs=1e-6)]
    assert all(r.currency == "INR" and r.brand == "Titan" for r in recs)


def test_session_candidates_join_the_pool_under_the_hard_filters_and_only_once(store):
    from tools.recommend.candidates import with_session_candidates

    constraints = watch_constraints()
    pool = [c for c in retrieve(store, constraints, pool=4) if c.product_id != "w3"]
    held = {c.product_id for c in pool}
    scores = {"w4": 9.0, "w5": 8.0, "w6": 7.0, "m1": 6.0, "w3": 5.0, "w7": 4.0, "w2": 0.0, **{p: 1.0 for p in held}}
    got = with_session_candidates(store, pool, constraints, scores, exclude_ids=["w7"], n=10,
                                  brands={"fastrack": 0.5}, brand_weight=0.5)
    added = [c.product_id for c in got[len(pool):]]
    # w4, w5 break the price band, w6 and m1 the category, w7 is excluded, w2 scored 0; the pool is kept as it was
    assert got[:len(pool)] == pool and added == ["w3"]
    assert len({c.product_id for c in got}) == len(got)
    for c in got[len(pool):]:  # no similarity: the seen-brand term (and the rating) only
        assert c.similarity == 0.0 and any(k.startswith("brand seen") for k in c.matches)
    assert with_session_candidates(store, pool, constraints, scores, n=0) == pool

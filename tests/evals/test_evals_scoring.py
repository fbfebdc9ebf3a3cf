"""The reader-accuracy eval's scoring (evals/reader/scoring.py, evals/reader/accuracy.py): normalisation,
matching, sampling and aggregation, on hand-computed cases. No browser and no OCR run here."""

from __future__ import annotations

import pytest

from evals.reader.accuracy import reading_summary, score_demo_listing, score_demo_product, score_zyte_page
from evals.reader.scoring import (
    MAX_MISSES,
    Scoreboard,
    Tally,
    allocate,
    any_brand,
    box_inside,
    brand_correct,
    brand_shown,
    card_price_recall,
    format_table,
    leaf_correct,
    listing_categories,
    numbers_in,
    percentile,
    price_candidates,
    price_close,
    price_shown,
    rating_correct,
    same_rupee,
    shown_rating,
    status,
    stratified_sample,
    title_exact,
    title_ratio,
)
from evals.reader.screens import Shot
from tools.perception.parsing import Price
from tools.perception.screen_reader import FrameReading


# -- normalisation and field matching -------------------------------------------------------------------
def test_titles_match_after_case_and_whitespace_normalisation():
    assert title_exact("  maxima   ANALOG\nwatch ", "Maxima Analog Watch")
    assert title_exact("Ｍaxima Watch", "Maxima Watch")  # full-width letters fold (NFKC)
    assert not title_exact("Maxima Analog", "Maxima Analog Watch")
    assert not title_exact(None, "Maxima")


def test_title_ratio_is_difflibs_ratio_on_normalised_text():
    assert title_ratio("abcd", "abce") == pytest.approx(0.75)  # 2 * 3 matching / 8 characters
    assert title_ratio("MAXIMA analog watc", "Maxima Analog Watch") == pytest.approx(36 / 37)
    assert title_ratio(None, "Maxima") == 0.0
    assert title_ratio("", "Maxima") == 0.0


def test_prices_are_exact_to_the_rupee():
    assert same_rupee(595.0, 595)
    assert same_rupee(594.6, 595)
    assert not same_rupee(594.0, 595)
    assert not same_rupee(5950.0, 595)
    assert not same_rupee(None, 595)
    assert same_rupee(None, None)  # 'Currently unavailable' read as no price
    assert not same_rupee(5.0, None)


def test_brand_is_case_insensitive_and_no_brand_is_right_when_none_is_read():
    assert brand_correct("maxima", "Maxima")
    assert brand_correct(" MAXIMA ", "Maxima")
    assert not brand_correct("Titan", "Maxima")
    assert not brand_correct(None, "Maxima")
    assert brand_correct(None, None)
    assert brand_correct("", None)
    assert brand_correct(None, "  ")
    assert not brand_correct("Maxima", None)


def test_leaf_category_is_the_last_crumb():
    assert leaf_correct(["Watches", "Wrist Watches"], "wrist watches")
    assert not leaf_correct(["Wrist Watches", "Watches"], "Wrist Watches")
    assert not leaf_correct([], "Watches")


def test_rating_is_compared_as_the_badge_shows_it():
    assert shown_rating(4.25) == 4.2  # the shop formats with '.1f': 4.25 is binary-exact and rounds to even
    assert shown_rating(4.35) == 4.3
    assert rating_correct(4.2, 4.25)
    assert not rating_correct(4.3, 4.25)
    assert rating_correct(4.0, 4)
    assert not rating_correct(None, 4)


# -- real pages: ground-truth price strings ---------------------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), [
    ("87.11", [87.11]),
    ("131990 ", [131990.0]),
    ("1.759,99", [1759.99]),
    ("1,759.99", [1759.99]),
    ("23.450", [23.45, 23450.0]),  # decimal point or thousands separator: both readings are accepted
    ("1,299", [1.299, 1299.0]),
    ("€ 12,50", [12.5]),
    ("1.234.567", [1234567.0]),
    ("12.", [12.0]),
    ("n/a", []),
])
def test_price_candidates(text, expected):
    assert price_candidates(text) == pytest.approx(expected)


def test_price_close_within_one_percent():
    assert price_close(87.11, [87.11])
    assert price_close(87.9, [87.11])  # 0.91% off
    assert not price_close(88.1, [87.11])  # 1.14% off
    assert price_close(23450.0, [23.45, 23450.0])
    assert price_close(0.0, [0.0])
    assert not price_close(None, [87.11])
    assert not price_close(87.11, [])


def test_any_brand_against_the_accepted_values():
    assert any_brand("ikea", ["IKEA"])
    assert any_brand("Tikkers", ["Tikkers "])
    assert any_brand("kärcher", ["KÄRCHER"])
    assert not any_brand(None, ["IKEA"])
    assert not any_brand("", ["", "IKEA"])
    assert not any_brand("IKEA", [""])


def test_numbers_and_values_on_screen():
    assert numbers_in("EUR 1.299,00 (-10%)") == [10.0, 1299.0]
    assert numbers_in("no digits") == []
    assert price_shown(["Add to basket", "Price: $87.11"], [87.11])
    assert not price_shown(["$88.50", "86"], [87.11])  # 1.6% and 1.3% off
    assert price_shown(["87"], [87.11])  # within 1%
    assert brand_shown(["Visit the", "by  KÄRCHER  Store"], ["Kärcher"])
    assert not brand_shown(["Visit the store"], ["Kärcher"])
    assert not brand_shown(["anything"], [""])


# -- listings ---------------------------------------------------------------------------------------------
def test_card_price_recall_counts_each_read_amount_once():
    assert card_price_recall([99, 219, 319, 339], [99, 219, 319]) == 3
    assert card_price_recall([499, 499], [499]) == 1
    assert card_price_recall([499], [499, 499]) == 1
    assert card_price_recall([99.0], [99.4]) == 1  # to the rupee
    assert card_price_recall([], [99]) == 0


def test_box_inside_the_viewport():
    assert box_inside({"x": 0, "y": 700, "width": 100, "height": 100}, 1280, 800)  # touching the bottom edge
    assert not box_inside({"x": 0, "y": 701, "width": 100, "height": 100}, 1280, 800)
    assert not box_inside({"x": -1, "y": 10, "width": 100, "height": 20}, 1280, 800)
    assert not box_inside({"x": 1200, "y": 10, "width": 100, "height": 20}, 1280, 800)
    assert not box_inside(None, 1280, 800)


# -- aggregation ------------------------------------------------------------------------------------------
def test_percentile_interpolates_between_ranks():
    assert percentile([1, 2, 3, 4], 0.5) == 2.5
    assert percentile([4, 1, 3, 2], 0.95) == pytest.approx(3.85)  # position 2.85 between 3 and 4
    assert percentile([5.0], 0.95) == 5.0
    assert percentile([], 0.5) is None


def test_allocate_by_largest_remainder_with_one_per_stratum():
    assert allocate({"a": 50, "b": 30, "c": 20}, 10) == {"a": 5, "b": 3, "c": 2}
    # quotas 3.5, 1.0, 0.5 -> 3, 1, 0 -> 'a' wins the tie on remainders by name -> 4, 1, 0 -> 'c' gets one from 'a'
    assert allocate({"a": 7, "b": 2, "c": 1}, 5) == {"a": 3, "b": 1, "c": 1}
    # fewer draws than strata: no minimum of one
    assert allocate({"a": 5, "b": 3, "c": 2}, 2) == {"a": 1, "b": 1, "c": 0}
    assert allocate({"a": 2, "b": 1}, 10) == {"a": 2, "b": 1}  # capped at the population
    assert allocate({"a": 2, "b": 1}, 0) == {"a": 0, "b": 0}


def test_stratified_sample_is_deterministic_and_proportional():
    items = [("a", f"a{i}") for i in range(4)] + [("b", f"b{i}") for i in range(2)]

    def draw(seed: int) -> list:
        return stratified_sample(items, 3, stratum=lambda x: x[0], key=lambda x: x[1], seed=seed)

    first = draw(7)
    assert first == draw(7)
    assert [x[0] for x in first] == ["a", "a", "b"]  # quotas 2 and 1; strata in name order
    assert len(set(first)) == 3
    assert set(first) <= set(items)
    assert list(reversed(items)) != items and stratified_sample(
        list(reversed(items)), 3, stratum=lambda x: x[0], key=lambda x: x[1], seed=7) == first  # input order


def test_listing_categories_round_robin_over_top_categories():
    paths = ([["Watches", "Wrist Watches"]] * 5 + [["Watches", "Smart Watches"]] * 4 + [["Watches", "Clocks"]]
             + [["Kitchen", "Mugs"]] * 4 + [["Kitchen", "Pans"]] * 2 + [["Toys"]])
    three = listing_categories(paths, 3, seed=1)
    assert three[0] in {"Wrist Watches", "Smart Watches"}  # Clocks has fewer than 4 products
    assert three[1:] == ["Mugs", "Toys"]  # Pans has 2; Toys has no second level
    everything = listing_categories(paths, 10, seed=1)
    assert sorted(everything) == ["Mugs", "Smart Watches", "Toys", "Wrist Watches"]
    assert listing_categories(paths, 0) == []
    assert listing_categories(paths, 3, seed=1) == three


def test_status_against_a_target():
    assert status(0.95, 0.95) == "PASS"
    assert status(0.9499, 0.95) == "FAIL"
    assert status(None, 0.95) == "n/a"
    assert status(0.5, None) == ""


def test_tally_counts_and_keeps_the_first_misses():
    t = Tally()
    assert t.accuracy is None
    t.add(True, "p1", 595, 595)
    t.add(False, "p2", 590, 595)
    assert (t.n, t.correct, t.missed, t.accuracy) == (2, 1, 1, 0.5)
    assert t.misses == [{"item": "p2", "read": 590, "expected": 595}]
    for i in range(MAX_MISSES + 5):
        t.add(False, f"x{i}", None, 1, url="u")
    assert t.missed == MAX_MISSES + 6
    assert len(t.misses) == MAX_MISSES
    weighted = Tally()
    weighted.add(False, "listing", [99, 219], [99, 219, 319], weight=3, correct=2)
    assert (weighted.n, weighted.correct, weighted.missed, weighted.accuracy) == (3, 2, 1, 0.6667)
    weighted.add(True, "empty listing", [], [], weight=0, correct=0)
    assert (weighted.n, weighted.missed) == (3, 1)


def test_scoreboard_rows_in_order_with_targets():
    board = Scoreboard([("demo-product", "price"), ("zyte", "price (top)")])
    board.tally("demo-product", "brand").add(True, "p", "A", "A")
    board.tally("demo-product", "price").add(True, "p", 1, 1)
    rows = board.rows(targets={("demo-product", "price"): 0.95}, suites=["demo-product"])
    assert [(r["field"], r["n"], r["accuracy"], r["target"], r["status"]) for r in rows] == [
        ("price", 1, 1.0, 0.95, "PASS"), ("brand", 1, 1.0, None, "")]
    table = format_table(rows)
    assert table.splitlines()[0].split() == ["suite", "field", "n", "accuracy", "target", "status"]
    assert "100.0%  >= 95%  PASS" in table


# -- scoring one page -------------------------------------------------------------------------------------
def test_score_demo_product_marks_each_field():
    shot = Shot("demo-product", "w1", "http://shop/p/w1", expected={
        "title": "Maxima Analog Watch", "brand": "Maxima", "price": 595.0, "list_price": 1295.0,
        "leaf": "Wrist Watches", "rating": 4.25})
    reading = FrameReading("f1", kind="product", category_path=["Watches", "Wrist Watches"],
                           title="maxima analog watch", brand="Maxima", price=Price(595.0, "INR"), rating=4.2)
    board = Scoreboard()
    marks = score_demo_product(board, shot, reading)
    assert marks == {"kind": True, "title exact": True, "title ratio>=0.9": True, "price": True,
                     "list_price": False, "brand": True, "leaf category": True, "rating": True}
    assert board.tally("demo-product", "list_price").misses == [{"item": "w1", "read": None, "expected": 1295.0}]
    # no list price above the price: not in the list-price denominator; no rating: not in the rating one
    plain = Shot("demo-product", "m1", "u", expected={"title": "Mug", "brand": None, "price": 299.0,
                                                      "list_price": 299.0, "leaf": "Mugs", "rating": None})
    marks = score_demo_product(board, plain, None)  # nothing read at all
    assert "list_price" not in marks and "rating" not in marks
    assert marks["brand"] is True and marks["price"] is False and marks["kind"] is False
    assert board.tally("demo-product", "list_price").n == 1
    assert board.tally("demo-product", "brand").accuracy == 1.0
    assert board.tally("demo-product", "price").accuracy == 0.5


def test_score_demo_listing_recall_and_precision():
    shot = Shot("demo-listing", "Innerwear", "u", expected={"cards": [
        {"id": "a", "price": 99.0}, {"id": "b", "price": 219.0}, {"id": "c", "price": 319.0},
        {"id": "d", "price": 339.0}]})
    reading = FrameReading("f", kind="listing", card_prices=[Price(a, "INR") for a in (99, 219, 319, 5)])
    board = Scoreboard()
    assert score_demo_listing(board, shot, reading) == {"kind": True, "cards": 4, "matched": 3, "read": 4,
                                                        "read_right": 3}
    assert board.tally("demo-listing", "visible card prices read").accuracy == 0.75
    assert board.tally("demo-listing", "read card prices that are right").accuracy == 0.75


def test_score_zyte_page_top_best_and_on_screen():
    truth = {"price": ["23.450"], "brand": ["Infinix"], "url": "https://example.test/p"}
    top = FrameReading("t", kind="other")
    scrolled = FrameReading("s", kind="product", price=Price(23450.0, "INR"), brand="infinix")
    board = Scoreboard()
    marks = score_zyte_page(board, "pg", truth, top, scrolled, ([], ["Rs 23,450", "Infinix Hot 10"]))
    assert marks["kind=product"] == {"top": False, "best": True}
    assert marks["price"] == {"top": False, "best": True}
    assert marks["brand"] == {"top": False, "best": True}
    assert marks["price on screen"] and marks["brand on screen"]
    assert board.tally("zyte", "price (top)").accuracy == 0.0
    assert board.tally("zyte", "price when on screen (best of 2)").accuracy == 1.0
    assert board.tally("zyte", "title (not labelled)").n == 0
    # a page without a labelled price or brand is outside those denominators; a frame not taken reads nothing
    marks = score_zyte_page(board, "pg2", {"url": "u"}, None, None)
    assert set(marks) == {"kind=product"}
    assert board.tally("zyte", "price (top)").n == 1
    assert board.tally("zyte", "kind=product (best of 2)").accuracy == 0.5


def test_reading_summary_is_json_ready():
    assert reading_summary(None) == {}
    summary = reading_summary(FrameReading("f", kind="listing", card_prices=[Price(99.0, "INR")]))
    assert summary["kind"] == "listing" and summary["price"] is None and summary["card_prices"] == [99.0]

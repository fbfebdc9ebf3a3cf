"""Summarising readings (tools.perception.readings): per-frame FrameReadings -> one BehaviorSummary, each keyword
citing the frames it came from. Readings are built by hand, so neither OCR nor the line parser runs."""

from __future__ import annotations

from tools.perception.parsing import Price
from tools.perception.screen_reader import FrameReading, summarise_readings


def product(frame_id: str, title: str, brand: str, price: float, category: str = "Wrist Watches",
            **fields) -> FrameReading:
    return FrameReading(frame_id, kind="product", category_path=["Watches", category], title=title,
                        brand=brand, price=Price(price, "INR"), **fields)


def listing(frame_id: str, amounts: list[float], **fields) -> FrameReading:
    return FrameReading(frame_id, kind="listing", card_prices=[Price(a, "INR") for a in amounts], **fields)


def test_types_and_brands_count_each_product_once():
    readings = [
        product("s:1", "Maxima Black Watch", "Maxima", 595, colours=["black"]),
        product("s:2", "Maxima Black Watch", "Maxima", 595, colours=["black"]),  # the same page again
        product("s:3", "MAXIMA BLACK WATCH", "Maxima", 595),  # same title, other case
        product("s:4", "Titan Steel Watch", "Titan", 2499, colours=["silver"]),
        product("s:5", "Sonata Smart Band", "Sonata", 1999, category="Smart Watches"),
    ]
    s = summarise_readings(readings, "test")
    types = {e.value: e for e in s.product_characteristics.types}
    assert types["Wrist Watches"].count == 2
    assert types["Wrist Watches"].frame_ids == ["s:1", "s:4"]
    assert types["Smart Watches"].count == 1
    assert s.product_characteristics.types[0].value == "Wrist Watches"  # strongest first
    brands = {e.value: e for e in s.brand_preferences}
    assert brands["Maxima"].count == 1 and brands["Maxima"].frame_ids == ["s:1"]
    assert set(brands) == {"Maxima", "Titan", "Sonata"}
    assert len(s.products_seen) == 3
    assert {e.value for e in s.product_characteristics.colours} == {"black", "silver"}
    assert all(0 <= e.confidence <= 1 for e in s.brand_preferences)


def test_evidence_is_ordered_by_count_then_value():
    readings = [
        product("s:1", "A", "Titan", 100),
        product("s:2", "B", "Maxima", 200),
        product("s:3", "C", "Titan", 300),
    ]
    s = summarise_readings(readings, "test")
    assert [(e.value, e.count) for e in s.brand_preferences] == [("Titan", 2), ("Maxima", 1)]
    assert s.brand_preferences[0].frame_ids == ["s:1", "s:3"]


def test_price_range_comes_from_product_pages_when_any_were_seen():
    readings = [
        listing("s:1", [99, 450, 800, 12000, 15000]),
        product("s:2", "Maxima Black Watch", "Maxima", 595),
        product("s:3", "Titan Steel Watch", "Titan", 2499),
        product("s:4", "Titan Steel Watch", "Titan", 2499),
    ]
    price = summarise_readings(readings, "test").price_range
    assert (price.lowest, price.highest) == (595, 2499)
    assert price.frame_ids == ["s:2", "s:3"]  # the listing did not set the band
    assert price.currency == "INR"
    assert price.confidence > 0.5


def test_price_range_falls_back_to_listings_and_trims_outliers():
    amounts = [99, 500, 600, 700, 800, 900, 1000, 1100, 1200, 25000]
    readings = [listing("s:1", amounts[:5]), listing("s:2", amounts[5:]), FrameReading("s:3")]
    price = summarise_readings(readings, "test").price_range
    assert (price.lowest, price.highest) == (500, 1200)  # the outer tenth on each side dropped
    assert price.frame_ids == ["s:1", "s:2"]
    assert price.confidence == 0.5


def test_few_listing_prices_are_not_trimmed():
    price = summarise_readings([listing("s:1", [300, 1999, 450])], "test").price_range
    assert (price.lowest, price.highest) == (300, 1999)


def test_no_prices_seen_leaves_the_range_open():
    price = summarise_readings([FrameReading("s:1")], "test").price_range
    assert price.lowest is None and price.highest is None and price.frame_ids == []


def test_consecutive_products_of_one_category_are_comparisons():
    readings = [
        product("s:1", "Maxima Black Watch", "Maxima", 595),
        product("s:2", "Titan Steel Watch", "Titan", 2499),
        product("s:3", "Sonata Smart Band", "Sonata", 1999, category="Smart Watches"),
    ]
    comparisons = summarise_readings(readings, "test").comparisons
    assert [c.value for c in comparisons] == ["Maxima Black Watch vs Titan Steel Watch"]
    assert comparisons[0].frame_ids == ["s:1", "s:2"]


def test_reviews_specifications_promotions_and_queries_cite_their_frames():
    readings = [
        product("s:1", "Maxima Black Watch", "Maxima", 595, rating=4.3, rating_count=1234,
                specifications={"Strap Color": "Black"}, promotions=["54% off"]),
        listing("s:2", [500, 600], query="analog watch", promotions=["54% off", "deal"]),
        product("s:3", "Maxima Black Watch", "Maxima", 595, rating=4.3, rating_count=1234,
                specifications={"Strap Color": "Black"}),
    ]
    s = summarise_readings(readings, "test")
    assert [(e.value, e.frame_ids) for e in s.reviews] == [
        ("4.3 stars (1,234 ratings): Maxima Black Watch", ["s:1"])]
    spec = next(e for e in s.specifications if e.value == "Strap Color: Black")
    assert spec.frame_ids == ["s:1", "s:3"] and spec.count == 2
    promo = {e.value: e.frame_ids for e in s.promotions}
    assert promo == {"54% off": ["s:1", "s:2"], "deal": ["s:2"]}
    assert [(e.value, e.frame_ids) for e in s.search_queries] == [("analog watch", ["s:2"])]


def test_products_seen_keep_what_the_screen_showed():
    readings = [product("s:7", "Maxima Black Watch", "Maxima", 595, list_price=1295.0, rating=4.3)]
    seen = summarise_readings(readings, "test").products_seen
    assert len(seen) == 1
    p = seen[0]
    assert (p.title, p.brand, p.price, p.list_price, p.rating, p.category, p.frame_id) == (
        "Maxima Black Watch", "Maxima", 595.0, 1295.0, 4.3, "Wrist Watches", "s:7")

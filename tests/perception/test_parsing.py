"""Parsers for text read off shop screens (tools.perception.parsing): what OCR makes of prices, ratings and labels."""

from __future__ import annotations

import pytest

from tools.perception import parsing
from tools.perception.parsing import (
    Price,
    bare_amount,
    breadcrumb,
    card_price,
    find_colours,
    find_discount,
    find_prices,
    find_promotions,
    find_rating,
    find_rating_count,
    labelled,
    leading_amount,
)


# -- currency-marked prices ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("₹1,299", [Price(1299.0, "INR")]),
        ("₹ 595", [Price(595.0, "INR")]),
        ("Rs. 2,499", [Price(2499.0, "INR")]),
        ("Rs 499", [Price(499.0, "INR")]),
        ("rs.1,05,000", [Price(105000.0, "INR")]),  # Indian lakh grouping
        ("INR 5,000.50", [Price(5000.5, "INR")]),
        ("$19.99", [Price(19.99, "USD")]),
        ("USD 1,234.5", [Price(1234.5, "USD")]),
        ("€ 1,234.50", [Price(1234.5, "EUR")]),
        ("£12", [Price(12.0, "GBP")]),
    ],
)
def test_find_prices_reads_currency_and_amount(text, expected):
    assert find_prices(text) == expected


def test_find_prices_keeps_reading_order_and_ignores_unmarked_numbers():
    assert find_prices("Now ₹1,299 was ₹2,499 (48% off), 3 left") == [Price(1299.0, "INR"), Price(2499.0, "INR")]
    assert find_prices("Model 2024, 1,299 sold") == []


# -- unmarked amounts as OCR reads them ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [("1,395", 1395.0), ("¥595", 595.0), ("平595", 595.0), ("₹ 2,499", 2499.0), ("Rs.799", 799.0),
     ("  899  ", 899.0), ("12.50", 12.5)],
)
def test_bare_amount_accepts_a_line_that_is_only_an_amount(text, expected):
    assert bare_amount(text) == expected


@pytest.mark.parametrize("text", ["4.2", "5.0", "0.5", "595 sold", "Size 9", "(1,234 ratings)", "", "₹"])
def test_bare_amount_rejects_ratings_and_text(text):
    assert bare_amount(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("593平6255%off", 593.0),  # '₹' read as 平, list price glued to the discount
        ("899 999 10% off", 899.0),
        ("2,499平3,99938% off", 2499.0),
        ("¥1,299 ¥2,499 48% off", 1299.0),
        ("5951,29554% off", 595.0),  # RapidOCR on a card: no signs, no spaces; the list price's comma tells
        ("12,499¥12,999", 12499.0),
        ("2,4993,99938% off", 2499.0),
        ("1,299", 1299.0),
        ("₹450", 450.0),
    ],
)
def test_card_price_is_the_amount_a_card_price_line_starts_with(text, expected):
    assert card_price(text) == expected


@pytest.mark.parametrize("text", ["26512PPGN", "4.3 ★", "Titan Steel Watch", "(56)", "5"])
def test_card_price_rejects_codes_ratings_and_words(text):
    assert card_price(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2,49948% off", 2499.0),  # struck list price glued to its discount
        ("¥2,50044% off", 2500.0),
        ("1,29554% off", 1295.0),
        ("99910% off", 999.0),
        ("₹2,499 48% off", 2499.0),
        ("1,248 48% off", 1248.0),  # the amount happens to end in the discount's digits
        ("548 48% off", 548.0),
        ("1,999 9% off", 1999.0),
        ("2,499", 2499.0),
    ],
)
def test_leading_amount_reads_the_struck_list_price(text, expected):
    assert leading_amount(text) == expected


def test_leading_amount_with_a_one_digit_discount_glued_on():
    assert leading_amount("¥12,9994% off") == 12999.0


@pytest.mark.parametrize("text", ["48% off", "Inclusive of all taxes", "Save big 10% off"])
def test_leading_amount_needs_an_amount_first(text):
    assert leading_amount(text) is None


# -- discounts, ratings --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [("48% off", 48), ("5 % OFF", 5), ("1,29554% off", 54), ("Flat 10%off today", 10), ("100% cotton", None),
     ("48%", None)],
)
def test_find_discount(text, expected):
    assert find_discount(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("4.3 ★", 4.3), ("5 ★", 5.0), ("3.8*", 3.8), ("4★ & above", 4.0), ("4.3★ (1,234 ratings)", 4.3),
     ("10.5 ★", None), ("6.0 ★", None), ("4.3", None), ("Rated 4.5 by users", None)],
)
def test_find_rating(text, expected):
    assert find_rating(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("(1,234 ratings)", 1234), ("56 Ratings & 7 Reviews", 56), ("1 rating", 1), ("(12 reviews)", 12),
     ("(1,234)", None), ("4.3 ★", None)],
)
def test_find_rating_count(text, expected):
    assert find_rating_count(text) == expected


# -- labels, breadcrumbs -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "label", "expected"),
    [
        ("Brand: Maxima", "brand", "Maxima"),
        ("Brand Maxima", "brand", "Maxima"),  # OCR lost the colon
        ("BRAND ; Titan", "brand", "Titan"),
        ("brand:Fossil  ", "brand", "Fossil"),
        ("Colour: Navy Blue", "colour", "Navy Blue"),
        ("Brandname: X", "brand", None),
        ("Brand:", "brand", None),
        ("Our Brand: X", "brand", None),
    ],
)
def test_labelled(text, label, expected):
    assert labelled(text, label) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Home › Watches › Wrist Watches", ["Watches", "Wrist Watches"]),
        ("Home > Men > Shoes", ["Men", "Shoes"]),
        ("Home » Kitchen", ["Kitchen"]),
        ("home›Footwear ›  Casual Shoes", ["Footwear", "Casual Shoes"]),
        ("Home", None),
        ("Watches › Wrist Watches", None),
        ("Login › Cart", None),
    ],
)
def test_breadcrumb(text, expected):
    assert breadcrumb(text) == expected


# -- colours and promotions ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Navy Blue Slim Fit Shirt", ["navy blue"]),
        ("Rose Gold Analog Watch", ["rose gold"]),
        ("Off White Sneakers", ["off white"]),
        ("Black and White Mug", ["white", "black"]),
        ("Blackberry Tablet", []),  # colour words only as whole words
        ("Turquoise Blue Kurta", ["turquoise blue"]),
    ],
)
def test_find_colours_prefers_multi_word_colours(text, expected):
    assert sorted(find_colours(text)) == sorted(expected)


def test_find_colours_never_reports_a_part_of_a_multi_word_colour():
    found = find_colours("Coffee Brown Navy Blue Rose Gold Off White")
    assert {"brown", "blue", "gold", "white", "navy"}.isdisjoint(found)
    assert set(found) == {"coffee brown", "navy blue", "rose gold", "off white"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Deals of the Day", ["deal"]),
        ("Big Sale now on", ["sale"]),
        ("Free Delivery over ₹499", ["free delivery"]),
        ("Bestseller · 25 % OFF", ["bestseller", "25% off"]),
        ("Special offers and coupons", ["offer", "coupon"]),
        ("Ideal For: Men", []),  # 'deal' inside 'Ideal' is not a deal
        ("Wholesale pack", []),
        ("Offerings", []),
        ("Salesforce edition", []),
    ],
)
def test_find_promotions_matches_whole_words(text, expected):
    assert sorted(find_promotions(text)) == sorted(expected)


def test_promotion_and_colour_vocabularies_are_lower_case():
    # the matchers case-fold the text, so a capitalised entry would never match
    assert all(word == word.casefold() for word in parsing.PROMOTION_WORDS + parsing.COLOURS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("₹500 - ₹1,500", (500.0, 1500.0)), ("Price: Rs. 500 to 1,500", (500.0, 1500.0)), ("$20–$45", (20.0, 45.0)),
     ("Pack of 2 - 3", None), ("₹900 - ₹300", None), ("Showing 1-24 of 225", None)],
)
def test_find_price_range(text, expected):
    from tools.perception.parsing import find_price_range

    assert find_price_range(text) == expected

"""OCR lines read by the general page reader: prices whose currency sign OCR dropped, boxes the detector glued.

Shops in many countries draw the currency as a small glyph or an icon beside the amount, which OCR often does
not read, and set a sale price, its struck list price and the percentage off on one row, which the detector
may return as one box ("5491,09950% off"). The lines here are shaped as OCR gives them on such pages (an
electronics shop in dollars, a euro fashion shop, a card grid); none is the demo shop's.
"""

from __future__ import annotations

from tools.lines import ScreenLine, from_ocr
from tools.perception.page.prices import discount_of
from tools.perception.page.reader import PageReader


def ocr(text: str, x0: float, y0: float, height: float = 22, *, width: float = 0, struck: bool = False,
        weight: int = 400, role: str = "") -> ScreenLine:
    """An OCR line with what ``tools.perception.ocr_lines`` measures in the pixels (strike, weight, heading)."""
    width = width or len(text) * height * 0.42
    line = from_ocr(text, x0, y0, x0 + width, y0 + height, 0.95)
    return line.model_copy(update={"line_through": struck, "font_weight": weight, "role": role})


def reader() -> PageReader:
    return PageReader(brands=[], categories=[])


def test_the_discount_arithmetic_tells_the_sale_price_from_the_list_price_whatever_ocr_glued():
    assert discount_of("1,2394,99975% off") == discount_of("1,239 4,999 75% off")
    found = discount_of("1,2394,99975% off")
    assert (found.price, found.list_price, found.percent) == (1239.0, 4999.0, 75)
    euro = discount_of("€ 59,99 € 79,99 -25%")
    assert (euro.price, euro.list_price) == (59.99, 79.99)
    assert discount_of("479 2,19978% off").list_price == 2199.0


def test_numbers_that_do_not_agree_with_the_percentage_are_no_discount():
    assert discount_of("299 399 50% off") is None  # 299 is 25% below 399
    assert discount_of("Rated 4.5 out of 5 by 120 customers, 95% recommend") is None
    assert discount_of("Up to 70% off") is None
    assert discount_of("-16%") is None


DOLLAR_PAGE = [
    ocr("Free delivery on orders over $35", 300, 10, 18),
    ocr("Sonic Pro 2 Wireless Noise Cancelling Headphones", 560, 120, 34),
    ocr("4.6 (2,381 reviews)", 560, 170, 18),
    ocr("1,299", 560, 215, 44, weight=700),  # its "$" is a small raised glyph OCR did not read
    ocr("1,799", 700, 228, 22, struck=True),
    ocr("28% off", 790, 228, 22),
    ocr("Add to Cart", 560, 300, 26),
    *[ocr(f"Feature {i}: adaptive sound for calls and music", 560, 360 + 30 * i, 20) for i in range(5)],
]


def test_a_bare_amount_beside_a_struck_amount_and_a_discount_is_the_price_in_the_pages_currency():
    facts = reader().read_page([DOLLAR_PAGE])
    assert facts.kind == "product"
    assert (facts.price, facts.list_price, facts.currency) == (1299.0, 1799.0, "USD")
    assert facts.sources["price"] == "ocr"


def test_a_bare_number_set_like_the_text_around_it_is_not_the_price():
    lines = [line for line in DOLLAR_PAGE if line.text not in ("1,299", "1,799", "28% off")]
    lines.append(ocr("1,299", 560, 215, 22))  # as small as the body: a count, a model number
    assert reader().read_page([lines]).price is None


def test_glued_sale_list_and_discount_boxes_are_read_in_one_box_too():
    lines = [line for line in DOLLAR_PAGE if line.text not in ("1,299", "1,799", "28% off")]
    lines.append(ocr("1,2991,79928% off", 560, 215, 30, weight=700))
    facts = reader().read_page([lines])
    assert (facts.price, facts.list_price) == (1299.0, 1799.0)


def _card(x: float, name: str, price_box: list[ScreenLine]) -> list[ScreenLine]:
    return [ocr(name, x, 520, 18), ocr("Running Shoe", x, 545, 18), *price_box]


GRID = [
    ocr("Men's Running Shoes", 320, 180, 30),
    ocr("Showing 1-24 of 118 results", 320, 230, 18),
    ocr("Sort by", 900, 230, 18),
    *_card(320, "Asics", [ocr("89 129 31% off", 320, 575, 20)]),
    *_card(560, "Brooks", [ocr("5491,09950% off", 560, 575, 20)]),
    *_card(800, "Mizuno", [ocr("74", 800, 575, 20), ocr("9920%", 830, 575, 20, struck=True), ocr("off", 885, 575, 20)]),
    *_card(1040, "Saucony", [ocr("119 149 20% off", 1040, 575, 20)]),
]


def test_a_grid_of_cards_whose_prices_lost_their_sign_is_a_listing():
    facts = reader().read_page([GRID])
    assert facts.kind == "listing"
    assert sorted(facts.card_prices) == [74.0, 89.0, 119.0, 549.0]
    assert facts.price is None


def test_a_sign_misread_as_another_glyph_leaves_a_price_right_under_the_title_not_elsewhere():
    lines = [line for line in DOLLAR_PAGE if line.text not in ("1,299", "1,799", "28% off")]
    lines.append(ocr("天1,299", 560, 215, 44, weight=700))  # OCR's reading of a small "₹" or "$"
    lines.append(ocr("12", 200, 215, 40, weight=700))  # a watch face in the product photo, left of the buy box
    facts = reader().read_page([lines])
    assert (facts.price, facts.currency) == (1299.0, "USD")
    far = [line.model_copy(update={"y0": line.y0 + 400, "y1": line.y1 + 400}) if line.text == "天1,299" else line
           for line in lines]
    assert reader().read_page([far]).price is None  # far below the title it says nothing


def test_a_prominent_number_alone_is_not_a_price():
    lines = [line for line in DOLLAR_PAGE if line.text not in ("1,299", "1,799", "28% off")]
    lines.append(ocr("2", 560, 215, 44, weight=700))  # a step number, a logo's digit, a size
    assert reader().read_page([lines]).price is None


def test_specification_fields_and_a_title_broken_after_a_hyphen():
    lines = [
        ocr("Anker PowerCore 10000 Portable Charger PD-", 560, 120, 34, role="heading"),
        ocr("20W Slim Power Bank", 560, 156, 34, role="heading"),
        ocr("Brand: Anker Innovations", 560, 205, 30, weight=700, role="heading"),  # bold, as large as a subtitle
        ocr("$25.99", 560, 250, 40, weight=700),
        ocr("• Capacity: 10000 mAh", 560, 320, 22),
        ocr("Add to Cart", 560, 380, 26),
        *[ocr(f"Detail {i}: charges phones and earbuds", 560, 430 + 30 * i, 20) for i in range(5)],
    ]
    facts = reader().read_page([lines])
    assert facts.title == "Anker PowerCore 10000 Portable Charger PD-20W Slim Power Bank"
    assert facts.price == 25.99


def test_card_prices_without_any_discount_are_read_in_a_regular_grid_under_names():
    cards = [*_card(320, "Asics", [ocr("89", 320, 575, 20)]), *_card(560, "Brooks", [ocr("129", 560, 575, 20)]),
             *_card(800, "Mizuno", [ocr("74", 800, 575, 20)]), *_card(1040, "Saucony", [ocr("119", 1040, 575, 20)])]
    facts = reader().read_page([GRID[:3] + cards])
    assert facts.kind == "listing"
    assert sorted(facts.card_prices) == [74.0, 89.0, 119.0, 129.0]
    uneven = [line.model_copy(update={"x0": line.x0 + 90, "x1": line.x1 + 90}) if line.x0 == 800 else line
              for line in cards]
    assert reader().read_page([GRID[:3] + uneven]).kind != "listing"  # no regular pitch: not a grid


def test_belarusian_roubles_read_by_an_ocr_model_without_cyrillic_are_still_a_price():
    lines = [ocr("Taller TR-1047 Kitchen Pot Set", 560, 120, 34, role="heading"),
             ocr("352,00 – 376,45 6.p.", 560, 180, 30, weight=700),  # "б.р." read in Latin shapes
             *[ocr(f"Offer {i}: delivery across Minsk", 560, 260 + 30 * i, 20) for i in range(5)]]
    facts = reader().read_page([lines])
    assert (facts.price, facts.currency) == (352.0, "BYN")


def test_a_carousels_heading_just_above_the_title_is_no_brand():
    lines = [ocr("Others also viewed", 560, 80, 26, role="heading", weight=700),
             ocr("Vallentuna Sofa-bed module with backrest", 560, 115, 34, role="heading"),
             ocr("$515.00", 560, 170, 40, weight=700), ocr("Add to Cart", 560, 240, 26),
             *[ocr(f"Detail {i}: a seat that turns into a bed", 560, 300 + 30 * i, 20) for i in range(5)]]
    facts = reader().read_page([lines])
    assert facts.price == 515.0 and facts.brand != "Others also viewed"
    renamed = [line.model_copy(update={"text": "Vallentuna"}) if line.text == "Others also viewed" else line
               for line in lines]
    assert reader().read_page([renamed]).brand == "Vallentuna"  # a short heading above the title still is


def test_a_struck_price_glued_to_its_percentage_is_the_list_price_the_arithmetic_gives():
    lines = [line for line in DOLLAR_PAGE if line.text not in ("1,299", "1,799", "28% off")]
    lines += [ocr("$899", 560, 215, 44, weight=700), ocr("$99910%", 680, 228, 22, struck=True),
              ocr("off", 760, 228, 22)]
    facts = reader().read_page([lines])
    assert (facts.price, facts.list_price) == (899.0, 999.0)  # not 99,910

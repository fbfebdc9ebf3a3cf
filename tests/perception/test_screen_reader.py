"""The offline screen reader (tools.perception.screen_reader): OCR lines of shop screenshots -> FrameReading -> summary.

The unit tests feed hand-built OCR lines modelled on what RapidOCR returns for InteraShop's pages (boxes in
screenshot pixels at 1280x800, separators and currency signs lost as OCR loses them), so no OCR runs. One test
runs the real pipeline: Chromium renders a demo-shop page, RapidOCR reads the screenshot.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest

from tests.conftest import CHROMIUM, requires_chromium
from tools.perception.ocr import OcrLine
from tools.perception.parsing import Price
from tools.perception.screen_reader import BACKEND_NAME, FrameReading, OfflineScreenReader, summarise_readings
from tools.schemas import Frame

BRANDS = ["Maxima", "Titan", "Fastrack", "Sonata", "Borosil"]
CATEGORIES = ["Watches", "Wrist Watches", "Smart Watches", "Kitchen", "Coffee Mugs"]


class FakeOcr:
    """Stands in for RapidOcrReader: returns prepared lines per screenshot path and records what was read."""

    def __init__(self, pages: dict[str, list[OcrLine]] | None = None) -> None:
        self.pages = pages or {}
        self.read_paths: list[str] = []

    def read(self, image, sha256=None, interrupted=None):
        self.read_paths.append(str(image))
        return self.pages.get(str(image), [])


def L(text: str, x0: float, y0: float, x1: float, y1: float, score: float = 0.99) -> OcrLine:
    return OcrLine(text, x0, y0, x1, y1, score)


def reader(ocr: FakeOcr | None = None) -> OfflineScreenReader:
    return OfflineScreenReader(brands=BRANDS, categories=CATEGORIES, ocr=ocr or FakeOcr())


SHOP_HEADER = [
    L("InteraShop", 54, 6, 211, 42),
    L("Search for products, brands and more", 243, 17, 578, 43),
    L("Login", 1075, 14, 1143, 47),
    L("Cart", 1185, 15, 1241, 46),
    L("Shop smart", 57, 32, 136, 55),
    L("Watches", 25, 75, 112, 99),
    L("Kitchen", 135, 73, 215, 100),
]

# A product page as RapidOCR reads it: breadcrumb separators lost, a title wrapping onto two lines, a rating
# badge line (taller than the price) above the price, the price and the struck list price glued to its
# discount, highlights, the specification table, and the buttons under the photo.
PRODUCT_PAGE = SHOP_HEADER + [
    L("Home  Watches  Wrist Watches", 14, 124, 273, 148),
    L("Maxima Analog Black Dial Men's Watch with Day and", 534, 181, 1236, 211),
    L("Date Display", 534, 216, 700, 246),
    L("Brand: Maxima", 533, 256, 685, 283),
    L("5.0 ★", 534, 290, 609, 327, 0.93),
    L("₹595", 532, 343, 627, 378, 0.88),
    L("1,29554% off", 628, 350, 801, 377, 0.97),
    L("Inclusive of all taxes", 533, 382, 685, 405),
    L("Highlights", 533, 440, 659, 471),
    L("• Strap Color: Black", 536, 476, 709, 502),
    L("• Dial Shape: Round", 892, 477, 1065, 500),
    L("Specifications", 533, 530, 701, 560),
    L("Brand", 543, 574, 605, 602),
    L("Maxima", 782, 574, 856, 601),
    L("Category", 543, 614, 629, 646),
    L("Watches  Wrist Watches", 784, 618, 991, 641),
    L("ADD TO CART", 83, 651, 227, 674),
    L("BUY NOW", 343, 650, 448, 674),
    L("Water Resistance", 543, 698, 700, 725),
    L("50 m", 782, 698, 830, 725),
]
TITLE = "Maxima Analog Black Dial Men's Watch with Day and Date Display"
# A number printed on the product photo (a dial's "50"): taller than the price, no currency sign.
PHOTO_NUMBER_BESIDE_PRICE = L("50", 240, 330, 312, 394, 0.91)
PHOTO_NUMBER_ABOVE_PRICE = L("50", 240, 222, 312, 286, 0.91)
# The rating count, read as its own line beside the badge (as RapidOCR returns it).
RATING_COUNT_LINE = L("(1,234 ratings)", 613, 295, 766, 322)


def page(*extra: OcrLine, base: list[OcrLine] = PRODUCT_PAGE) -> list[OcrLine]:
    """``base`` plus ``extra`` lines, in the reading order RapidOcrReader returns."""
    return sorted([*base, *extra], key=lambda line: (round(line.y_center / 8), line.x0))


# A listing whose cards all show a discount (so every card price line carries more than the amount).
LISTING_CARDS = [
    L("Filters", 28, 175, 111, 205),
    L("BRAND", 31, 231, 101, 255),
    L("Maxima (1)", 53, 266, 151, 289),
    L("PRICE ()", 31, 348, 121, 372),
    L("4★ & above", 52, 477, 161, 500, 0.92),
    L("Maxima", 310, 496, 383, 517),
    L("Titan", 549, 492, 604, 519),
    L("Maxima Analog Black Dial", 311, 524, 525, 544),
    L("Titan Steel Watch", 552, 524, 698, 544),
    L("4.3 ★", 314, 572, 375, 596),
    L("(1,234)", 377, 572, 448, 597),
    L("4.1 ★", 554, 570, 615, 598),
    L("(56)", 618, 572, 663, 598),
    L("593平6255%off", 309, 602, 507, 629, 0.98),
    L("2,499平3,99938% off", 551, 603, 770, 629, 0.94),
    L("899 999 10% off", 792, 603, 960, 629),
    L("5951,29554% off", 1030, 603, 1230, 629),
    L("InteraShop demo store · prices in Indian Rupees (₹) · all data is served locally", 13, 759, 561, 779),
]
LISTING_PAGE = SHOP_HEADER + [
    L("Home  Watches  Wrist Watches", 16, 127, 272, 147),
    L("Wrist Watches Showing 1-4 of 4 products", 313, 176, 731, 210),
] + LISTING_CARDS
SEARCH_PAGE = SHOP_HEADER + [
    L("analog watch", 243, 16, 380, 44),
    L("Home  Search", 16, 126, 134, 146),
    L('Results for "analog watch"', 315, 176, 640, 205),
    L("Showing 1-4 of 4 products", 635, 182, 845, 205),
] + LISTING_CARDS
# A card without a discount shows only its price, which OCR reads as a bare 19px amount (a ~27px box).
UNDISCOUNTED_CARD_PRICE = L("1,299", 1030, 640, 1112, 667)

# The same product page scrolled down: no breadcrumb and no price block, only specifications.
SCROLLED_PRODUCT_PAGE = [
    L("Specifications", 533, 40, 701, 70),
    L("Brand", 543, 84, 605, 112),
    L("Maxima", 782, 84, 856, 111),
    L("Colour", 544, 125, 609, 153),
    L("Black", 783, 126, 839, 152),
    L("Strap Color", 543, 208, 645, 235),
    L("Black", 782, 207, 840, 237),
    L("Similar products", 30, 300, 260, 330),
    L("50", 240, 360, 312, 424),
]


# -- one frame -------------------------------------------------------------------------------------------
def test_product_page_is_read_field_by_field():
    r = reader().parse_lines("s:3", page(PHOTO_NUMBER_BESIDE_PRICE))
    assert r.frame_id == "s:3"
    assert r.kind == "product"
    assert r.category_path == ["Watches", "Wrist Watches"]
    assert r.title == TITLE  # both lines of the wrapped title, without the brand or rating lines
    assert r.brand == "Maxima"
    assert r.price == Price(595.0, "INR")
    assert r.list_price == 1295.0
    assert r.rating == 5.0
    assert r.colours == ["black"]
    assert r.specifications["Strap Color"] == "Black"
    assert r.specifications["Dial Shape"] == "Round"
    assert r.promotions == ["54% off"]


def test_product_photo_number_is_not_taken_for_the_price():
    r = reader().parse_lines("s:1", page(PHOTO_NUMBER_BESIDE_PRICE))
    assert PHOTO_NUMBER_BESIDE_PRICE.height > 35  # taller than the price line
    assert r.price == Price(595.0, "INR")  # the taller "50" has no currency sign
    assert r.list_price == 1295.0


def test_specification_table_rows_are_read():
    r = reader().parse_lines("s:1", page())
    assert r.specifications["Brand"] == "Maxima"
    assert r.specifications["Water Resistance"] == "50 m"
    assert r.specifications["Category"] == "Watches  Wrist Watches"


def test_photo_text_above_the_price_is_not_the_title():
    r = reader().parse_lines("s:1", page(PHOTO_NUMBER_ABOVE_PRICE))
    assert r.price == Price(595.0, "INR")
    assert r.title == TITLE


def test_rating_count_beside_the_badge_is_read_and_kept_out_of_the_title():
    r = reader().parse_lines("s:1", page(RATING_COUNT_LINE))
    assert r.rating == 5.0
    assert r.title == TITLE
    assert r.rating_count == 1234


def test_buttons_under_the_photo_are_not_specifications():
    r = reader().parse_lines("s:1", page())
    assert "ADD TO CART" not in r.specifications
    assert "BUY NOW" not in r.specifications.values()


def test_price_without_currency_sign_is_used_when_no_amount_is_marked():
    lines = [
        L("Home  Watches  Wrist Watches", 14, 124, 273, 148),
        L("Titan Steel Watch", 534, 181, 760, 211),
        L("1,395", 532, 308, 627, 343),  # OCR lost the rupee sign on the bold price
        L("2,49944% off", 628, 315, 801, 342),
    ]
    r = reader().parse_lines("s:2", lines)
    assert r.kind == "product"
    assert r.title == "Titan Steel Watch"
    assert r.brand == "Titan"  # from the title's first word, as the page shows no 'Brand:' line here
    assert r.price == Price(1395.0, "INR")
    assert r.list_price == 2499.0


def test_small_amounts_are_not_the_selling_price():
    lines = [
        L("Home  Watches  Wrist Watches", 14, 124, 273, 148),
        L("Titan Steel Watch", 534, 181, 760, 211),
        L("₹1,299", 532, 308, 627, 343),
        L("Free Delivery over ₹499", 533, 350, 760, 372),  # a currency amount in small text
    ]
    r = reader().parse_lines("s:2", lines)
    assert r.price == Price(1299.0, "INR")
    assert r.list_price is None
    assert "free delivery" in r.promotions


def _slipped_page(crumb: str) -> list[OcrLine]:
    return [
        L(crumb, 14, 124, 273, 148),
        L("Analog Watch", 534, 181, 700, 211),
        L("Brand: Maxlma", 533, 221, 685, 248),
        L("₹595", 532, 308, 627, 343),
    ]


def test_ocr_slips_in_brand_names_are_corrected_from_the_vocabulary():
    r = reader().parse_lines("s:1", _slipped_page("Home › Watches › Wrist Watches"))
    assert r.brand == "Maxima"
    assert r.category_path == ["Watches", "Wrist Watches"]


def test_ocr_slips_in_separated_breadcrumbs_are_corrected():
    r = reader().parse_lines("s:1", _slipped_page("Home › Watchees › Wrist Watches"))
    assert r.category_path == ["Watches", "Wrist Watches"]


def test_ocr_slips_in_breadcrumbs_without_separators_are_corrected():
    r = reader().parse_lines("s:1", _slipped_page("Home  Watchees  Wrist Watches"))
    assert r.kind == "product"
    assert r.category_path == ["Watches", "Wrist Watches"]


def test_breadcrumb_with_separators_kept_or_glued_by_ocr():
    sr = reader()
    assert sr._breadcrumb("Home › Watches › Wrist Watches") == ["Watches", "Wrist Watches"]
    assert sr._breadcrumb("Home Watches Smart Watches") == ["Watches", "Smart Watches"]
    assert sr._breadcrumb("HomeWatchesWrist Watches") == ["Watches", "Wrist Watches"]  # as RapidOCR reads it
    assert sr._breadcrumb("Home") is None
    assert sr._breadcrumb("Watches Kitchen") is None  # the category nav bar is not a breadcrumb
    assert sr._breadcrumb("Homemade Jam") is None


def test_listing_page_reads_card_prices():
    r = reader().parse_lines("s:2", LISTING_PAGE)
    assert r.kind == "listing"
    assert r.title is None and r.price is None
    assert sorted(p.amount for p in r.card_prices) == [593.0, 595.0, 899.0, 2499.0]
    assert all(p.currency == "INR" for p in r.card_prices)
    assert r.query is None
    # '593平6255%off' is ambiguous without the prices (625 at 5% off, or 62 at 55% off); the others are not
    assert {"38% off", "10% off", "54% off"} <= set(r.promotions)


def test_search_results_page_reads_the_query():
    r = reader().parse_lines("s:2", SEARCH_PAGE)
    assert r.kind == "listing"
    assert r.query == "analog watch"
    assert len(r.card_prices) == 4


def test_listing_with_an_undiscounted_card_is_still_a_listing():
    r = reader().parse_lines("s:2", page(UNDISCOUNTED_CARD_PRICE, base=LISTING_PAGE))
    assert r.kind == "listing"
    assert r.title is None and r.price is None
    assert 1299.0 in [p.amount for p in r.card_prices]


def test_scrolled_product_page_without_breadcrumb_is_not_taken_for_a_product():
    r = reader().parse_lines("s:4", SCROLLED_PRODUCT_PAGE)
    assert r.kind == "other"
    assert r.title is None and r.price is None and r.card_prices == []


def test_page_without_text_reads_as_other():
    r = reader().parse_lines("s:9", [])
    assert r == FrameReading("s:9")


def test_summarise_skips_duplicate_frames_without_reading_them(tmp_path):
    ocr = FakeOcr({str(tmp_path / "a.png"): page(), str(tmp_path / "b.png"): LISTING_PAGE})
    frames = [
        _frame("s", 1, tmp_path / "a.png"),
        _frame("s", 2, tmp_path / "b.png"),
        _frame("s", 3, tmp_path / "a.png", duplicate_of="s:1"),
    ]
    summary = reader(ocr).summarise(frames)
    assert ocr.read_paths == [str(tmp_path / "a.png"), str(tmp_path / "b.png")]
    assert summary.frames_read == 2
    assert summary.summariser == BACKEND_NAME and "not an MLLM" in summary.summariser
    assert [p.title for p in summary.products_seen] == [TITLE]


def _frame(session: str, sequence: int, path: Path, **fields) -> Frame:
    return Frame(frame_id=f"{session}:{sequence}", session_id=session, sequence=sequence, path=str(path),
                 sha256=hashlib.sha256(str(path).encode()).hexdigest(), captured_at=time.time(), **fields)


def test_parsed_pages_summarise_end_to_end():
    sr = reader()
    readings = [sr.parse_lines("s:1", SEARCH_PAGE), sr.parse_lines("s:2", page()),
                sr.parse_lines("s:3", SCROLLED_PRODUCT_PAGE)]
    s = summarise_readings(readings, sr.name)
    assert s.product_characteristics.types[0].value == "Wrist Watches"
    assert s.product_characteristics.types[0].frame_ids == ["s:2"]
    assert [e.value for e in s.brand_preferences] == ["Maxima"]
    assert (s.price_range.lowest, s.price_range.highest) == (595.0, 595.0)
    assert s.price_range.frame_ids == ["s:2"]
    assert s.search_queries[0].value == "analog watch"
    assert s.frames_read == 3


# -- real OCR of a real page ---------------------------------------------------------------------------
@requires_chromium
def test_real_product_page_screenshot_is_read(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    from PIL import Image, ImageDraw

    from catalog.models import Product
    from shop.server import DemoShop
    from tools.capture.browser import CHROMIUM_FLAGS

    images = tmp_path / "images"
    images.mkdir()
    products = [
        Product(id="w1", title="Maxima Analog Black Dial Men's Watch", brand="Maxima",
                category_path=["Watches", "Wrist Watches"], price=595, list_price=1295, rating=4.3,
                rating_count=1234, colour="Black", specifications={"Strap Color": "Black"}, image="w1.png"),
        Product(id="w2", title="Titan Steel Chronograph Watch", brand="Titan",
                category_path=["Watches", "Wrist Watches"], price=2499, list_price=3999, rating=4.1,
                rating_count=56, image="w2.png"),
        Product(id="m1", title="Ceramic Coffee Mug", brand="Borosil", category_path=["Kitchen", "Coffee Mugs"],
                price=299, image="m1.png"),
    ]
    for p in products:
        im = Image.new("RGB", (400, 400), (205, 212, 222))
        ImageDraw.Draw(im).ellipse((60, 60, 340, 340), outline=(20, 20, 20), width=10)
        im.save(images / p.image)

    shot = tmp_path / "product.png"
    with DemoShop(products, images) as shop, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_FLAGS))
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(shop.product_url("w1"), wait_until="load")
            page.screenshot(path=str(shot))
        finally:
            browser.close()

    sr = OfflineScreenReader(brands=["Maxima", "Titan", "Borosil"],
                             categories=["Watches", "Wrist Watches", "Kitchen", "Coffee Mugs"])
    frame = Frame(frame_id="real:1", session_id="real", sequence=1, path=str(shot),
                  sha256=hashlib.sha256(shot.read_bytes()).hexdigest(), captured_at=time.time(),
                  width=1280, height=800)
    r = sr.read_frame(frame)
    assert r.frame_id == "real:1"
    assert r.kind == "product"
    assert r.category_path == ["Watches", "Wrist Watches"]
    assert r.title == "Maxima Analog Black Dial Men's Watch"
    assert r.brand == "Maxima"
    assert r.price == Price(595.0, "INR")
    assert r.list_price == 1295.0
    assert r.rating == 4.3
    assert r.rating_count == 1234
    assert "black" in r.colours
    assert r.specifications.get("Strap Color") == "Black"


def test_a_nav_link_that_starts_with_home_is_not_a_breadcrumb():
    sr = OfflineScreenReader(brands=["Maxima"], categories=["Home Decor & Festive Needs", "Watches", "Wrist Watches"],
                             ocr=None)
    assert sr._breadcrumb("Home Decor & Festive Needs") is None
    assert sr._breadcrumb("Home Decor & Festive Needss") is None
    assert sr._breadcrumb("HomeWatchesWrist Watches") == ["Watches", "Wrist Watches"]


def _line(text, x0, y0, height, width=400):
    return OcrLine(text, x0, y0, x0 + width, y0 + height, 0.95)


def test_a_product_page_without_breadcrumb_is_read_and_its_category_matched_by_meaning():
    sr = OfflineScreenReader(brands=["Titan"], categories=["Wrist Watches", "Coffee Mugs", "Bed Linen"], ocr=None)
    lines = [
        _line("Shop logo", 20, 10, 30, 120),
        _line("Titan Neo Analog Wrist Watch for Men", 560, 140, 30),
        _line("₹2,495", 560, 200, 36, 120),
        _line("Similar: ₹1,299", 40, 700, 18, 160),
    ]
    reading = sr.parse_lines("s:1", lines)
    assert reading.kind == "product"
    assert reading.title == "Titan Neo Analog Wrist Watch for Men"
    assert reading.price.amount == 2495 and reading.brand == "Titan"
    assert reading.category_path == ["Wrist Watches"]


def test_a_page_of_equal_prices_without_breadcrumb_is_not_a_product_page():
    sr = OfflineScreenReader(brands=[], categories=["Coffee Mugs"], ocr=None)
    lines = [_line(f"₹{200 + 10 * i}", 40 + 300 * (i % 4), 300 + 200 * (i // 4), 24, 80) for i in range(6)]
    assert sr.parse_lines("s:2", lines).kind != "product"


def test_a_price_row_read_as_one_box_without_signs_still_gives_the_price():
    sr = OfflineScreenReader(brands=["Maxima"], categories=["Watches", "Wrist Watches"], ocr=None)
    lines = [
        _line("Home  Watches  Wrist Watches", 16, 126, 20),
        _line("Maxima Steel Analog Watch", 534, 182, 30),
        _line("1,2992,69952% off", 534, 262, 34, 300),
    ]
    reading = sr.parse_lines("s:3", lines)
    assert reading.kind == "product" and reading.price.amount == 1299


def test_a_rupee_sign_read_as_tian_is_still_a_price():
    from tools.perception.parsing import bare_amount, card_price

    assert bare_amount("天8,999") == 8999 and card_price("天8,999") == 8999


# A product page with no price (the shop shows "Currently unavailable" in its place) and a title full of
# numbers, as the Amazon session eval's pages are.
UNPRICED_PAGE = SHOP_HEADER + [
    L("Home  Watches  Wrist Watches", 14, 124, 273, 148),
    L("Maxima 2 Bay 5.25 Analog Watch 830 Series", 534, 181, 1236, 216),
    L("Currently unavailable", 532, 343, 760, 378),
]


def test_a_product_page_without_a_price_is_still_read_and_no_number_is_taken_for_its_price():
    r = reader().parse_lines("s:5", UNPRICED_PAGE)
    assert r.kind == "product"
    assert r.title == "Maxima 2 Bay 5.25 Analog Watch 830 Series"
    assert r.category_path == ["Watches", "Wrist Watches"]
    assert r.brand == "Maxima"
    assert r.price is None and r.list_price is None

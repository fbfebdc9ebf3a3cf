"""The offline screen reader (tools.perception.screen_reader): screenshots read by OCR -> FrameReading -> summary.

OCR frames are read by the same page rules as a text layer (tools.perception.page), from OCR lines whose size,
weight and strike the line model measures in the pixels. The unit tests draw screenshots of a generic product
page with Pillow and hand the reader the boxes an OCR detector would return (so no OCR runs); one test runs the
real pipeline: Chromium renders a demo-shop page, RapidOCR reads the screenshot.
"""

from __future__ import annotations

import hashlib
import io
import time
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from tests.conftest import CHROMIUM, requires_chromium
from tools.perception.ocr import OcrLine
from tools.perception.parsing import Price
from tools.perception.screen_reader import BACKEND_NAME, FrameReading, OfflineScreenReader
from tools.schemas import Frame

BRANDS = ["Maxima", "Titan", "Borosil"]
CATEGORIES = ["Watches", "Wrist Watches", "Smart Watches", "Kitchen", "Coffee Mugs"]


class FakeOcr:
    """Stands in for RapidOcrReader: returns prepared boxes per screenshot path and records what was read."""

    def __init__(self, pages: dict[str, list[OcrLine]] | None = None) -> None:
        self.pages = pages or {}
        self.read_paths: list[str] = []

    def read(self, image, sha256=None, interrupted=None):
        self.read_paths.append(str(image))
        return self.pages.get(str(image), [])


def reader(ocr: FakeOcr | None = None) -> OfflineScreenReader:
    return OfflineScreenReader(brands=BRANDS, categories=CATEGORIES, ocr=ocr or FakeOcr())


def draw(items, size=(1280, 800)) -> tuple[bytes, list[OcrLine]]:
    """items: (text, x, y, font px, bold, struck); returns the PNG and the boxes a detector would give (the
    text's ink box, padded)."""
    image = Image.new("RGB", size, "white")
    canvas = ImageDraw.Draw(image)
    boxes = []
    for text, x, y, px, bold, struck in items:
        font = ImageFont.load_default(size=px)
        stroke = 1 if bold else 0
        canvas.text((x, y), text, font=font, fill=(25, 25, 25), stroke_width=stroke, stroke_fill=(25, 25, 25))
        left, top, right, bottom = canvas.textbbox((x, y), text, font=font, stroke_width=stroke)
        if struck:
            canvas.line([(left, (top + bottom) // 2), (right, (top + bottom) // 2)], fill=(25, 25, 25), width=2)
        pad = 0.3 * px
        boxes.append(OcrLine(text, left - pad, top - pad, right + pad, bottom + pad, 0.98))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue(), sorted(boxes, key=lambda b: (round((b.y0 + b.y1) / 16), b.x0))


HEADER = [("Acme Outfitters", 40, 20, 22, True, False), ("Search", 500, 24, 15, False, False),
          ("Sign in", 1100, 24, 15, False, False)]
TITLE = "Maxima Steel Analog Wrist Watch for Men with Date Display and Leather Strap"
PRODUCT = HEADER + [
    ("Maxima Steel Analog Wrist Watch for Men with Date", 600, 150, 26, False, False),
    ("Display and Leather Strap", 600, 184, 26, False, False),
    ("Brand: Maxima", 600, 230, 15, False, False),
    ("4.3 out of 5 stars", 600, 262, 14, False, False), ("1,234 ratings", 760, 262, 14, False, False),
    ("$129.99", 600, 300, 32, True, False), ("$159.99", 760, 310, 17, False, True),
    ("Add to cart", 600, 370, 17, True, False),
    ("Material: Stainless steel", 600, 430, 14, False, False),
    ("Free returns within 30 days", 600, 460, 14, False, False),
]


def _frame(session: str, sequence: int, path: Path, **fields) -> Frame:
    return Frame(frame_id=f"{session}:{sequence}", session_id=session, sequence=sequence, path=str(path),
                 sha256=hashlib.sha256(str(path).encode()).hexdigest(), captured_at=time.time(), **fields)


# -- one frame -------------------------------------------------------------------------------------------
def test_a_product_page_is_read_by_the_page_rules_from_its_ocr_lines():
    png, boxes = draw(PRODUCT)
    r = reader().read_ocr_lines("s:3", boxes, png)
    assert r.frame_id == "s:3" and r.kind == "product"
    assert r.title == TITLE  # both lines of the wrapped title, not the brand line under it
    assert r.brand == "Maxima"
    assert r.price == Price(129.99, "USD")
    assert r.list_price == 159.99  # the struck-through amount beside the price
    assert r.rating == 4.3 and r.rating_count == 1234
    assert r.specifications.get("Material") == "Stainless steel"
    # no trail on the page: the title's head noun ("Wrist Watch") named as the catalog names it
    assert r.category_path == ["Wrist Watches"]
    assert {r.sources[name] for name in ("title", "price", "brand", "rating")} == {"ocr"}


def test_without_the_pixels_the_same_boxes_still_give_the_price_and_brand():
    _, boxes = draw(PRODUCT)
    r = reader().read_ocr_lines("s:1", boxes)
    assert r.price == Price(129.99, "USD") and r.brand == "Maxima"


def test_a_grid_of_equal_prices_is_a_listing_without_a_main_product():
    cards = [(f"${20 + i}.00", 100 + 280 * (i % 4), 300 + 250 * (i // 4), 18, True, False) for i in range(8)]
    names = [(f"Ceramic mug no. {i}", 100 + 280 * (i % 4), 270 + 250 * (i // 4), 15, False, False)
             for i in range(8)]
    png, boxes = draw(HEADER + cards + names)
    r = reader().read_ocr_lines("s:2", boxes, png)
    assert r.kind == "listing"
    assert r.title is None and r.price is None
    assert sorted(p.amount for p in r.card_prices) == [20.0 + i for i in range(8)]


def test_a_page_without_text_reads_as_other():
    r = reader().read_ocr_lines("s:9", [])
    assert r.kind == "other" and (r.title, r.price, r.brand, r.category_path) == (None, None, None, [])
    assert isinstance(r, FrameReading)


def test_read_frame_reads_the_screenshot_by_ocr_when_it_has_no_text_layer(tmp_path):
    png, boxes = draw(PRODUCT)
    (tmp_path / "a.png").write_bytes(png)
    ocr = FakeOcr({str(tmp_path / "a.png"): boxes})
    r = reader(ocr).read_frame(_frame("s", 1, tmp_path / "a.png"))
    assert r.kind == "product" and r.title == TITLE and r.list_price == 159.99
    assert ocr.read_paths == [str(tmp_path / "a.png")]


def test_summarise_skips_duplicate_frames_without_reading_them(tmp_path):
    product, product_boxes = draw(PRODUCT)
    other, other_boxes = draw(HEADER + [("Your basket is empty", 400, 300, 20, False, False)])
    (tmp_path / "a.png").write_bytes(product)
    (tmp_path / "b.png").write_bytes(other)
    ocr = FakeOcr({str(tmp_path / "a.png"): product_boxes, str(tmp_path / "b.png"): other_boxes})
    frames = [
        _frame("s", 1, tmp_path / "a.png", width=1280, height=800),
        _frame("s", 2, tmp_path / "b.png", width=1280, height=800),
        _frame("s", 3, tmp_path / "a.png", duplicate_of="s:1", width=1280, height=800),
    ]
    summary = reader(ocr).summarise(frames)
    assert str(tmp_path / "a.png") in ocr.read_paths and ocr.read_paths.count(str(tmp_path / "a.png")) <= 2
    assert summary.frames_read == 2
    assert summary.summariser == BACKEND_NAME and "not an MLLM" in summary.summariser
    assert [p.title for p in summary.products_seen] == [TITLE]
    assert summary.product_characteristics.types[0].value == "Wrist Watches"
    assert [e.value for e in summary.brand_preferences] == ["Maxima"]
    assert (summary.price_range.lowest, summary.price_range.highest) == (129.99, 129.99)


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
    # OCR loses the trail's separators, so the type comes from the title's head noun ("Men's Watch")
    assert r.category_path and r.category_path[-1] in {"Watches", "Wrist Watches"}
    assert r.title == "Maxima Analog Black Dial Men's Watch"
    assert r.brand == "Maxima"
    assert r.price == Price(595.0, "INR")
    # Not asserted: the list price. OCR reads the struck "1,295" without its sign, and the page rules take no
    # bare amount for a price (docs/reading-real-shops.md, OCR section).
    assert r.rating == 4.3
    assert r.rating_count == 1234
    assert "black" in r.colours
    assert r.specifications.get("Strap Color") == "Black"



def test_a_rupee_sign_read_as_tian_is_still_a_price():
    from tools.perception.parsing import bare_amount, card_price

    assert bare_amount("天8,999") == 8999 and card_price("天8,999") == 8999

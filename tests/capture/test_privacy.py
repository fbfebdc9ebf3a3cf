"""Sensitive fields are masked in the screenshots ShopperBrowser stores, proved on the pixels: where a password,
card number, e-mail, address or phone number is filled in, the stored frame shows exactly what the same page
shows with those fields empty, while ordinary text stays readable and the values themselves are untouched."""

from __future__ import annotations

import io
from collections.abc import Iterator
from html import escape
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import CHROMIUM, requires_chromium
from tests.local_site import serve
from tools.capture.browser import BrowserConfig, ShopperBrowser
from tools.capture.frames import FrameStore
from tools.capture.privacy import STYLE_ID

pytestmark = requires_chromium

PRODUCT = "Aurora Trail Running Shoe"
SECRETS = {  # selector -> the distinctive value it is filled with
    "#password": "Hunter2Secret",
    "#card": "4111 1111 1111 1111",
    "#email": "jane.doe@example.org",
    "#address": "221B Baker Street\nLondon NW1 6XE",
    "#phone": "+44 20 7946 0958",
}


def _checkout(filled: bool) -> bytes:
    value = {selector: escape(text) if filled else "" for selector, text in SECRETS.items()}
    field = "display:block;margin:8px 0 16px;width:420px;font:20px sans-serif;padding:4px"
    return f"""<!doctype html><html><head><title>Checkout</title></head>
<body style="margin:24px;font:22px sans-serif">
<h1 id="product">{PRODUCT}</h1><p>Size 42, colour teal. 129.00 EUR</p>
<label>Password<input id="password" type="password" value="{value['#password']}" style="{field}"></label>
<label>Card number<input id="card" autocomplete="cc-number" value="{value['#card']}" style="{field}"></label>
<label>E-mail<input id="email" type="email" value="{value['#email']}" style="{field}"></label>
<label>Address<textarea id="address" name="address" autocomplete="street-address" rows="4"
  style="{field};resize:none;overflow:hidden">{value['#address']}</textarea></label>
<label>Phone<input id="phone" type="tel" value="{value['#phone']}" style="{field}"></label>
</body></html>""".encode()


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        body = _checkout(filled=self.path.startswith("/checkout"))
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _site():  # noqa: ANN202
    return serve(_Handler)


def _pixels(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGB"))


def _crop(pixels: np.ndarray, box: dict) -> np.ndarray:
    x0, y0 = int(box["x"]), int(box["y"])
    x1, y1 = int(np.ceil(box["x"] + box["width"])), int(np.ceil(box["y"] + box["height"]))
    return pixels[y0:y1, x0:x1]


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Iterator[dict]:
    """One capture of the filled checkout page, and what the test needs to judge it."""
    store = FrameStore(tmp_path_factory.mktemp("frames"))
    session = store.new_session("privacy-test")
    with _site() as site, ShopperBrowser(BrowserConfig(executable=CHROMIUM), store, session) as browser:
        page = browser.page
        browser.goto(f"{site}/checkout")
        boxes = {selector: page.locator(selector).bounding_box() for selector in [*SECRETS, "#product"]}
        unmasked = page.screenshot(full_page=False, caret="hide")  # only to show the values would be visible
        frame = browser.capture("navigation")
        values = {selector: page.locator(selector).input_value() for selector in SECRETS}
        style_left = page.locator(f"#{STYLE_ID}").count()
        stats = browser.stats
        browser.goto(f"{site}/empty")
        empty_boxes = {selector: page.locator(selector).bounding_box() for selector in SECRETS}
        empty = page.screenshot(full_page=False, caret="hide", animations="disabled")
    assert frame is not None
    yield {"frame": frame, "png": Path(frame.path).read_bytes(), "boxes": boxes, "empty_boxes": empty_boxes,
           "unmasked": unmasked, "empty": empty, "values": values, "style_left": style_left, "stats": stats}
    store.close()


def test_sensitive_fields_look_exactly_as_if_empty(checkout):
    captured, empty, unmasked = (_pixels(checkout[name]) for name in ("png", "empty", "unmasked"))
    assert captured.shape == empty.shape
    for selector in SECRETS:
        box = checkout["boxes"][selector]
        assert box == checkout["empty_boxes"][selector], f"{selector} moved between the two renderings"
        assert not np.array_equal(_crop(unmasked, box), _crop(empty, box)), f"{selector} shows nothing unmasked"
        assert np.array_equal(_crop(captured, box), _crop(empty, box)), f"{selector} is visible in the frame"


def test_ordinary_text_is_captured(checkout):
    region = _crop(_pixels(checkout["png"]), checkout["boxes"]["#product"])
    grey = region.mean(axis=2)
    assert grey.std() > 20  # dark glyphs on a light background, not one flat colour
    assert (grey < 100).sum() > 200


def test_masking_hides_values_without_changing_them(checkout):
    assert checkout["values"] == SECRETS
    assert checkout["style_left"] == 0
    assert checkout["stats"].masked_fields >= 5
    frame = checkout["frame"]
    assert frame.reason == "navigation" and frame.url.endswith("/checkout") and frame.title == "Checkout"


def test_ocr_reads_the_product_but_no_secret(checkout):
    pytest.importorskip("rapidocr")
    from tools.perception.ocr import RapidOcrReader

    text = " ".join(line.text for line in RapidOcrReader().read(checkout["png"]))
    assert "Aurora" in text and "Shoe" in text
    for fragment in ("Hunter", "4111", "jane", "example.org", "Baker", "NW1", "7946", "0958"):
        assert fragment not in text, f"{fragment!r} is readable in {text!r}"


@requires_chromium
def test_fields_inside_an_iframe_are_masked_too(tmp_path):
    import http.server
    from functools import partial

    from tools.capture.browser import BrowserConfig, ShopperBrowser
    from tools.capture.frames import FrameStore

    site = tmp_path / "site"
    site.mkdir()
    (site / "card.html").write_text(
        "<body style='margin:0'><input autocomplete='cc-number' value='4111 1111 1111 1111' "
        "style='font-size:28px;width:420px'></body>", encoding="utf-8")
    (site / "checkout.html").write_text(
        "<body><h1>Checkout</h1><iframe id='pay' src='card.html' style='width:500px;height:80px;border:0'>"
        "</iframe></body>", encoding="utf-8")
    (site / "empty.html").write_text(
        "<body style='margin:0'><input autocomplete='cc-number' value='' style='font-size:28px;width:420px'>"
        "</body>", encoding="utf-8")
    (site / "checkout-empty.html").write_text(
        "<body><h1>Checkout</h1><iframe id='pay' src='empty.html' style='width:500px;height:80px;border:0'>"
        "</iframe></body>", encoding="utf-8")
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    with serve(handler) as base:  # type: ignore[arg-type]
        frames = FrameStore(tmp_path / "frames", near_duplicate_bits=0)
        session = frames.new_session("test")
        shots = []
        with ShopperBrowser(BrowserConfig(executable=CHROMIUM), frames, session) as browser:
            for page in ("checkout.html", "checkout-empty.html"):
                browser.goto(f"{base}/{page}")
                browser.page.wait_for_timeout(300)
                box = browser.page.locator("#pay").bounding_box()
                frame = browser.capture("navigation")
                shots.append((frame, box))
            assert browser.page.frames[1].locator("input").input_value() == ""  # the empty page, untouched
    (filled, box), (empty, _) = shots
    crop = (int(box["x"]), int(box["y"]), int(box["x"] + box["width"]), int(box["y"] + box["height"]))
    with Image.open(filled.path) as a, Image.open(empty.path) as b:
        assert a.crop(crop).tobytes() == b.crop(crop).tobytes()

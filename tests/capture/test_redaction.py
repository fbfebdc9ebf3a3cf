"""Personal details a page shows (the shopper's name in a greeting, where they deliver to, their e-mail address)
are blurred in the stored screenshot and dropped from its text layer, unless the setting turns that off: the
patterns on hand-made lines, the blur on pixels, and both in real Chromium."""

from __future__ import annotations

import io
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from tests.conftest import CHROMIUM, requires_chromium
from tests.local_site import serve
from tools.capture.browser import BrowserConfig, ShopperBrowser
from tools.capture.frames import FrameStore
from tools.capture.privacy import blur_boxes, find_personal_lines, redact_personal_details
from tools.lines import ScreenLine


def _line(text: str, x0: float = 0, y0: float = 0, x1: float = 200, y1: float = 16, **fields: object) -> ScreenLine:
    return ScreenLine(text=text, x0=x0, y0=y0, x1=x1, y1=y1, source="text-layer", font_size=y1 - y0, **fields)


PERSONAL = [
    "Hello, Jane Doe", "Hello Jane", "Hi Jane!", "Hey, Jane", "Welcome back, Jane", "Hallo, Max Mustermann",
    "Guten Tag Max", "Bonjour Marie", "Bonjour, Marie Dupont", "Hola, Lucía", "Hola María de la Cruz", "Ciao Giulia",
    "Buongiorno, Giulia", "Deliver to Jane - London NW1 6XE", "Ship to: Jane Doe", "Liefern an Max 10115 Berlin",
    "Livrer à Marie 75001 Paris", "Enviar a Lucía 28013 Madrid", "Consegna a Giulia 20121 Milano",
    "Your account: Jane Doe", "Signed in as jane", "jane.doe@example.org", "Contact jane_doe+shop@mail.example.co.uk",
    "Tel. +44 20 7946 0958", "Phone: 020 7946 0958", "Call (555) 123-4567",
]
NOT_PERSONAL = [
    "Aurora Trail Running Shoe", "Hello Kitty mug", "Hi-Fi speakers", "Hi there, we ship worldwide in 2 days",
    "Welcome to our shop", "My account", "Account & Lists", "129.00 EUR", "+12.99 EUR shipping", "Free shipping to EU",
    "Ship tomorrow", "EAN 4006381333931", "Model 2024 1234 5678", "Holanda collection",
]


@pytest.mark.parametrize("text", PERSONAL)
def test_personal_details_are_found(text):
    assert find_personal_lines([_line(text)]) == [0]


@pytest.mark.parametrize("text", NOT_PERSONAL)
def test_ordinary_text_is_left_alone(text):
    assert find_personal_lines([_line(text)]) == []


def test_a_product_property_is_no_greeting():
    assert find_personal_lines([_line("Hello Kitty", itemprop="name")]) == []


def test_runs_continuing_a_greeting_or_an_address_belong_to_it():
    lines = sorted([
        _line("Hello,", 10, 10, 50, 26), _line("Jane", 54, 10, 90, 26),  # the name in a <b> of its own
        _line("Orders", 300, 10, 350, 26),  # far along the same row: a menu link
        _line("Account & Lists", 10, 30, 110, 46),  # below the greeting, which already had its name on the row
        _line("Deliver to", 500, 10, 570, 22), _line("Jane Doe", 500, 26, 560, 40),
        _line("London NW1 6XE", 500, 42, 600, 56),  # the label alone: the name and the address below it
        _line("Big summer sale", 500, 90, 640, 110),  # well below: not part of it
        _line("Hi", 10, 200, 26, 216), _line("Sam Smith", 10, 218, 90, 234),  # the name just below the greeting
        _line("Bestsellers", 10, 260, 100, 276),
    ], key=lambda line: (round(line.y0), line.x0))
    found = [lines[i].text for i in find_personal_lines(lines)]
    assert sorted(found) == sorted(["Hello,", "Jane", "Deliver to", "Jane Doe", "London NW1 6XE", "Hi", "Sam Smith"])


def _card(text_boxes: list[tuple[int, int, str]]) -> bytes:
    image = Image.new("RGB", (400, 120), "white")
    draw = ImageDraw.Draw(image)
    for x, y, text in text_boxes:
        draw.text((x, y), text, fill="black", font_size=18)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _grey(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("L"), dtype=np.float32)


def test_blurring_smooths_the_box_and_leaves_the_rest_untouched():
    png = _card([(10, 10, "Hello, Jane Doe"), (10, 70, "Aurora Trail Running Shoe")])
    lines = [_line("Hello, Jane Doe", 10, 12, 150, 32), _line("Aurora Trail Running Shoe", 10, 72, 250, 92)]
    blurred, kept, redacted = redact_personal_details(png, lines)
    before, after = _grey(png), _grey(blurred)
    assert redacted == 1 and kept == [lines[1]]
    assert before[12:32, 10:150].std() > 40 and after[12:32, 10:150].std() < 0.3 * before[12:32, 10:150].std()
    assert np.array_equal(before[60:, :], after[60:, :])  # outside the padded box: the same pixels
    assert redact_personal_details(png, lines[1:]) == (png, lines[1:], 0)  # nothing personal: the bytes as given
    assert _grey(blur_boxes(png, [(-50, -50, -10, -10), (390, 110, 900, 900)])).shape == before.shape  # clipped


# -- in real Chromium ----------------------------------------------------------------------------------------
HEADER_PAGE = b"""<!doctype html><html><head><title>Aurora | Test shop</title></head>
<body style="margin:0;font:18px sans-serif">
<header style="display:flex;align-items:flex-start;gap:56px;padding:12px 24px;background:#f5f5f5">
  <a id="greeting" href="/account" style="color:#124">Hello, Jane Doe</a>
  <div id="deliver"><div style="font-size:13px">Deliver to</div><div>Jane, London NW1 6XE</div></div>
  <span id="email">jane.doe@example.org</span>
  <a id="cart" href="/cart">Cart</a>
</header>
<main style="padding:16px 24px"><h1 id="title">Aurora Trail Running Shoe</h1><p id="price">129.00 EUR</p></main>
</body></html>"""
SELECTORS = ("#greeting", "#deliver", "#email", "#title", "#price", "#cart")


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(HEADER_PAGE)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def captures(tmp_path_factory) -> Iterator[dict]:
    """The header page captured with redaction on and with it off, each in a session of its own."""
    store = FrameStore(tmp_path_factory.mktemp("frames"))
    result: dict = {"store": store}
    with serve(_Handler) as site:
        for redact in (True, False):
            session = store.new_session(f"redact={redact}")
            config = BrowserConfig(executable=CHROMIUM, redact_personal=redact)
            with ShopperBrowser(config, store, session) as browser:
                browser.goto(f"{site}/")
                boxes = {name: browser.page.locator(name).bounding_box() for name in SELECTORS}
                frame = browser.capture("navigation")
                result[redact] = {"frame": frame, "png": Path(frame.path).read_bytes(), "boxes": boxes,
                                  "layer": store.text_layer(frame), "stats": browser.stats}
    yield result
    store.close()


def _region(png: bytes, box: dict) -> np.ndarray:
    grey = _grey(png)
    return grey[int(box["y"]):int(np.ceil(box["y"] + box["height"])),
                int(box["x"]):int(np.ceil(box["x"] + box["width"]))]


@requires_chromium
@pytest.mark.browser
def test_the_name_address_and_e_mail_are_blurred_in_the_stored_frame(captures):
    redacted, plain = captures[True], captures[False]
    assert plain["boxes"] == redacted["boxes"]
    for selector in ("#greeting", "#deliver", "#email"):
        box = redacted["boxes"][selector]
        shown, blurred = _region(plain["png"], box), _region(redacted["png"], box)
        assert shown.std() > 30, f"{selector} shows no text in the unredacted frame"
        assert blurred.std() < 0.35 * shown.std(), f"{selector} is still sharp in the stored frame"
    for selector in ("#title", "#price", "#cart"):  # the rest of the page is as it was
        box = redacted["boxes"][selector]
        assert np.array_equal(_region(plain["png"], box), _region(redacted["png"], box)), selector


@requires_chromium
@pytest.mark.browser
def test_the_personal_runs_are_not_in_the_text_layer(captures):
    texts = [line.text for line in captures[True]["layer"].lines]
    assert texts == ["Cart", "Aurora Trail Running Shoe", "129.00 EUR"]
    stats = captures[True]["stats"]
    assert (stats.redacted_lines, stats.redacted_frames) == (4, 1)


@requires_chromium
@pytest.mark.browser
def test_with_the_setting_off_personal_details_are_kept(captures):
    texts = [line.text for line in captures[False]["layer"].lines]
    assert {"Hello, Jane Doe", "Deliver to", "Jane, London NW1 6XE", "jane.doe@example.org"} <= set(texts)
    assert captures[False]["stats"].redacted_lines == 0


@requires_chromium
@pytest.mark.browser
def test_ocr_cannot_read_the_redacted_details(captures):
    pytest.importorskip("rapidocr")
    from tools.perception.ocr import RapidOcrReader

    reader = RapidOcrReader()
    plain = " ".join(line.text for line in reader.read(captures[False]["png"]))
    redacted = " ".join(line.text for line in reader.read(captures[True]["png"]))
    assert "Jane" in plain and "NW1" in plain  # the unredacted frame does show them
    assert "Aurora" in redacted
    for fragment in ("Jane", "Doe", "NW1", "London", "example", "Deliver"):
        assert fragment not in redacted, f"{fragment!r} is readable in {redacted!r}"


def test_the_setting_reaches_the_browser_config(monkeypatch):
    from agent.settings import load_settings
    from agent.wiring import browser_config

    assert browser_config(load_settings()).redact_personal is True
    monkeypatch.setenv("INTERAREC_REDACT_PERSONAL_DETAILS", "false")
    assert load_settings().redact_personal_details is False
    assert browser_config(load_settings()).redact_personal is False

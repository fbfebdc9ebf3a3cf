"""The text layer recorded with every frame our own browser captures: the visible text of the viewport with its
boxes and style, read while the privacy mask is on, and the page's product markup, read once per document.
The snapshot parser and the markup extractor are also tested on hand-written input."""

from __future__ import annotations

from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from tests.conftest import CHROMIUM, requires_chromium
from tests.local_site import serve
from tools.capture.browser import BrowserConfig, ShopperBrowser
from tools.capture.frames import FrameStore
from tools.capture.page.markup import extract_markup
from tools.capture.page.text_layer import Viewport, lines_from_snapshot
from tools.lines import ScreenLine, TextLayer

# -- the snapshot parser on a hand-written DOMSnapshot ----------------------------------------------------------
_STYLE_NAMES = ("font-size", "font-weight", "color", "text-decoration-line", "visibility", "opacity")


class _Snapshot:
    """Builds a ``DOMSnapshot.captureSnapshot`` result: nodes, their layout with the six computed styles
    text_layer.py asks for, and text boxes, over one shared string table."""

    def __init__(self, scroll_y: float = 0.0) -> None:
        self.strings: list[str] = []
        self.nodes = {"parentIndex": [], "nodeName": [], "attributes": []}
        self.layout = {"nodeIndex": [], "styles": [], "text": []}
        self.boxes = {"layoutIndex": [], "bounds": [], "start": [], "length": []}
        self.scroll_y = scroll_y

    def _s(self, value: str) -> int:
        if value not in self.strings:
            self.strings.append(value)
        return self.strings.index(value)

    def node(self, name: str, parent: int, attributes: dict[str, str] | None = None, **styles: str) -> int:
        self.nodes["parentIndex"].append(parent)
        self.nodes["nodeName"].append(self._s(name))
        self.nodes["attributes"].append([self._s(x) for pair in (attributes or {}).items() for x in pair])
        index = len(self.nodes["nodeName"]) - 1
        if name != "#document":
            self._layout(index, "", styles)
        return index

    def _layout(self, node: int, text: str, styles: dict[str, str]) -> int:
        values = {"font-size": "16px", "font-weight": "400", "color": "rgb(0, 0, 0)", "text-decoration-line": "none",
                  "visibility": "visible", "opacity": "1"}
        values.update({key.replace("_", "-"): value for key, value in styles.items()})
        self.layout["nodeIndex"].append(node)
        self.layout["styles"].append([self._s(values[name]) for name in _STYLE_NAMES])
        self.layout["text"].append(self._s(text) if text else -1)
        return len(self.layout["nodeIndex"]) - 1

    def text(self, parent: int, text: str, bounds: tuple[float, float, float, float], **styles: str) -> None:
        self.nodes["parentIndex"].append(parent)
        self.nodes["nodeName"].append(self._s("#text"))
        self.nodes["attributes"].append([])
        layout = self._layout(len(self.nodes["nodeName"]) - 1, text, styles)
        self.boxes["layoutIndex"].append(layout)
        self.boxes["bounds"].append(list(bounds))
        self.boxes["start"].append(0)
        self.boxes["length"].append(len(text))

    def result(self) -> dict:
        return {"documents": [{"nodes": self.nodes, "layout": self.layout, "textBoxes": self.boxes,
                               "scrollOffsetX": 0.0, "scrollOffsetY": self.scroll_y}], "strings": self.strings}


def test_lines_from_a_hand_written_snapshot():
    snap = _Snapshot(scroll_y=100)
    doc = snap.node("#document", -1)
    html = snap.node("HTML", doc)
    body = snap.node("BODY", html)
    h1 = snap.node("H1", body, font_size="32px", font_weight="700")
    snap.text(h1, "Aurora Trail Running Shoe", (10, 120, 400, 38), font_size="32px", font_weight="700")
    s = snap.node("S", body, text_decoration_line="line-through")
    snap.text(s, "159.00 EUR", (10, 170, 90, 20), color="rgb(120, 120, 120)")
    price = snap.node("SPAN", body, {"itemprop": "price"})
    snap.text(price, "129.00 EUR", (110, 170, 90, 20), color="rgb(200, 0, 0)")
    button = snap.node("DIV", body, {"role": "button"})
    snap.text(button, "  Add to cart  ", (10, 200, 120, 24))
    hidden = snap.node("P", body, visibility="hidden")
    snap.text(hidden, "Hidden promotion", (10, 240, 200, 20), visibility="hidden")
    faded = snap.node("DIV", body, opacity="0")
    snap.text(faded, "Faded out", (10, 270, 200, 20))
    field = snap.node("INPUT", body)
    snap.text(field, "typed by the shopper", (10, 300, 200, 20))
    snap.text(body, "Scrolled past", (10, 20, 200, 20))  # above the viewport at this scroll
    snap.text(body, "Below the fold", (10, 100 + 700, 200, 20))
    snap.text(body, "   ", (10, 330, 20, 20))

    lines = lines_from_snapshot(snap.result(), Viewport(800, 600))
    assert [line.text for line in lines] == ["Aurora Trail Running Shoe", "159.00 EUR", "129.00 EUR", "Add to cart"]
    title, struck, sale, button_line = lines
    assert (title.x0, title.y0, title.x1, title.y1) == (10, 20, 410, 58)  # page y 120 at scroll 100
    assert (title.tag, title.role, title.font_size, title.font_weight) == ("h1", "heading", 32, 700)
    assert title.source == "text-layer" and not title.line_through
    assert struck.line_through and struck.role == "struck" and struck.colour == "#787878"
    assert not sale.line_through and sale.itemprop == "price" and sale.colour == "#c80000"
    assert button_line.role == "button" and button_line.tag == "div"

    scaled = lines_from_snapshot(snap.result(), Viewport(1600, 1200, scale=2.0))
    assert (scaled[0].x0, scaled[0].y0, scaled[0].x1, scaled[0].y1, scaled[0].font_size) == (20, 40, 820, 116, 64)
    assert lines_from_snapshot({"documents": []}, Viewport(800, 600)) == []


# -- the markup extractor ---------------------------------------------------------------------------------------
_MARKUP_PAGE = """<!doctype html><html><head>
<meta property="og:title" content="Aurora Trail Running Shoe"><meta property="og:type" content="product">
<meta property="product:price:amount" content="129.00"><meta property="og:description" content="Run far">
<script type="application/ld+json">{"@context": "https://schema.org", "@graph": [
  {"@type": "Organization", "name": "Test shop", "url": "https://shop.example"},
  {"@type": "WebSite", "name": "Test shop"},
  {"@type": "Product", "name": "Aurora Trail Running Shoe", "brand": {"@type": "Brand", "name": "Aurora"},
   "offers": {"@type": "Offer", "price": "129.00", "priceCurrency": "EUR"}}]}</script>
<script type="application/ld+json">{"@context": "https://schema.org", "@type": "Person", "name": "Jane Doe"}
</script></head><body>
<div itemscope itemtype="https://schema.org/Product"><h1 itemprop="name">Aurora Trail Running Shoe</h1>
  <div itemprop="offers" itemscope itemtype="https://schema.org/Offer"><span itemprop="price">129.00</span>
  <meta itemprop="priceCurrency" content="EUR"></div></div>
<div itemscope itemtype="https://schema.org/Organization"><span itemprop="name">Test shop</span></div>
</body></html>"""


def test_extract_markup_keeps_products_and_drops_everything_else():
    markup = extract_markup(_MARKUP_PAGE, "http://127.0.0.1/p/aurora")
    [product] = markup["json-ld"]
    assert product["@type"] == "Product" and product["offers"]["price"] == "129.00"
    [item] = markup["microdata"]
    assert item["@type"] == "Product" and item["name"] == "Aurora Trail Running Shoe"
    assert item["offers"]["price"] == "129.00"
    assert markup["opengraph"] == {"og:title": "Aurora Trail Running Shoe", "og:type": "product",
                                   "product:price:amount": "129.00"}
    assert "Jane Doe" not in repr(markup) and "Organization" not in repr(markup) and "WebSite" not in repr(markup)
    assert extract_markup("", "") == {"json-ld": [], "microdata": [], "opengraph": {}}
    assert extract_markup("<html><body><p>No markup</p></body></html>") == {"json-ld": [], "microdata": [],
                                                                           "opengraph": {}}


def test_a_text_layer_round_trips_through_its_file_format():
    line = ScreenLine(text="159.00 EUR", x0=1.25, y0=2, x1=90, y1=20, source="text-layer", font_size=16,
                      line_through=True, role="struck", tag="s")
    layer = TextLayer(lines=[line], markup={"json-ld": [{"@type": "Product", "name": "Ä"}]})
    again = TextLayer.loads(layer.dumps())
    assert again.markup == layer.markup
    assert again.lines[0].model_copy(update={"x0": 1.25}) == line  # coordinates are stored to 0.1 px
    assert TextLayer.loads(TextLayer(lines=[]).dumps()) == TextLayer()
    for bad in ("", "[]", '{"lines": []}', '{"fields": ["text"], "lines": [[1, 2]]}'):
        with pytest.raises(ValueError):
            TextLayer.loads(bad)


# -- captured frames in real Chromium ---------------------------------------------------------------------------
PRODUCT_PAGE = """<!doctype html><html><head><title>{title} | Test shop</title>
<script type="application/ld+json">{{"@context": "https://schema.org", "@graph": [
  {{"@type": "Organization", "name": "Test shop"}},
  {{"@type": "Product", "name": "{title}", "offers": {{"@type": "Offer", "price": "129.00", "priceCurrency": "EUR"}}}}
]}}</script></head>
<body style="margin:0;font:18px sans-serif"><main style="padding:16px 24px">
<h1 id="title">{title}</h1>
<p><s id="list-price">159.00 EUR</s> <strong id="price">129.00 EUR</strong></p>
<label id="coupon-label">Coupon <input id="coupon" value="SPRING-SECRET-10" style="font:18px sans-serif"></label>
<label>E-mail <input id="mail" type="email" value="typed.secret@example.org" style="font:18px sans-serif"></label>
<p style="visibility:hidden">Invisible promotion</p>
<aside data-interarec-panel style="padding:8px;background:#eef">Recommended for you: Alpine Boot</aside>
<div style="height:1500px"></div><p id="fold">Below the fold</p>
</main></body></html>"""
TITLES = {"/aurora": "Aurora Trail Running Shoe", "/alpine": "Alpine Hiking Boot", "/coast": "Coast Sandal"}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        path = self.path.split("?")[0]
        title = TITLES.get(path)
        self.send_response(200 if title or path in ("/markup", "/body-item") else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        body = PRODUCT_PAGE.format(title=title) if title else "not found"
        if path == "/markup":
            body = _MARKUP_PAGE.replace("</body>", "<p>Free delivery</p></body>")
        elif path == "/body-item":  # the whole body is the product item, as some shops write it
            body = ('<!doctype html><html><head><title>Coast Sandal</title></head>'
                    '<body itemscope itemtype="https://schema.org/Product"><h1 itemprop="name">Coast Sandal</h1>'
                    '<div itemprop="offers" itemscope itemtype="https://schema.org/Offer">'
                    '<span itemprop="price">49.00</span></div><p>Free delivery</p></body></html>')
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def store(tmp_path) -> Iterator[FrameStore]:
    # Only identical pixels are duplicates here: the test pages differ in their title alone, which near-duplicate
    # detection does not tell apart.
    frames = FrameStore(tmp_path / "frames", near_duplicate_bits=0)
    yield frames
    frames.close()


@pytest.fixture
def site() -> Iterator[str]:
    with serve(_Handler) as base:
        yield base


def _texts(layer: TextLayer | None) -> list[str]:
    assert layer is not None
    return [line.text for line in layer.lines]


@requires_chromium
@pytest.mark.browser
def test_a_captured_frame_carries_the_visible_text_with_boxes_and_style(store, site):
    session = store.new_session("text-layer-test")
    with ShopperBrowser(BrowserConfig(executable=CHROMIUM), store, session) as browser:
        browser.goto(f"{site}/aurora")
        boxes = {name: browser.page.locator(name).bounding_box() for name in ("#title", "#list-price", "#price")}
        frame = browser.capture("navigation")
        stats = browser.stats
    assert frame is not None and frame.duplicate_of is None
    layer = store.text_layer(frame)
    texts = _texts(layer)
    assert texts[:4] == ["Aurora Trail Running Shoe", "159.00 EUR", "129.00 EUR", "Coupon"]
    assert "E-mail" in texts
    for absent in ("SPRING", "typed.secret", "Invisible", "Recommended", "Alpine", "Below the fold"):
        assert not any(absent in text for text in texts), f"{absent!r} is in the text layer {texts}"
    for line in layer.lines:  # boxes in screenshot pixels, inside the viewport
        assert 0 <= line.x0 < line.x1 <= frame.width and 0 <= line.y0 < line.y1 <= frame.height, line
        assert line.source == "text-layer"
    by_text = {line.text: line for line in layer.lines}
    for text, selector in (("Aurora Trail Running Shoe", "#title"), ("159.00 EUR", "#list-price"),
                           ("129.00 EUR", "#price")):
        line, box = by_text[text], boxes[selector]
        assert box["x"] - 1 <= line.x0 < line.x1 <= box["x"] + box["width"] + 1, (text, line, box)
        assert box["y"] - 1 <= line.y0 < line.y1 <= box["y"] + box["height"] + 1, (text, line, box)
    title, struck, sale = by_text["Aurora Trail Running Shoe"], by_text["159.00 EUR"], by_text["129.00 EUR"]
    assert (title.role, title.tag, title.font_size, title.font_weight) == ("heading", "h1", 36, 700)
    assert struck.line_through and not sale.line_through and sale.font_weight == 700
    assert layer.markup is not None
    assert [item["@type"] for item in layer.markup["json-ld"]] == ["Product"]  # not the Organization
    assert layer.markup["json-ld"][0]["name"] == "Aurora Trail Running Shoe"
    assert (stats.text_layers, stats.text_layer_failed) == (1, 0)
    assert store.text_layer_path(frame.sha256).is_file()


@requires_chromium
@pytest.mark.browser
def test_a_duplicate_frame_has_its_originals_text_layer_and_markup_is_read_once_per_document(store, site):
    session = store.new_session("text-layer-test")
    with ShopperBrowser(BrowserConfig(executable=CHROMIUM), store, session) as browser:
        reads: list[str] = []
        markup_html = browser.recorder.markup_html

        def counting_reads(page) -> str:  # noqa: ANN001
            reads.append(page.url)
            return markup_html(page)

        browser.recorder.markup_html = counting_reads
        browser.goto(f"{site}/aurora")
        first = browser.capture("navigation")
        again = browser.capture("interval")  # the same pixels
        browser.page.evaluate("window.scrollTo(0, 60)")
        scrolled = browser.capture("scroll")  # the same document, other pixels
        browser.page.reload()
        reloaded = browser.capture("navigation")  # the same URL, a new document
        browser.goto(f"{site}/alpine")
        other = browser.capture("navigation")
    assert again.duplicate_of == first.frame_id and scrolled.duplicate_of is None
    assert store.text_layer(again) == store.text_layer(first)
    assert sorted(p.name for p in store.blobs.rglob("*.text.json")) == sorted(
        f"{f.sha256}.text.json" for f in store.frames(session, unique_only=True))
    assert "Below the fold" not in _texts(store.text_layer(first))
    coupon = {frame.reason: next(line for line in store.text_layer(frame).lines if line.text == "Coupon")
              for frame in (first, scrolled)}
    assert coupon["scroll"].y0 == pytest.approx(coupon["navigation"].y0 - 60, abs=0.2)  # its own boxes
    assert store.text_layer(scrolled).markup == store.text_layer(first).markup
    assert reads == [f"{site}/aurora", f"{site}/aurora", f"{site}/alpine"]  # on first sight of each document
    assert reloaded is not None
    assert store.text_layer(other).markup["json-ld"][0]["name"] == "Alpine Hiking Boot"


@requires_chromium
@pytest.mark.browser
def test_a_failed_text_layer_read_keeps_the_frame_and_the_next_capture_reads_again(store, site):
    session = store.new_session("text-layer-test")
    with ShopperBrowser(BrowserConfig(executable=CHROMIUM), store, session) as browser:
        browser.goto(f"{site}/aurora")
        first = browser.capture("navigation")
        browser.recorder.session.detach()  # the DevTools session the text layer is read over goes away under it
        browser.goto(f"{site}/alpine")
        failed = browser.capture("navigation")
        browser.goto(f"{site}/coast")
        after = browser.capture("navigation")
        stats = browser.stats
    assert failed is not None and failed.duplicate_of is None and Path(failed.path).is_file()
    assert store.text_layer(failed) is None and not store.text_layer_path(failed.sha256).exists()
    assert [f.frame_id for f in store.frames(session)] == [first.frame_id, failed.frame_id, after.frame_id]
    assert _texts(store.text_layer(after))[0] == "Coast Sandal"
    assert (stats.text_layers, stats.text_layer_failed, stats.kept) == (2, 1, 3)


@requires_chromium
@pytest.mark.browser
def test_a_fresh_page_after_recycling_gets_a_text_layer_session_of_its_own(store, site):
    session = store.new_session("text-layer-test")
    with ShopperBrowser(BrowserConfig(executable=CHROMIUM), store, session) as browser:
        browser.goto(f"{site}/aurora")
        browser.capture("navigation")
        browser.recycle_after = 1
        assert browser.recycle_if_worn()
        frame = browser.capture("navigation")
        stats = browser.stats
    assert _texts(store.text_layer(frame))[0] == "Aurora Trail Running Shoe"
    assert (stats.text_layers, stats.text_layer_failed) == (2, 0)


@requires_chromium
@pytest.mark.browser
def test_without_the_text_layer_frames_are_stored_as_before(store, site):
    session = store.new_session("text-layer-test")
    with ShopperBrowser(BrowserConfig(executable=CHROMIUM, text_layer=False), store, session) as browser:
        browser.goto(f"{site}/aurora")
        frame = browser.capture("navigation")
        stats = browser.stats
    assert frame is not None and store.text_layer(frame) is None
    assert list(store.blobs.rglob("*.text.json")) == []
    assert (stats.text_layers, stats.text_layer_failed) == (0, 0)


@requires_chromium
@pytest.mark.browser
def test_the_markup_read_from_a_live_page_is_what_its_whole_html_declares(store, site):
    """The capture copies only the markup-bearing parts of a page (head meta tags, JSON-LD, outermost microdata
    items) to extract from: the same markup as from the whole document, nested items and all."""
    session = store.new_session("text-layer-test")
    with ShopperBrowser(BrowserConfig(executable=CHROMIUM), store, session) as browser:
        browser.goto(f"{site}/markup")
        frame = browser.capture("navigation")
        parts = browser.recorder.markup_html(browser.page)
        whole = browser.page.content()
    assert "Free delivery" in whole and "Free delivery" not in parts  # the page's other text is not copied
    expected = extract_markup(whole, f"{site}/markup")
    assert expected["json-ld"] and expected["microdata"] and expected["opengraph"]  # all three syntaxes present
    assert extract_markup(parts, f"{site}/markup") == expected
    assert store.text_layer(frame).markup == expected

    with ShopperBrowser(BrowserConfig(executable=CHROMIUM), store, session) as browser:
        browser.goto(f"{site}/body-item")
        browser.capture("navigation")
        parts = browser.recorder.markup_html(browser.page)
        whole = browser.page.content()
    [item] = extract_markup(whole, f"{site}/body-item")["microdata"]
    assert item["name"] == "Coast Sandal" and item["offers"]["price"] == "49.00"
    assert extract_markup(parts, f"{site}/body-item") == extract_markup(whole, f"{site}/body-item")

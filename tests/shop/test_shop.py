"""The InteraShop demo web shop (shop.server): routes, filters, search, product pages, files, errors."""

from __future__ import annotations

import html
import http.client
import logging
import re
from pathlib import Path

import pytest
from PIL import Image

from catalog.models import Product
from shop.listings import Filters, tokenize
from shop.pages import slugify
from shop.server import DemoShop

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                 "--disable-dev-shm-usage"]


def _product(pid: str, title: str, path: str, **fields) -> Product:
    return Product(id=pid, title=title, category_path=path.split(" > "), image=f"{pid}.jpg", **fields)


PRODUCTS = [
    _product("w1", "Titan Analog Wrist Watch for Men", "Watches > Wrist Watches", brand="Titan", price=1299,
             list_price=2499, rating=4.2, rating_count=1234, colour="Black",
             specifications={"Dial Shape": "Round", "Strap Material": "Leather"},
             description="A classic round dial watch with a leather strap.", source="flipkart"),
    _product("w2", "Fastrack Digital Watch for Women", "Watches > Wrist Watches", brand="Fastrack",
             price=2995, list_price=2995, rating=3.8, rating_count=56),
    _product("w3", "Casio Smart Watch with Heart Rate Monitor", "Watches > Smart Watches", brand="Casio",
             price=12499, list_price=15999, rating=4.5, rating_count=10),
    _product("m1", "Ceramic Coffee Mug 350 ml", "Kitchen & Dining > Coffee Mugs", price=299, list_price=599),
    _product("m2", "Borosil Glass Coffee Mug", "Kitchen & Dining > Coffee Mugs", brand="Borosil", price=450,
             rating=4.0, rating_count=1),
    _product("s1", "Roadster Men Casual Shoes", "Footwear > Shoes > Casual Shoes", brand="Roadster",
             price=1499, list_price=2999, rating=4.1, rating_count=320, colour="White", source="myntra"),
    _product("x1", "<b>Bold</b> & Co \"Quoted\" Mug", "Kitchen & Dining > Coffee Mugs", brand="A&B",
             price=99),
]
CARD_RE = re.compile(r'data-testid="product-card" data-product-id="([^"]+)"')


@pytest.fixture(scope="module")
def image_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("shop")
    images = root / "images"
    images.mkdir()
    for i, p in enumerate(PRODUCTS):
        if p.id != "s1":  # s1's image is missing on purpose: the shop shows a placeholder
            Image.new("RGB", (60, 80), (40 * i % 256, 120, 200)).save(images / f"{p.id}.jpg", "JPEG")
    Image.new("RGB", (10, 10), "red").save(images / "extra.png", "PNG")
    (images / "notes.txt").write_text("not an image")
    (root / "secret.txt").write_text("TOP-SECRET-CONTENT")
    return images


@pytest.fixture(scope="module")
def shop(image_dir):
    with DemoShop(PRODUCTS, image_dir) as running:
        yield running


def fetch(shop: DemoShop, path: str, method: str = "GET", headers: dict | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", shop.port, timeout=10)
    try:
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


def page(shop: DemoShop, path: str, status: int = 200) -> str:
    got, headers, body = fetch(shop, path)
    assert got == status, (path, got)
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    return body.decode("utf-8")


def text(markup: str) -> str:
    """The visible text of a page, whitespace collapsed."""
    markup = re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", markup)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", markup))).strip()


def card_ids(markup: str) -> list[str]:
    return CARD_RE.findall(markup)


def test_home_has_header_search_categories_and_deals(shop):
    body = page(shop, "/")
    assert "InteraShop" in body
    assert re.search(r'<input[^>]*name="q"[^>]*data-testid="search-input"', body)
    assert 'data-testid="search-button"' in body
    for slug in ("watches", "kitchen-dining", "footwear"):
        assert f'href="/c/{slug}" data-testid="category-tile"' in body
        assert f'href="/c/{slug}" data-testid="nav-link"' in body
    assert 'data-testid="deals-row"' in body and "Top deals" in body
    assert card_ids(body)
    assert not re.search(r'(src|href)="(https?:)?//', body), "no external assets"


def test_category_listing_any_level(shop):
    assert set(card_ids(page(shop, "/c/watches"))) == {"w1", "w2", "w3"}
    assert set(card_ids(page(shop, "/c/wrist-watches"))) == {"w1", "w2"}
    assert card_ids(page(shop, "/c/casual-shoes")) == ["s1"]
    assert card_ids(page(shop, "/c/Smart-Watches/")) == ["w3"]
    listing = page(shop, "/c/watches")
    assert 'data-testid="filter-brand" data-brand="Titan"' in listing
    assert "Wrist Watches" in text(listing)  # sub-category chip
    assert "Showing 1–3 of 3 products" in text(listing)


def test_category_filters_actually_filter(shop):
    assert card_ids(page(shop, "/c/watches?brand=Titan")) == ["w1"]
    assert card_ids(page(shop, "/c/watches?brand=titan")) == ["w1"]
    assert set(card_ids(page(shop, "/c/watches?brand=Titan&brand=Fastrack"))) == {"w1", "w2"}
    assert set(card_ids(page(shop, "/c/watches?min_price=2000"))) == {"w2", "w3"}
    assert card_ids(page(shop, "/c/watches?max_price=1500")) == ["w1"]
    assert card_ids(page(shop, "/c/watches?min_price=1000&max_price=3000&sort=price_desc")) == ["w2", "w1"]
    assert set(card_ids(page(shop, "/c/watches?min_rating=4"))) == {"w1", "w3"}
    assert card_ids(page(shop, "/c/watches?sort=price_asc")) == ["w1", "w2", "w3"]
    assert card_ids(page(shop, "/c/watches?sort=rating")) == ["w3", "w1", "w2"]
    checked = page(shop, "/c/watches?brand=Fastrack&brand=Nobody")
    boxes = re.findall(r'data-brand="([^"]+)"( checked)?', checked)
    assert boxes[:2] == [("Fastrack", " checked"), ("Nobody", " checked")]  # chosen brands first
    assert ("Titan", "") in boxes
    empty = page(shop, "/c/watches?brand=Nobody")
    assert card_ids(empty) == [] and 'data-testid="no-results"' in empty


def test_search_ranks_by_token_overlap(shop):
    assert card_ids(page(shop, "/search?q=titan+watch"))[0] == "w1"
    assert set(card_ids(page(shop, "/search?q=watches"))) == {"w1", "w2", "w3"}
    assert card_ids(page(shop, "/search?q=coffee+mug"))[:2] == ["m1", "m2"]  # tie broken by id
    assert card_ids(page(shop, "/search?q=casual+shoes")) == ["s1"]  # category path counts
    assert card_ids(page(shop, "/search?q=watch&brand=Casio")) == ["w3"]
    body = page(shop, "/search?q=titan")
    assert re.search(r'name="q" value="titan"', body)
    assert '<input type="hidden" name="q" value="titan">' in body  # filters keep the query


def test_search_without_results_is_friendly(shop):
    body = page(shop, "/search?q=zzzqqq")
    assert 'data-testid="no-results"' in body and "no results found" in text(body)
    assert 'data-testid="no-results"' in page(shop, "/search?q=")
    assert 'data-testid="no-results"' in page(shop, "/search")


def test_product_page_contents(shop):
    body = page(shop, "/p/w1")
    visible = text(body)
    assert 'data-testid="product-title">Titan Analog Wrist Watch for Men</h1>' in body
    assert "Brand: Titan" in visible
    assert "₹1,299 ₹2,499 48% off" in visible
    assert "4.2 ★ (1,234 ratings)" in visible
    assert "Colour: Black" in visible
    assert "Home › Watches › Wrist Watches" in visible
    assert 'data-testid="add-to-cart" data-product-id="w1"' in body
    assert 'data-testid="product-specs"' in body and "Strap Material Leather" in visible
    assert "A classic round dial watch" in visible
    similar = body.split('data-testid="similar-products"')[1]
    assert card_ids(similar)[0] == "w2" and "w1" not in card_ids(similar)
    assert 'src="/img/w1.jpg"' in body


def test_product_page_optional_fields(shop):
    mug = text(page(shop, "/p/m1"))
    assert "Brand:" not in mug and "★" not in mug.split("Similar products")[0]
    assert "₹299 ₹599 50% off" in mug
    m2 = text(page(shop, "/p/m2"))
    assert "(1 rating)" in m2 and "% off" not in m2.split("Similar products")[0]
    assert "₹12,499 ₹15,999 22% off" in text(page(shop, "/p/w3"))
    assert "0% off" not in text(page(shop, "/p/w2"))
    assert "/static/placeholder.svg" in page(shop, "/p/s1")  # missing image file


def test_everything_is_escaped(shop):
    body = page(shop, "/p/x1")
    assert "<b>Bold</b>" not in body
    assert "&lt;b&gt;Bold&lt;/b&gt; &amp; Co &quot;Quoted&quot; Mug" in body
    assert "A&amp;B" in body
    searched = page(shop, '/search?q=%22%3E%3Cscript%3Ealert(1)%3C/script%3E')
    assert "<script>alert(1)" not in searched


def test_images_and_static_files(shop):
    status, headers, body = fetch(shop, "/img/w1.jpg")
    assert status == 200 and headers["Content-Type"] == "image/jpeg" and body[:2] == b"\xff\xd8"
    assert "max-age" in headers["Cache-Control"] and headers["ETag"]
    status, _, body = fetch(shop, "/img/w1.jpg", headers={"If-None-Match": headers["ETag"]})
    assert status == 304 and body == b""
    status, headers, _ = fetch(shop, "/img/extra.png")
    assert status == 200 and headers["Content-Type"] == "image/png"
    status, headers, body = fetch(shop, "/static/style.css")
    assert status == 200 and headers["Content-Type"].startswith("text/css") and b"DejaVu Sans" in body
    status, headers, _ = fetch(shop, "/static/logo.svg")
    assert status == 200 and headers["Content-Type"] == "image/svg+xml"
    status, headers, body = fetch(shop, "/p/w1", method="HEAD")
    assert status == 200 and body == b"" and int(headers["Content-Length"]) > 1000


@pytest.mark.parametrize("path", [
    "/img/../secret.txt", "/img/..%2fsecret.txt", "/img/%2e%2e/secret.txt", "/img/%2e%2e%2fsecret.txt",
    "/img/images/../../secret.txt", "/img//etc/passwd", "/img/%2Fetc%2Fpasswd", "/img/..%5csecret.txt",
    "/img/notes.txt", "/img/", "/img/%00.jpg", "/static/../server.py", "/static/..%2fserver.py", "/static/",
])
def test_path_traversal_blocked(shop, path):
    status, _, body = fetch(shop, path)
    assert status == 404
    assert b"TOP-SECRET" not in body and b"root:" not in body and b"import" not in body


@pytest.mark.parametrize("path", ["/p/nope", "/c/nope", "/nothing/here", "/img/missing.jpg", "/c/", "/p/"])
def test_unknown_pages_are_styled_404s(shop, path):
    body = page(shop, path, status=404)
    assert 'data-testid="error-page"' in body and "/static/style.css" in body


@pytest.mark.parametrize("query", [
    "min_price=abc", "max_price=-5", "min_rating=9", "min_rating=abc", "page=0", "page=-1", "page=abc",
    "page=99999999999", "sort=bogus", "min_price=nan", "max_price=inf", "min_price=1e999", "brand=",
    "min_price=%zz", "q=" + "x" * 5000, "brand=%00", "page=%E0%A5%A7", "&&&==&",
    "min_price=5000&max_price=100",
])
def test_bad_query_values_are_ignored(shop, query):
    body = page(shop, "/c/watches?" + query)
    assert card_ids(body)
    assert 'data-testid="product-card"' in page(shop, "/search?q=watch&" + query)


def test_filters_parsing():
    assert Filters.from_query({"min_price": ["abc"], "page": ["0"], "sort": ["x"]}) == Filters()
    swapped = Filters.from_query({"min_price": ["5,000"], "max_price": ["100"]})
    assert (swapped.min_price, swapped.max_price) == (100, 5000)
    assert Filters.from_query({"brand": ["Titan", "titan", " "]}).brands == ("Titan",)
    assert slugify("Kitchen & Dining") == "kitchen-dining" and slugify("Wrist Watches") == "wrist-watches"
    tokens = tokenize("Watches Shoes Mugs Accessories glasses for the Men's")
    assert tokens == {"watch", "shoe", "mug", "accessory", "glass", "men"}


def test_brand_facets_merge_spellings(image_dir):
    watches = [_product(f"f{i}", f"Watch {i}", "Watches > Wrist Watches", brand=b, price=500)
               for i, b in enumerate(["Fastrack", "fastrack", "Fastrack", "Titan"])]
    body = DemoShop(watches, image_dir).respond("/c/watches?brand=FASTRACK").body.decode()
    assert re.findall(r'data-brand="([^"]+)"( checked)?', body) == [("Fastrack", " checked"), ("Titan", "")]
    assert "<em>(3)</em>" in body and card_ids(body) == ["f0", "f1", "f2"]


def test_pagination(image_dir):
    many = [_product(f"bulk{i:02d}", f"Printed Coffee Mug {i}", "Kitchen & Dining > Coffee Mugs",
                     price=100 + i) for i in range(30)]
    shop = DemoShop(many, image_dir)  # respond() works without starting the server
    first = shop.respond("/c/coffee-mugs").body.decode()
    assert len(card_ids(first)) == 24 and 'data-testid="pagination"' in first
    second = shop.respond("/c/coffee-mugs?page=2&sort=price_asc").body.decode()
    assert card_ids(second) == [f"bulk{i:02d}" for i in range(24, 30)]
    assert 'href="/c/coffee-mugs?sort=price_asc&amp;page=1"' in second
    assert card_ids(shop.respond("/c/coffee-mugs?page=50").body.decode()) == card_ids(second)  # clamped


def test_post_is_rejected_and_requests_are_logged_at_debug(shop, caplog, capfd):
    with caplog.at_level(logging.DEBUG, logger="shop.server"):
        status, _, _ = fetch(shop, "/healthz")
        assert status == 200
    assert any("GET /healthz" in r.getMessage() and r.levelno == logging.DEBUG for r in caplog.records)
    assert fetch(shop, "/search", method="POST")[0] == 405
    assert "GET /healthz" not in capfd.readouterr().err


def test_context_manager_lifecycle(image_dir):
    with DemoShop(PRODUCTS[:2], image_dir) as running:
        url = running.url
        assert url.startswith("http://127.0.0.1:") and running.port > 0
        assert fetch(running, "/healthz")[2] == b"ok"
        assert running.product_url("w1") == url + "/p/w1" and running.category_url("Wrist Watches").endswith(
            "/c/wrist-watches")
    with pytest.raises(OSError):
        fetch(running, "/healthz")


@pytest.mark.browser
def test_product_page_in_chromium(shop):
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip("Debian Chromium is not installed")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            tab = browser.new_page(viewport={"width": 1280, "height": 800})
            tab.goto(shop.product_url("w1"))
            title = tab.get_by_test_id("product-title")
            assert title.is_visible() and title.inner_text() == "Titan Analog Wrist Watch for Men"
            box = title.bounding_box()
            assert box is not None and box["y"] + box["height"] <= 800  # above the fold
            assert tab.get_by_test_id("product-price").inner_text() == "₹1,299"
            assert tab.evaluate("document.querySelector('[data-testid=product-image]').naturalWidth") > 0
        finally:
            browser.close()

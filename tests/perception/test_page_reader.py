"""Reading product pages of any shop (tools.perception.page.reader) from lines with boxes and style.

The pages here are hand-built in the shapes real shops use (a European shop with a split price and a delivery
charge, a marketplace with a store byline and a "customers also viewed" row, a fashion shop with the brand set
above the title, a grid of cards) and none of them is the demo shop's layout.
"""

from __future__ import annotations

from tools.lines import ScreenLine, from_ocr
from tools.perception.page.markup import MarkupFacts, markup_facts
from tools.perception.page.reader import PageReader


def run(text: str, x0: float, y0: float, width: float = 0, size: float = 16, weight: int = 400, *,
        tag: str = "span", role: str = "", struck: bool = False, itemprop: str = "") -> ScreenLine:
    width = width or len(text) * size * 0.5
    return ScreenLine(text=text, x0=x0, y0=y0, x1=x0 + width, y1=y0 + size * 1.2, source="text-layer",
                      font_size=size, font_weight=weight, line_through=struck, tag=tag, role=role, itemprop=itemprop)


HEADER = [run("Skip to main content", 10, 5, role="link", tag="a"), run("Mein Konto", 1100, 5, role="link", tag="a"),
          run("Warenkorb", 1200, 5, role="link", tag="a")]
CRUMBS = [run("Start", 20, 60, role="link", tag="a"), run("›", 70, 60), run("Garten", 90, 60, role="link", tag="a"),
          run("›", 150, 60), run("Hochdruckreiniger", 170, 60, role="link", tag="a")]
EURO_PAGE = HEADER + CRUMBS + [
    run("KÄRCHER Hochdruckreiniger K 3 Full Control", 600, 110, size=28, weight=700, tag="h1", role="heading"),
    run("Marke:", 600, 160), run("Kärcher", 660, 160, role="link", tag="a"),
    run("149,00 €", 600, 210, struck=True, tag="s", role="struck"),
    run("€", 600, 240, size=30, weight=700), run("119,01", 625, 240, size=30, weight=700),
    run("Versandkosten 4,95 €", 600, 290, size=13),
    run("In den Warenkorb", 600, 330, role="button", tag="button"),
    run("Kunden kauften auch", 20, 600, size=22, weight=700, tag="h2", role="heading"),
    run("89,99 €", 20, 660, weight=700), run("99,00 €", 320, 660, weight=700), run("24,95 €", 620, 660, weight=700),
]


def reader(**kwargs) -> PageReader:
    return PageReader(brands=kwargs.pop("brands", []), categories=[], **kwargs)


def test_a_european_page_gives_the_split_sale_price_its_list_price_brand_and_trail():
    facts = reader().read_page([EURO_PAGE])
    assert facts.kind == "product"
    assert facts.title == "KÄRCHER Hochdruckreiniger K 3 Full Control"
    assert (facts.price, facts.currency, facts.list_price) == (119.01, "EUR", 149.0)
    assert facts.brand == "Kärcher"
    assert facts.category_path == ["Start", "Garten", "Hochdruckreiniger"]
    assert facts.sources["price"] == facts.sources["brand"] == "text-layer"


def test_delivery_charges_and_related_rows_are_not_the_price():
    without_main_price = [line for line in EURO_PAGE if line.text not in ("€", "119,01")]
    facts = reader().read_page([without_main_price])
    assert facts.price not in (4.95, 89.99, 99.0, 24.95)


MARKETPLACE = [
    run("Deliver to Netherlands", 10, 10, role="link", tag="a"),
    run("Visit the Gothamite Store", 620, 120, role="link", tag="a"),
    run("Gothamite 36-inch Rolling Duffle Bag with Wheels", 620, 150, size=24, tag="h1", role="heading"),
    run("4.5 out of 5 stars", 620, 190), run("1,234 ratings", 760, 190, role="link", tag="a"),
    run("$", 620, 230, size=14), run("87", 632, 226, size=28), run("11", 660, 226, size=14, tag="sup",
                                                                     role="superscript"),
    run("Add to Cart", 1000, 260, role="button", tag="button"),
    run("Customers who viewed this item also viewed", 20, 700, size=20, weight=700, tag="h2", role="heading"),
    run("$19.99", 20, 740), run("$24.50", 300, 740), run("$31.00", 600, 740),
]


def test_a_marketplace_page_reads_split_cents_the_store_byline_and_the_rating():
    facts = reader().read_page([MARKETPLACE])
    assert (facts.price, facts.currency) == (87.11, "USD")
    assert facts.brand == "Gothamite"
    assert (facts.rating, facts.rating_count) == (4.5, 1234)
    assert facts.title.startswith("Gothamite 36-inch")


def test_the_title_and_its_price_can_be_screens_apart():
    top, below = MARKETPLACE[:3], [line.model_copy(update={"y0": line.y0 - 200, "y1": line.y1 - 200})
                                   for line in MARKETPLACE[3:]]
    facts = reader().read_page([top, below], offsets=[0, 200])
    assert facts.price == 87.11 and facts.title.startswith("Gothamite")


def test_a_fashion_page_takes_the_heading_above_the_title_for_the_brand():
    page = [run("Women", 20, 40, role="link", tag="a"),
            run("Tommy Hilfiger", 620, 200, size=19, weight=700, tag="h3", role="heading"),
            run("MILKSHAKE CROSSOVER - Across body bag", 620, 240, size=32, tag="h1", role="heading"),
            run("€41.30", 620, 300), run("Add to bag", 620, 400, role="button", tag="button")]
    facts = reader().read_page([page])
    assert facts.brand == "Tommy Hilfiger" and facts.price == 41.3


def test_a_grid_of_equal_prices_is_a_listing_without_a_main_product():
    cards = [run(f"Runner {i}", 300 + 240 * i, 300, role="link", tag="a") for i in range(4)]
    prices = [run(f"£{49 + 10 * i}.00", 300 + 240 * i, 330, weight=700) for i in range(4)]
    page = [run("Running shoes", 300, 150, size=28, tag="h1", role="heading"),
            run("Showing 1-24 of 120 results", 300, 200), *cards, *prices]
    facts = reader().read_page([page])
    assert facts.kind == "listing" and facts.price is None and facts.title is None
    assert facts.card_prices == [49.0, 59.0, 69.0, 79.0]
    assert facts.category_path == ["Running shoes"]


def test_a_trail_that_ends_in_the_brand_does_not_make_the_brand_a_type():
    page = [run("Home", 20, 60, role="link", tag="a"), run("›", 70, 60), run("Audio", 90, 60, role="link", tag="a"),
            run("›", 140, 60), run("Sony", 160, 60, role="link", tag="a"),
            run("WH-1000XM5 headphones", 600, 110, size=28, tag="h1", role="heading"),
            run("Brand: Sony", 600, 160), run("£279.00", 600, 200, size=26, weight=700)]
    facts = reader().read_page([page])
    assert facts.brand == "Sony" and facts.category_path == ["Home", "Audio"]


def test_markup_is_evidence_beside_what_was_seen():
    page = [run("Acme Kettle 1.7 l", 600, 110, size=28, tag="h1", role="heading"),
            run("$39.99", 600, 160, size=16), run("$34.99", 600, 190, size=16),
            run("Add to cart", 600, 230, role="button", tag="button")]
    seen_price = MarkupFacts(price=34.99, currency="USD", brand="Acme", sources={"price": "json-ld"})
    confirmed = reader(markup_policy="confirmed")
    facts = confirmed.read_page([page], seen_price)
    assert facts.price == 34.99 and facts.sources["price"] in ("text-layer", "markup+seen")
    unseen = MarkupFacts(price=12.0, currency="USD")
    kept = confirmed.read_page([page], unseen)  # under "confirmed" (the default), unseen markup does not win ...
    assert (kept.price, kept.sources["price_markup"]) == (39.99, "12 USD")  # ... and is kept beside it
    assert reader().read_page([page], unseen).price == 39.99
    first = reader(markup_policy="markup-first").read_page([page], unseen)  # the shop's declared price wins ...
    assert (first.price, first.sources["price"], first.sources["price_seen"]) == (12.0, "markup", "39.99 USD")
    no_price = [line for line in page if "$" not in line.text]
    filled = confirmed.read_page([no_price], unseen)
    assert (filled.price, filled.sources["price"]) == (12.0, "markup")
    assert reader(markup_policy="ignore").read_page([no_price], unseen).price is None


def test_ocr_lines_read_the_same_way():
    body = [from_ocr(f"Highlight number {i}: made of borosilicate glass", 600, 300 + 30 * i, 1000, 322 + 30 * i, 0.9)
            for i in range(6)]
    lines = [from_ocr("Borosil Vision Glass Set of 6", 600, 100, 1000, 140, 0.98),
             from_ocr("₹1,299", 600, 160, 700, 200, 0.95), from_ocr("ADD TO CART", 600, 240, 760, 265, 0.99), *body]
    facts = reader(brands=["Borosil"]).read_page([lines])
    assert (facts.price, facts.currency, facts.brand) == (1299.0, "INR", "Borosil")
    assert facts.sources["price"] == "ocr"


def test_markup_facts_read_json_ld_microdata_and_opengraph():
    raw = {"json-ld": [{"@type": "BreadcrumbList", "itemListElement": [{"name": "Home"}, {"name": "Kettles"}]},
                       {"@type": "Product", "name": "Acme Kettle", "brand": {"@type": "Brand", "name": "Acme"},
                        "offers": [{"@type": "Offer", "price": "34.99", "priceCurrency": "USD"}]}],
           "microdata": [], "opengraph": {"product:price:amount": "30.00"}}
    facts = markup_facts(raw)
    assert (facts.name, facts.brand, facts.price, facts.currency) == ("Acme Kettle", "Acme", 34.99, "USD")
    assert facts.category_path == ["Home", "Kettles"] and facts.sources["price"] == "json-ld"
    og_only = markup_facts({"opengraph": {"og:type": "product", "og:title": "X", "product:price:amount": "1.299,00",
                                          "product:brand": "Y"}})
    assert (og_only.price, og_only.brand, og_only.name) == (1299.0, "Y", "X")
    assert markup_facts(None).empty and markup_facts({"json-ld": [{"@type": "Person", "name": "Jane"}]}).empty

"""Reading a marketplace page rendered without its styles (a saved page opened from disk): everything at body size,
the buy box's price in the document before the title, section headings set as ``h1`` like the title, and
"customers also bought" carousels with three or more prices on a row far below.
"""

from __future__ import annotations

from tests.perception.test_page_reader import reader, run
from tools.perception.page.layout import segments


def _unstyled_page(*, carousel: bool = True, consider_row: bool = False) -> list:
    page = [run("Sponsored", 20, 40)]
    if consider_row:  # an unavailable product's page offers others first
        page += [run("Consider these available items", 20, 200, size=24, tag="h2", role="heading"),
                 run("AED549.00", 20, 260, tag="span", role="list-item")]
    page += [run("Add to Cart", 20, 700, role="button"),
             run("Acme 3 Pack Screen Protector for Phone 16", 20, 1500, size=32, tag="h1", role="heading"),
             run("AED", 20, 1600), run("30", 50, 1600), run(".", 66, 1600, width=4), run("99", 70, 1600),
             run("About this item", 20, 2200, size=32, tag="h1", role="heading"),
             run("Scratch resistant tempered glass, easy to fit.", 20, 2260)]
    if carousel:
        page += [run("Customers who bought this item also bought", 20, 3000, size=24, tag="h2", role="heading")]
        page += [run(f"AED{19 + 10 * i}.00", 20 + 300 * i, 3100, role="link", tag="a") for i in range(4)]
    return page


def test_an_amount_set_in_runs_keeps_its_decimals():
    texts = [s.text for s in segments([run("AED", 20, 100), run("30", 50, 100), run(".", 66, 100, width=4),
                                       run("99", 70, 100)])]
    assert texts == ["AED 30.99"]


def test_a_carousel_below_a_related_heading_does_not_make_a_product_page_a_listing():
    facts = reader().read_page([_unstyled_page()])
    assert facts.kind == "product"
    assert (facts.price, facts.currency) == (30.99, "AED")
    assert facts.title == "Acme 3 Pack Screen Protector for Phone 16"


def test_the_same_grid_without_a_related_heading_above_it_is_still_a_listing():
    page = [line for line in _unstyled_page() if not line.text.startswith("Customers")]
    page = [line for line in page if line.text not in ("AED", "30", ".", "99")]  # no price of its own
    assert reader().read_page([page]).kind == "listing"


def test_a_section_heading_set_like_the_title_is_not_the_title():
    facts = reader().read_page([[line for line in _unstyled_page(carousel=False)
                                 if not line.text.startswith("Acme")]])
    assert facts.title != "About this item"


def test_a_price_under_a_consider_these_items_row_above_the_title_is_not_the_price():
    page = [line for line in _unstyled_page(consider_row=True) if line.text not in ("AED", "30", ".", "99")]
    facts = reader().read_page([page])
    assert facts.kind != "listing" and facts.title == "Acme 3 Pack Screen Protector for Phone 16"
    assert facts.price != 549.0


def test_prices_after_an_also_interested_in_heading_are_not_the_price():
    # An out-of-stock page (its own price drawn by script) followed by what other visitors looked at, in Estonian.
    page = [run("Acme Remote Control 32732 Bluetooth", 20, 100, size=32, tag="h1", role="heading"),
            run("Külastajad on olnud huvitatud ka järgnevast:", 20, 900, size=24, tag="h2", role="heading"),
            run("71,9 €", 20, 980, itemprop="price"), run("49,99 €", 320, 980, itemprop="price")]
    assert reader().read_page([page]).price is None

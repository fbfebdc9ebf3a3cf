"""Which amount on a product page is the main offer's price (tools.perception.page.prices and the reader's
price choice): delivery charges, thresholds, ranges, auction estimates, and markup that the page contradicts.

The sentences and pages are written in the shapes shops in many countries use; none is the demo shop's.
"""

from __future__ import annotations

from tools.perception.page.markup import MarkupFacts
from tools.perception.page.prices import find_price_mentions
from tools.perception.page.reader import PageReader


def run(text, x0, y0, size=16, weight=400, *, tag="span", role="", itemprop=""):
    from tools.lines import ScreenLine

    return ScreenLine(text=text, x0=x0, y0=y0, x1=x0 + len(text) * size * 0.5, y1=y0 + size * 1.2,
                      source="text-layer", font_size=size, font_weight=weight, tag=tag, role=role, itemprop=itemprop)


def flags(text):
    names = ("list_price", "shipping", "threshold", "labelled", "range_low")
    return [(m.amount, m.currency, {n for n in names if getattr(m, n)}) for m in find_price_mentions(text)]


def test_a_delivery_charge_after_the_price_does_not_make_the_price_a_delivery_charge():
    assert flags("Price: $87.11 + $99.23 Shipping & Import Fees") == [
        (87.11, "USD", {"labelled"}), (99.23, "USD", {"shipping"})]
    assert flags("$19.99 FREE Shipping") == [(19.99, "USD", set())]
    assert flags("Versand 4,95 €")[0][2] == {"shipping"}


def test_thresholds_are_not_prices():
    assert flags("Free Click & Collect over £30 & free returns")[0][2] == {"threshold"}
    assert flags("Gifts under $100")[0][2] == {"threshold"}
    assert "threshold" in flags("Livraison gratuite dès 50,00 €")[0][2]
    assert flags("9,800원 이상 구매시")[0][2] == {"threshold"}


def test_a_range_gives_its_low_end_with_the_currency_written_after_the_high_end():
    assert flags("352,00 – 376,45 б.р.") == [(352.0, "BYN", {"range_low"}), (376.45, "BYN", set())]


def test_original_price_words_in_cjk_mark_a_list_price():
    assert flags("(原價： $560)")[0][2] == {"list_price"}


def test_a_number_glued_to_a_word_is_not_an_amount():
    assert find_price_mentions("quantité inférieure à $qty_dummy1$ ou égale") == []
    assert flags("1 299,00 €") == [(1299.0, "EUR", set())]  # a no-break space groups thousands


AUCTION = [run("Vintage leather bag, pair of pillows", 20, 100, size=32, weight=700, tag="h1", role="heading"),
           run("Estimate $300 -$500", 20, 160), run("$200 2 bids", 20, 200), run("Starting Price $150", 20, 230)]


def test_an_auction_lot_reads_its_current_bid_not_its_estimate_or_opening_bid():
    facts = PageReader().read_page([AUCTION])
    assert facts.price == 200.0


def test_markup_the_page_shows_as_something_else_does_not_override_the_seen_price():
    declared = MarkupFacts(price=150.0, currency="USD", sources={"price": "json-ld"})
    facts = PageReader().read_page([AUCTION], declared)  # the default policy, confirmed
    assert facts.price == 200.0 and facts.sources["price_markup"] == "150 USD"
    declared_right = MarkupFacts(price=200.0, currency="USD")
    assert PageReader().read_page([AUCTION], declared_right).sources["price"] == "markup+seen"


def test_the_first_price_after_the_title_wins_however_far_below_it_is():
    page = [run("EUSELFIEW Selfie Stick - Black & Silver", 20, 100, size=32, weight=700, tag="h1", role="heading"),
            *[run(f"Feature line {k} of a long unstyled description", 20, 200 + 40 * k) for k in range(120)],
            run("€9.99", 20, 5200), run("Add to basket", 20, 5240, role="button", tag="button")]
    facts = PageReader().read_page([page], offsets=[0])
    assert (facts.kind, facts.price) == ("product", 9.99)


def test_a_price_beside_the_title_with_a_comparison_table_below_is_a_product_not_a_listing():
    page = [run("$87.11", 900, 95, size=18),
            run("Rolling Duffle Bag with Wheels, XL", 20, 100, size=24, tag="h1", role="heading"),
            run("Add to Cart", 900, 300, role="button", tag="button"),
            *[run(f"$ {p}", 300 + 200 * k, 500, size=21) for k, p in enumerate(("87.11", "104.84", "49.99", "75.08"))]]
    facts = PageReader().read_page([page])
    assert (facts.kind, facts.price) == ("product", 87.11)


def test_an_offers_itemprop_marks_the_price_among_delivery_amounts():
    page = [run("Déguisement de fantôme - noir/blanc", 20, 100, size=32, weight=700, tag="h1", role="heading"),
            run("15,00€ En stock", 20, 400, itemprop="offers"),
            run("Domicile ou autre adresse: 3,95€", 20, 600, weight=700)]
    assert PageReader().read_page([page]).price == 15.0


def test_a_brand_label_at_the_end_of_a_table_cell_takes_the_next_cell_and_placeholders_are_no_brand():
    page = [run("Hip pads, self-adhesive, pair", 20, 100, size=32, weight=700, tag="h1", role="heading"),
            run("$11.19", 20, 160),
            run("New with tags. See all condition definitions Brand:", 20, 400, role="cell", tag="td"),
            run("Unbranded", 700, 400, role="cell", tag="td")]
    assert PageReader().read_page([page]).brand == "Unbranded"
    template = [*page[:2], run("$metabrand", 20, 200, itemprop="brand")]
    assert PageReader().read_page([template]).brand != "$metabrand"
    from tools.perception.page.markup import markup_facts

    raw = {"json-ld": [{"@type": "Product", "name": "Costume", "brand": {"name": "{{ product.brand }}"}}]}
    assert markup_facts(raw).brand is None and markup_facts(raw).name == "Costume"


def test_a_currency_code_written_against_its_amount_is_read_but_not_inside_a_word():
    assert [(m.amount, m.currency) for m in find_price_mentions("AED44.00")] == [(44.0, "AED")]
    assert [(m.amount, m.currency) for m in find_price_mentions("Total 19,90EUR")] == [(19.9, "EUR")]
    assert find_price_mentions("EUROPE 12") == []
    assert find_price_mentions("Model USB3 12") == []


def test_a_converted_amount_shares_its_originals_delivery_words():
    assert flags("GBP 2.00 (approx. C $3.46) Economy Shipping | See details") == [
        (2.0, "GBP", {"shipping"}), (3.46, "USD", {"shipping"})]
    assert flags("US $11.19 (approx. £8.50)") == [(11.19, "USD", set()), (8.5, "GBP", set())]


def test_gift_cards_bundle_totals_and_instalments_are_not_the_price():
    assert find_price_mentions("• Get a £10 Amazon.co.uk Gift Card when approved")[0].saving
    assert find_price_mentions("Prezzo totale: 111,99 €")[0].saving
    assert find_price_mentions("Total price: £116.94")[0].saving
    assert find_price_mentions("in 20 rate da soli € 79,95 /mese")[0].instalment


def test_a_number_glued_to_a_word_or_a_number_is_no_amount_and_per_piece_is_a_unit_price():
    assert find_price_mentions("Prostokąt 60 x 30 cm32 zł/szt.") == []  # not "2 zł"
    assert find_price_mentions("32 zł/szt.")[0].unit_price

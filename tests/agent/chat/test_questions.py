"""What the chat asks when a message leaves something out: real category names of the catalog on hand, and
example requests that the request parser reads as a type with a price."""

from __future__ import annotations

from agent.chat.questions import example_requests, not_understood, top_categories, type_question
from catalog.models import Product
from tools.recommend.catalog_terms import CatalogTerms
from tools.recommend.request import parse


def _catalog() -> list[Product]:
    rows = [(["Kitchen", "Coffee Mugs"], "Clay Co", 300, "White")] * 3 + [
        (["Accessories", "Wallets"], "Hidesign", 900, "Brown"), (["Accessories", "Wallets"], "New Leaf", 1400, "Black"),
        (["Accessories", "Wallets"], "Hidesign", 1900, "Black"), (["Accessories", "Wallets"], "Hidesign", 600, "Black"),
        (["Watches", "Wrist Watches"], "Titan", 2500, None), (["Accessories", "Belts"], "Hidesign", 700, "Tan"),
    ]
    return [Product(id=f"p{i}", title=f"{brand} {path[-1]}", brand=brand, category_path=path, price=price,
                    colour=colour) for i, (path, brand, price, colour) in enumerate(rows)]


TERMS = CatalogTerms.from_products(_catalog())


def test_the_question_names_the_largest_categories_of_this_catalog():
    assert top_categories(TERMS) == ["Wallets", "Coffee Mugs", "Belts"]  # 4, 3, then the tie by name
    assert type_question(TERMS) == "What kind of product are you looking for, e.g. Wallets, Coffee Mugs or Belts?"


def test_the_examples_are_requests_the_parser_reads_as_a_type_with_a_price():
    first, second = example_requests(TERMS)
    assert first.startswith("black wallets under ")  # the usual colour of the largest category
    for example, category in ((first, "Wallets"), (second, "Coffee Mugs")):
        parsed = parse(example, TERMS)
        assert parsed.categories == [category], example
        assert not parsed.ignored and not parsed.search_words, example
    assert parse(first, TERMS).colours == ["Black"] and parse(first, TERMS).max_price is not None


def test_an_example_price_band_comes_from_the_catalog_prices():
    other = CatalogTerms.from_products([Product(id=f"m{i}", title="mug", brand="B", category_path=["Mugs"],
                                                price=100.0 * (i + 1)) for i in range(8)])
    parsed = parse(example_requests(other)[0], other)
    assert parsed.categories == ["Mugs"] and 300 <= parsed.max_price <= 600  # near the median, rounded


def test_a_message_understood_not_at_all_gets_two_examples_and_one_question():
    text = not_understood("hmm", TERMS)
    assert text.startswith("I did not understand 'hmm'")
    assert text.count("?") == 1 and text.endswith("?")
    assert all(f"'{example}'" in text for example in example_requests(TERMS))

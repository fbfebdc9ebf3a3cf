"""The free-text request parser: any order, several wishes in one message, types resolved against the catalog's
own categories (plural, synonym), brands from the catalog, nothing dropped without a trace."""

from __future__ import annotations

import pytest

from catalog.models import Product
from tools.recommend.catalog_terms import CatalogTerms
from tools.recommend.lexical import fuse
from tools.recommend.request import parse


def _p(i: int, path: list[str], brand: str, price: float, title: str = "") -> Product:
    return Product(id=f"p{i}", title=title or f"{brand} {path[-1]}", brand=brand, category_path=path, price=price)


CATALOG = [
    _p(1, ["Accessories", "Wallets"], "Hidesign", 900), _p(2, ["Accessories", "Belts"], "Hidesign", 700),
    _p(3, ["Kitchen", "Coffee Mugs"], "Clay Co", 300), _p(4, ["Kitchen", "Bottles & Sippers"], "Milton", 400),
    _p(5, ["Watches", "Wrist Watches"], "Titan", 2500), _p(6, ["Footwear", "Sports Shoes"], "Puma", 3000),
    _p(7, ["Accessories", "Wallets"], "New Leaf", 400),
]
TERMS = CatalogTerms.from_products(CATALOG)


@pytest.mark.parametrize(("text", "expected"), [
    ("black leather wallet for my dad, under 1500",
     {"categories": ["Wallets"], "colours": ["Black"], "materials": ["Leather"], "gender": "men",
      "max_price": 1500.0}),
    ("for my dad, under 1500, a wallet in black leather",
     {"categories": ["Wallets"], "colours": ["Black"], "materials": ["Leather"], "gender": "men"}),
    ("brown and more premium", {"colours": ["Brown"], "price_move": "premium"}),
    ("a mug for my mom around 2k", {"categories": ["Coffee Mugs"], "gender": "women", "min_price": 1600.0,
                                    "max_price": 2400.0}),
    ("bottles between 500 and 900", {"categories": ["Bottles & Sippers"], "min_price": 500.0, "max_price": 900.0}),
    ("not too expensive watch", {"categories": ["Watches", "Wrist Watches"], "price_move": "moderate"}),
    ("sneakers not Puma rated 4+", {"categories": ["Sports Shoes"], "exclude_brands": ["Puma"], "min_rating": 4.0}),
    ("only Titan, show me 3", {"only_brands": ["Titan"], "k": 3}),
    ("purse for my wife", {"categories": ["Wallets"], "gender": "women"}),
    ("start over", {"reset": True}),
    ("more like #2", {"like_rank": 2}),
    ("a wallet and a belt", {"categories": ["Wallets", "Belts"]}),
])
def test_free_sentences_are_read_whole(text, expected):
    parsed = parse(text, TERMS).model_dump()
    for key, value in expected.items():
        assert parsed[key] == value, key


def test_a_brand_that_is_a_common_word_counts_only_when_said_as_a_brand():
    assert parse("a new wallet", TERMS).only_brands == []
    assert parse("not New Leaf", TERMS).exclude_brands == ["New Leaf"]


def test_words_beside_a_known_type_are_kept_as_search_words_and_unknown_brands_are_kept_for_checking():
    parsed = parse("slim wallet, not Foobar", TERMS)
    assert parsed.categories == ["Wallets"] and parsed.search_words == ["slim"]
    assert parsed.exclude_brands == ["foobar"]  # the tool answers with close names


def test_an_unknown_type_names_the_nearest_categories():
    parsed = parse("a hoverboard", TERMS)
    assert parsed.categories == [] and parsed.type_how == "unknown" and len(parsed.nearest) == 3


def test_price_bands_come_from_the_type_in_the_catalog():
    assert TERMS.band(["Wallets"], 0.0, 1.0) == (400.0, 900.0)
    assert TERMS.band(["Coffee Mugs"], 0.0, 1.0) == (300.0, 300.0)


def test_reciprocal_rank_fusion_favours_products_both_rankings_agree_on():
    fused = fuse(["a", "b", "c"], ["b", "d"])
    assert max(fused, key=fused.get) == "b" and fused["a"] > fused["d"]


def test_a_weak_meaning_match_counts_when_the_category_sells_the_head_word():
    terms = CatalogTerms.from_products(CATALOG + [
        _p(8, ["Beauty", "Skin Care", "Face Care"], "Lotus", 300, "Lotus Day Cream SPF 20"),
        _p(9, ["Clothing", "Kurtis"], "W", 900, "W Women Printed Cream Kurti")])
    assert parse("face cream for my mother", terms).categories == ["Face Care"]
    # near Coffee Mugs by meaning too, but no mug is called a table: unknown, with the nearest named
    table = parse("coffee table", terms)
    assert table.categories == [] and table.type_how == "unknown" and table.nearest[0] == "Coffee Mugs"


def test_more_like_a_product_keeps_the_colour_and_material_asked_for():
    from tools.recommend.requested import Asked, apply_request
    from tools.schemas import Constraints, Recommendation

    c, asked = Constraints(k=5), Asked()
    c, asked, _, _ = apply_request(c, asked, parse("black leather wallet", TERMS), base=None, shown=[], brands=[],
                                   products={}, terms=TERMS, turn=1)
    shown = [Recommendation(rank=1, product_id="p7", title="New Leaf Wallets", brand="New Leaf", price=400.0,
                            currency="INR", score=0.5, reasons=[])]
    c, asked, changes, _ = apply_request(c, asked, parse("more like #1", TERMS), base=None, shown=shown, brands=[],
                                         products={"p7": CATALOG[6]}, terms=TERMS, turn=2)
    assert c.categories == ["Wallets"] and c.query == "New Leaf Wallets" and "p7" in c.must_exclude
    assert [s.value for s in asked.colours] == ["Black"] and [m.value for m in asked.materials] == ["Leather"]
    assert asked.colours[0].turn == 1  # still cited as said in message 1


def test_a_type_word_that_only_modifies_the_noun_asked_for_gives_way_to_that_noun():
    terms = CatalogTerms.from_products(CATALOG + [
        _p(10, ["Computers", "Laptops"], "Acme", 40000, "Acme 14 inch Laptop"),
        _p(11, ["Bags", "Laptop Bag"], "Carry", 900, "Carry Padded Laptop Sleeve"),
        _p(12, ["Clothing", "Jeans"], "Denim Co", 1200, "Denim Co Slim Fit Jeans")])
    for said in ("a laptop sleeve for my 14 inch macbook", "a sleeve for my laptop"):
        parsed = parse(said, terms)
        assert parsed.categories == ["Laptop Bag"] and parsed.type_how == "meaning", said
        assert parsed.product_type == "laptop sleeve"
    # an attribute after the type word is no other product: the type holds
    assert parse("jeans slim fit", terms).categories == ["Jeans"]
    assert parse("laptop gaming", terms).categories == ["Laptops"]
    # a pair no category's products are called: searched by meaning with the nearest named, never the modifier
    terms = CatalogTerms.from_products(CATALOG + [
        _p(10, ["Computers", "Laptops"], "Acme", 40000, "Acme 14 inch Laptop"),
        _p(11, ["Bags", "Laptop Bag"], "Carry", 900, "Carry Padded Laptop Bag")])
    sleeve = parse("a laptop sleeve", terms)
    assert sleeve.categories == [] and sleeve.type_how == "unknown" and sleeve.product_type == "laptop sleeve"
    assert sleeve.nearest[0] == "Laptop Bag"


@pytest.mark.parametrize(("text", "currency", "amount"), [
    ("under 30 dollars", "USD", 30.0), ("$40 or less", "USD", 40.0), ("between 10 and 20 euros", "EUR", 20.0),
    ("below £25", "GBP", 25.0), ("wallet under ₹1500", "INR", 1500.0), ("wallet under 1500", None, 1500.0),
])
def test_the_currency_said_with_an_amount_is_kept(text, currency, amount):
    parsed = parse(text, TERMS)
    assert parsed.currency == currency and parsed.max_price == amount


def test_a_request_in_a_long_sentence_is_searched_by_meaning_not_dropped():
    parsed = parse("hi, I need something to keep my coffee hot during my commute", TERMS)
    assert parsed.asks and not parsed.ignored
    assert parsed.type_how in ("unknown", "meaning") and "coffee" in parsed.product_type
    chatter = parse("what is the weather like in the mountains this weekend", TERMS)
    assert not chatter.asks  # nothing asked for: the chat says it did not understand


def test_whom_it_is_for_and_their_age():
    nephew = parse("a gift for my 10 year old nephew who likes science", TERMS)
    assert (nephew.gender, nephew.recipient, nephew.age) == ("boys", "nephew", 10)
    assert nephew.search_words == ["science"] and not nephew.ignored
    assert parse("toys for a 6-year-old", TERMS).gender == "kids"
    assert parse("my wife loves cooking, any ideas?", TERMS).gender == "women"  # no "for" needed


def test_a_brand_that_is_also_a_word_is_no_brand_before_a_feature():
    terms = CatalogTerms.from_products([*CATALOG, _p(8, ["Audio", "Headphones"], "Noise", 1500),
                                        _p(9, ["Audio", "Headphones"], "Boat", 900)])
    assert parse("headphones with noise cancelling", terms).only_brands == []
    assert parse("noise-cancelling headphones", terms).only_brands == []
    assert parse("noise headphones", terms).only_brands == ["Noise"]
    assert parse("only noise", terms).only_brands == ["Noise"]

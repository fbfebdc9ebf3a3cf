"""The product type a title names (its head noun phrase) and its match to catalog names by head noun."""

from __future__ import annotations

import pytest

from tools.perception.product_type import lexical_matches, match_vocabulary, title_type


@pytest.mark.parametrize(("title", "brand", "expected"), [
    # brand, pack size and the model it fits come before the type
    ("ESR 3 Pack for iPhone 16 Pro Max Screen Protector, Tempered Glass Film with Easy Installation Tool",
     "ESR", "Screen Protector"),
    ("Acme X200 Analog Watch - For Men, Boys", "Acme", "Analog Watch"),
    ("Nike Air Zoom Pegasus 39 Running Shoes for Men", "Nike", "Running Shoes"),
    ("Set of 2 Coffee Mugs", None, "Coffee Mugs"),
    ("Stainless Steel Water Bottle 1L (Blue)", None, "Water Bottle"),
    # a brand in plain words is still not the type
    ("Crate Barrel Bath Towel", "Crate Barrel", "Bath Towel"),
    # a capital after a hyphen is a compound word, not a model name
    ("Bosch Akku-Bohrschrauber GSR 12V-15", "Bosch", "Akku-Bohrschrauber"),
])
def test_the_type_is_the_titles_head_noun_phrase(title, brand, expected):
    assert title_type(title, brand) == expected


@pytest.mark.parametrize("title", ["Apple iPhone 15 Pro Max (256 GB) - Black", "SONY WH-1000XM5", ""])
def test_a_bare_model_name_names_no_type(title):
    assert title_type(title, "Apple") is None


def test_catalog_names_match_by_head_noun_whatever_the_spelling():
    names = ["Watches", "Wrist Watches", "Tshirts", "Cushions, Pillows & Covers", "Bowls"]
    assert lexical_matches("Analog Watch", names) == ["Watches", "Wrist Watches"]
    assert lexical_matches("Cotton T-Shirt", names) == ["Tshirts"]
    assert lexical_matches("Sofa Cover", names) == ["Cushions, Pillows & Covers"]
    assert lexical_matches("Screen Protector", names) == []


def test_vocabulary_match_forgives_ocr_slips_but_not_other_words():
    vocabulary = {"wrist watches": "Wrist Watches", "coffee mugs": "Coffee Mugs"}
    assert match_vocabulary("Wrist Watchees", vocabulary) == "Wrist Watches"
    assert match_vocabulary("COFFEE MUGS", vocabulary) == "Coffee Mugs"
    assert match_vocabulary("Bed Linen", vocabulary) is None


def test_a_page_without_a_trail_gets_the_type_its_title_names_in_the_catalogs_words_where_it_has_them():
    from tools.perception.screen_reader import OfflineScreenReader

    sr = OfflineScreenReader(brands=["ESR", "Titan"], categories=["Watches", "Wrist Watches", "Cases & Covers"],
                             ocr=None)
    assert sr.read_title("s:1", "Titan Neo Analog Wrist Watch for Men").category_path == ["Wrist Watches"]
    # the catalog has no screen protectors: the type stays as read (never the brand), for the recommender to map
    protector = sr.read_title("s:2", "ESR 3 Pack for iPhone 16 Pro Max Screen Protector, Tempered Glass")
    assert protector.brand == "ESR" and protector.category_path == ["Screen Protector"]


def test_a_trail_ocr_read_without_separators_is_found_by_the_catalogs_names_after_a_root_word():
    from tools.perception.product_type import compact_text, vocabulary_trail

    names = {compact_text(c): c for c in ["Watches", "Wrist Watches", "Kitchen", "Home Decor & Festive Needs"]}
    keys = sorted(names, key=len, reverse=True)
    assert vocabulary_trail("Home  Watches  Wrist Watches", names, keys) == ["Watches", "Wrist Watches"]
    assert vocabulary_trail("StartWatchesWrist Watches", names, keys) == ["Watches", "Wrist Watches"]
    assert vocabulary_trail("Watches Kitchen", names, keys) == []  # a row of category links, no root: a menu
    assert vocabulary_trail("Home Decor & Festive Needs", names, keys) == []  # one name, not a trail
    assert vocabulary_trail("Homemade Jam", names, keys) == []

"""The large catalog for scale tests (catalog/sources/large.py): real rows first, then colour variants."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from catalog.models import Product
from catalog.shared_data import shared_data_root
from catalog.sources.large import VARIANT_COLOURS, large_catalog, variant, write_large_catalog

BASE = {"id": "my-1", "title": "Nike Men Navy Blue Running Shoes", "brand": "Nike",
        "category_path": ["Footwear", "Shoes", "Sports Shoes"], "price": 2999.0, "list_price": 3999.0,
        "colour": "Navy Blue", "source": "myntra", "derived_fields": ["brand", "price"]}

SHARED = shared_data_root()
needs_shared = pytest.mark.skipif(SHARED is None or not (SHARED / "myntra-fashion-products").is_dir(),
                                  reason="the shared data (shared/data beside the checkout) is not here")


def test_a_variant_is_the_same_product_in_another_colour_named_in_its_title():
    made = [Product.model_validate(variant(BASE, n)) for n in range(1, 6)]
    assert [p.id for p in made] == [f"my-1-v{n}" for n in range(1, 6)]
    assert len({p.colour for p in made}) == 5 and "Navy Blue" not in {p.colour for p in made}
    for product in made:
        assert product.colour in VARIANT_COLOURS
        assert product.title == f"Nike Men {product.colour} Running Shoes"  # the colour word is replaced
        assert (product.brand, product.category_path) == (BASE["brand"], BASE["category_path"])
        assert 0.85 * 2999 - 10 <= product.price <= 1.15 * 2999 + 10
        assert product.list_price >= product.price
        assert {"colour", "price"} <= set(product.derived_fields) and product.source == "myntra-variant"


def test_a_title_without_its_colour_gets_the_new_colour_appended():
    base = {**BASE, "title": "Nike Air Zoom Pegasus", "colour": None}
    product = Product.model_validate(variant(base, 1))
    assert product.title == f"Nike Air Zoom Pegasus - {product.colour}"


@needs_shared
def test_the_large_catalog_has_the_count_asked_for_with_unique_valid_products(tmp_path):
    stats: Counter = Counter()
    products = list(large_catalog(SHARED, 56_000, stats))
    assert len(products) == 56_000 == len({p.id for p in products})
    by_source = Counter(p.source for p in products)
    assert by_source["myntra"] > 44_000 and by_source["amazon-in"] > 9_000
    assert by_source["myntra-variant"] + by_source["amazon-in-variant"] == stats["colour variants"] > 0
    real = {p.id: p for p in products if "variant" not in p.source}
    for product in products:
        if "variant" in product.source:
            base = real[product.id.rsplit("-v", 1)[0]]
            assert product.colour != base.colour and product.category_path == base.category_path
    azs = [p for p in products if p.source == "amazon-in"]
    assert sum(p.price is not None for p in azs) > 0.95 * len(azs)
    assert all(p.rating is None or 0 <= p.rating <= 5 for p in azs)


@needs_shared
def test_two_builds_write_identical_files(tmp_path):
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    write_large_catalog(SHARED, first, 2_000)
    write_large_catalog(SHARED, second, 2_000)
    assert first.read_bytes() == second.read_bytes()
    assert len(first.read_text(encoding="utf-8").splitlines()) == 2_000
    Product.model_validate(json.loads(first.read_text(encoding="utf-8").splitlines()[0]))
    assert not (tmp_path / "a.jsonl.tmp").exists()


def test_the_cli_says_where_to_find_the_shared_data_when_it_is_missing(tmp_path, capsys, monkeypatch):
    from agent.cli.main import main

    monkeypatch.setenv("INTERAREC_SHARED_DATA", str(tmp_path / "nowhere"))
    assert main(["catalog", "build-large", "--out", str(tmp_path / "x.jsonl"), "--count", "10"]) == 2
    assert "missing shared data folder" in capsys.readouterr().err
    assert not (tmp_path / "x.jsonl").exists()

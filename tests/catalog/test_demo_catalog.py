"""Checks on the shipped demo catalog (catalog/data/demo) and on the determinism of its builder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat

from catalog.files import DEMO_DIR, DEMO_IMAGES, DEMO_PRODUCTS
from catalog.models import Product
from catalog.sources import demo as build_demo
from catalog.sources import flipkart as source_flipkart
from catalog.sources import myntra as source_myntra
from catalog.sources import myntra_prices

REPO_ROOT = Path(__file__).resolve().parents[2]
CATALOG_DIR = REPO_ROOT / "catalog"
# CI checks out ../shared beside the clone; locally it is /work/shared.
SHARED_CANDIDATES = [Path(__file__).resolve().parents[3] / "shared" / "data", Path("/work/shared/data")]
SIZE_BUDGET = 25_000_000  # bytes, for the whole catalog/ directory (`du -sb catalog`)


def _shared_data() -> Path | None:
    needed = (source_flipkart.FLIPKART_DIR, source_myntra.MYNTRA_DIR, myntra_prices.AMAZON_DIR)
    for candidate in SHARED_CANDIDATES:
        if all((candidate / sub).is_dir() for sub in needed):
            return candidate
    return None


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    with open(DEMO_PRODUCTS, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


@pytest.fixture(scope="module")
def products(rows) -> list[Product]:
    return [Product.model_validate(row) for row in rows]


def test_every_row_validates(rows, products):
    assert len(products) == len(rows) > 1000
    # Re-serialising reproduces the line exactly: the file is in the builder's canonical form.
    lines = DEMO_PRODUCTS.read_text(encoding="utf-8").splitlines()
    assert [p.model_dump_json(exclude_defaults=False) for p in products] == lines


def test_ids_unique_and_sorted(products):
    ids = [p.id for p in products]
    assert len(ids) == len(set(ids))
    assert ids == sorted(ids)


def test_sources_and_counts(products):
    by_source: dict[str, int] = {}
    for p in products:
        by_source[p.source] = by_source.get(p.source, 0) + 1
    assert set(by_source) == {"flipkart", "myntra"}
    assert by_source["flipkart"] == 1047
    assert 550 <= by_source["myntra"] <= 650
    for p in products:
        prefix = {"flipkart": "fk-", "myntra": "my-"}[p.source]
        assert p.id.startswith(prefix)
        assert p.currency == "INR"
        assert 1 <= len(p.category_path) <= 3


def test_each_image_exists_and_opens(products):
    names = set()
    for p in products:
        assert p.image == f"{p.id}.jpg"
        path = DEMO_IMAGES / p.image
        assert path.is_file(), path
        with Image.open(path) as image:
            image.verify()
        with Image.open(path) as image:
            assert image.format == "JPEG"
            assert image.mode == "RGB"
            assert max(image.size) <= build_demo.IMAGE_MAX_SIDE
            assert not image.getexif()
        names.add(p.image)
    # No stray images beside the ones the JSONL refers to.
    assert {path.name for path in DEMO_IMAGES.iterdir()} == names


def test_catalog_size_budget():
    size = build_demo.tree_size(CATALOG_DIR)
    assert size <= SIZE_BUDGET, f"catalog/ is {size:,} bytes, budget {SIZE_BUDGET:,}"


def test_derived_fields_flagged(products):
    for p in products:
        if p.source == "myntra":
            assert p.price is not None and "price" in p.derived_fields, p.id
            assert "brand" in p.derived_fields, p.id
            if p.list_price is not None:
                assert "list_price" in p.derived_fields, p.id
                assert p.list_price >= p.price
            # Derived prices look like shop prices: they end in 9.
            assert p.price % 10 == 9, p.id
        else:
            assert "price" not in p.derived_fields, p.id
            assert "list_price" not in p.derived_fields, p.id
        assert set(p.derived_fields) <= {"price", "list_price", "brand"}


def test_flipkart_prices_come_from_source(products):
    flipkart = [p for p in products if p.source == "flipkart"]
    priced = [p for p in flipkart if p.price is not None]
    assert len(priced) >= len(flipkart) - 1  # one upstream row has no price
    for p in priced:
        if p.list_price is not None:
            assert p.list_price >= p.price


def test_category_paths_have_no_product_names(products):
    for p in products:
        assert not any(level.endswith("...") for level in p.category_path), p.id
        assert p.title not in p.category_path, p.id


def test_hash_quantile_and_retail_round():
    q = myntra_prices.hash_quantile("my-10000")
    assert 0 < q < 1
    assert q == myntra_prices.hash_quantile("my-10000")
    assert myntra_prices.retail_round(1304) == 1299
    assert myntra_prices.retail_round(845) == 849
    assert myntra_prices.retail_round(4) == 9


def test_flipkart_category_parsing():
    parse = source_flipkart.parse_flipkart_categories
    title = "Titan 1639SL03 Analog Watch - For Boys, Men"
    assert parse('["Watches >> Wrist Watches >> Titan Wrist Watches"]', title) == ["Watches", "Wrist Watches"]
    tree = '["Baby Care >> Baby Bath & Skin >> Baby Bath Towels >> Sathiyas Baby Bath Towels >> Sathiyas Co..."]'
    assert parse(tree, "Sathiyas Cotton Bath Towel") == ["Baby Care", "Baby Bath & Skin", "Baby Bath Towels"]
    tree = '["Home Furnishing >> JMD Home Furnishing >> JMD Printed Cushions Cover (Pack of 2, 40 cm*40 ..."]'
    assert parse(tree, "JMD Printed Cushions Cover") == ["Home Furnishing"]


@pytest.mark.skipif(_shared_data() is None, reason="shared data (../shared/data beside the repo) not found")
def test_rebuild_is_byte_identical(tmp_path):
    shared = _shared_data()
    assert shared is not None
    out = tmp_path / "demo"
    sample_size = 40
    build_demo.build(shared, out, max_images=sample_size, quiet=True)
    assert (out / "products.jsonl").read_bytes() == DEMO_PRODUCTS.read_bytes()

    # Images: the first 40 (all Flipkart) were written by build(); add every 40th row across both sources.
    items = build_demo.collect_items(shared)
    sample = [(record["image"], None) for record, _ in items[:sample_size]]
    sample += [(record["image"], photo) for record, photo in items[sample_size::40]]
    assert any(name.startswith("my-") for name, _ in sample)

    recorded = json.loads((DEMO_DIR / "build_info.json").read_text(encoding="utf-8"))["encoder"]
    same_encoder = recorded == build_demo.encoder_info()
    for name, photo in sample:
        rebuilt = (out / "images" / name).read_bytes() if photo is None else build_demo.encode_image(photo)
        shipped = (DEMO_IMAGES / name).read_bytes()
        if same_encoder:
            assert rebuilt == shipped, name
        else:
            # Another Pillow/libjpeg build may choose different bytes; the picture must still match.
            (out / "cmp.jpg").write_bytes(rebuilt)
            with Image.open(out / "cmp.jpg") as a, Image.open(DEMO_IMAGES / name) as b:
                assert a.size == b.size, name
                diff = ImageStat.Stat(ImageChops.difference(a.convert("RGB"), b.convert("RGB"))).mean
                assert max(diff) < 3, name

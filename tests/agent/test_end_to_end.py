"""browse-and-recommend end to end: real Chromium browses the local demo shop as a persona, the offline
screen reader reads the screenshots, and the optimiser ranks products from the Chroma catalog.

The ground truth comes from what the browser actually opened (the frames' URLs, looked up in the catalog),
never from the persona's definition or the reader's output."""

from __future__ import annotations

import json
import os
import sqlite3
from collections import Counter

import pytest

from agent.cli.main import main
from catalog.files import load_products
from tests.conftest import requires_chromium
from tools.recommend.constraints import DEFAULT_PRICE_TOLERANCE

pytestmark = [requires_chromium, pytest.mark.browser]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("e2e")
    env = {"INTERAREC_DATA_DIR": str(data_dir), "INTERAREC_CONFIG": str(data_dir / "none.toml")}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        import contextlib
        import io

        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = main(["browse-and-recommend", "--persona", "watch-buyer", "--json"])
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    assert code == 0
    payload = json.loads(out.getvalue())
    db = sqlite3.connect(data_dir / "frames" / "frames.sqlite")
    urls = [row[0] for row in db.execute(
        "SELECT url FROM frames WHERE session_id = ? ORDER BY sequence", (payload["session_id"],))]
    return payload, urls


@pytest.fixture(scope="module")
def catalog():
    return {p.id: p for p in load_products()}


def _viewed(urls, catalog):
    ids = []
    for url in urls:
        if "/p/" in url:
            product_id = url.rsplit("/p/", 1)[1].split("?")[0]
            if product_id not in ids:
                ids.append(product_id)
    return [catalog[i] for i in ids]


def test_json_has_the_documented_shape(run):
    payload, _ = run
    assert set(payload) >= {"session_id", "summary", "recommendations", "timings", "backends"}
    assert set(payload["summary"]) >= {"product_characteristics", "price_range", "brand_preferences",
                                       "specifications", "reviews", "comparisons", "promotions"}
    for rec in payload["recommendations"]:
        assert set(rec) >= {"rank", "product_id", "title", "brand", "price", "currency", "score", "reasons"}
        assert rec["reasons"]
    assert [r["rank"] for r in payload["recommendations"]] == list(range(1, len(payload["recommendations"]) + 1))
    assert {"browse", "summarise", "retrieve", "optimise"} <= set(payload["timings"])
    assert "not an MLLM" in payload["backends"]["summariser"]


def test_screenshots_were_taken_of_the_viewport(run):
    payload, urls = run
    assert payload["frames"] == len(urls) >= 10
    assert any("/search?" in u for u in urls) and sum("/p/" in u for u in urls) >= 4


def test_summary_reads_the_browsed_category_and_prices_off_the_screens(run, catalog):
    payload, urls = run
    viewed = _viewed(urls, catalog)
    leaf = Counter(p.leaf_category for p in viewed).most_common(1)[0][0]
    summary = payload["summary"]
    assert summary["product_characteristics"]["types"][0]["value"] == leaf
    prices = sorted(p.price for p in viewed)
    assert summary["price_range"]["lowest"] == pytest.approx(prices[0], abs=1)
    assert summary["price_range"]["highest"] == pytest.approx(prices[-1], abs=1)
    assert len(summary["products_seen"]) == len(viewed)


def test_top_five_match_the_browsed_category_and_price_band(run, catalog):
    payload, urls = run
    viewed = _viewed(urls, catalog)
    leaf = Counter(p.leaf_category for p in viewed).most_common(1)[0][0]
    low = min(p.price for p in viewed) * (1 - DEFAULT_PRICE_TOLERANCE)
    high = max(p.price for p in viewed) * (1 + DEFAULT_PRICE_TOLERANCE)
    recs = payload["recommendations"]
    assert len(recs) >= 5
    for rec in recs[:5]:
        product = catalog[rec["product_id"]]
        assert product.leaf_category == leaf, rec
        assert low - 0.01 <= product.price <= high + 0.01, rec
        assert rec["price"] == product.price and rec["title"] == product.title


def test_already_viewed_products_are_not_recommended(run, catalog):
    payload, urls = run
    viewed_ids = {p.id for p in _viewed(urls, catalog)}
    assert viewed_ids.isdisjoint(r["product_id"] for r in payload["recommendations"])


def test_optimiser_reports_an_optimal_solve(run):
    payload, _ = run
    assert payload["optimizer"]["status"] == "OPTIMAL"
    assert payload["optimizer"]["no_choice_weight"] + sum(r["score"] for r in payload["recommendations"]) == \
        pytest.approx(1.0, abs=1e-5)

"""The Chroma-backed catalog: idempotent upsert, filtered semantic search, persistence across store objects.

Every store test runs twice: on the embedded store (PersistentClient) and on a real `chroma run` server
(HttpClient; the ``chroma_server`` fixture in conftest.py), each test in collections of its own.
"""

from __future__ import annotations

import socket
import time

import pytest

from agent.cli.common import common_options, settings_from
from agent.settings import SettingsError, load_settings
from agent.wiring import open_store
from catalog.models import Product
from catalog.store import CatalogError, CatalogStore, SearchFilters
from tests.catalog_stores import make_stores
from tests.conftest import free_port


def _p(pid: str, title: str, path: list[str], *, brand: str | None = None, price: float | None = None,
       rating: float | None = None, colour: str | None = None) -> Product:
    return Product(id=pid, title=title, category_path=path, brand=brand, price=price, rating=rating,
                   colour=colour)


WATCHES = ["Watches", "Wrist Watches", "Analog Watches"]
SMART = ["Watches", "Wrist Watches", "Smart Watches"]
MUGS = ["Home & Kitchen", "Coffee Mugs"]
SHOES = ["Footwear", "Men's Footwear", "Casual Shoes"]

PRODUCTS = [
    _p("w1", "Titan analog wrist watch for men", WATCHES, brand="Titan", price=1450, rating=4.3, colour="Black"),
    _p("w2", "Fastrack analog watch with leather strap", WATCHES, brand="Fastrack", price=799, rating=3.9),
    _p("w3", "Sonata round dial analog watch", WATCHES, brand="Sonata", price=560),  # unrated
    _p("w4", "Noise smart watch with heart rate monitor", SMART, brand="Noise", price=2499, rating=4.1),
    _p("w5", "TITAN Raga women's analog watch", WATCHES, brand="TITAN", price=5200, rating=4.7),
    _p("w6", "Unbranded digital sports watch", SMART, price=299, rating=2.5),  # no brand
    _p("m1", "Printed ceramic coffee mug", MUGS, brand="Chumbak", price=349, rating=4.0, colour="White"),
    _p("m2", "Black ceramic coffee mug 350 ml", MUGS, brand="Borosil", price=420, rating=3.2, colour="Black"),
    _p("m3", "Travel mug, price on request", MUGS, brand="Milton"),  # no price, no rating
    _p("s1", "Puma casual sneakers for men", SHOES, brand="Puma", price=2199, rating=4.2),
    _p("s2", "Red Tape casual shoes", SHOES, brand="Red Tape", price=1299, rating=3.8),
]
BY_ID = {p.id: p for p in PRODUCTS}


@pytest.fixture(scope="module")
def filled_store(mode, request, tmp_path_factory) -> CatalogStore:
    """A store holding PRODUCTS, shared by the read-only search tests."""
    stores = make_stores(mode, request, tmp_path_factory.mktemp("catalog-shared"))
    store = stores.open()
    store.upsert(PRODUCTS)
    yield store
    stores.close()


def _ids(store: CatalogStore, query: str, filters: SearchFilters | None = None) -> set[str]:
    return {hit.product.id for hit in store.search(query, filters, limit=100)}


def _expected(predicate) -> set[str]:
    return {p.id for p in PRODUCTS if predicate(p)}


# ---------------------------------------------------------------- upsert


def test_upsert_reports_added_then_unchanged_and_is_idempotent(store):
    first = store.upsert(PRODUCTS)
    assert (first.added, first.updated, first.unchanged) == (len(PRODUCTS), 0, 0)
    assert sorted(first.ids) == sorted(BY_ID)
    assert store.count() == len(PRODUCTS)

    again = store.upsert(PRODUCTS)
    assert (again.added, again.updated, again.unchanged) == (0, 0, len(PRODUCTS))
    assert store.count() == len(PRODUCTS)


def test_changed_product_is_updated_and_the_new_values_are_served(store):
    store.upsert(PRODUCTS)
    cheaper = BY_ID["w1"].model_copy(update={"price": 999.0})
    retitled = BY_ID["m1"].model_copy(update={"title": "Printed stoneware coffee cup"})
    new = _p("n1", "Casio digital watch", SMART, brand="Casio", price=1800, rating=4.4)

    report = store.upsert([cheaper, BY_ID["w2"], retitled, new])
    assert (report.added, report.updated, report.unchanged) == (1, 2, 1)
    assert store.count() == len(PRODUCTS) + 1
    assert store.get(["w1"])[0].price == 999.0
    assert store.get(["m1"])[0].title == "Printed stoneware coffee cup"
    # filters use the new metadata, not the old
    assert "w1" in _ids(store, "watch", SearchFilters(max_price=1000))


def test_duplicate_ids_in_one_upsert_count_once_and_last_wins(store):
    first = BY_ID["w2"]
    last = first.model_copy(update={"price": 650.0})
    report = store.upsert([first, last])
    assert report.added == 1
    assert store.count() == 1
    assert store.get(["w2"])[0].price == 650.0


def test_empty_store_search_returns_nothing(store):
    assert store.count() == 0
    assert store.search("watch") == []


# ---------------------------------------------------------------- search


def test_search_ranks_relevant_products_first(filled_store):
    hits = filled_store.search("ceramic coffee mug", limit=3)
    assert len(hits) == 3
    assert {h.product.id for h in hits[:2]} == {"m1", "m2"}
    sims = [h.similarity for h in hits]
    assert sims == sorted(sims, reverse=True)
    assert all(-1.0 <= s <= 1.0 for s in sims)
    assert len(filled_store.search("watch", limit=2)) == 2


def test_price_range_filter(filled_store):
    ids = _ids(filled_store, "analog watch", SearchFilters(min_price=500, max_price=1500))
    assert ids == _expected(lambda p: p.price is not None and 500 <= p.price <= 1500)
    assert ids  # the check is not vacuous
    for pid in ids:
        assert 500 <= BY_ID[pid].price <= 1500


def test_max_price_alone_excludes_unpriced_and_expensive(filled_store):
    ids = _ids(filled_store, "mug", SearchFilters(max_price=400))
    assert ids == {"w6", "m1"}


def test_brand_filter_is_case_insensitive(filled_store):
    ids = _ids(filled_store, "watch", SearchFilters(brands=("titan",)))
    assert ids == {"w1", "w5"}  # stored as "Titan" and "TITAN"
    ids = _ids(filled_store, "watch", SearchFilters(brands=("FASTRACK", "red tape")))
    assert ids == {"w2", "s2"}


@pytest.mark.parametrize(
    ("category", "expected"),
    [
        ("watches", {"w1", "w2", "w3", "w4", "w5", "w6"}),  # level 0
        ("WRIST WATCHES", {"w1", "w2", "w3", "w4", "w5", "w6"}),  # level 1
        ("Smart Watches", {"w4", "w6"}),  # level 2
        ("coffee mugs", {"m1", "m2", "m3"}),  # leaf of a 2-level path
    ],
)
def test_category_filter_matches_any_level(filled_store, category, expected):
    assert _ids(filled_store, "something to buy", SearchFilters(categories=(category,))) == expected


def test_several_categories_are_alternatives(filled_store):
    ids = _ids(filled_store, "gift", SearchFilters(categories=("Casual Shoes", "Coffee Mugs")))
    assert ids == {"s1", "s2", "m1", "m2", "m3"}


def test_min_rating_excludes_unrated_and_low_rated(filled_store):
    ids = _ids(filled_store, "analog watch", SearchFilters(min_rating=4.0))
    assert ids == _expected(lambda p: p.rating is not None and p.rating >= 4.0)
    assert "w3" not in ids and "m3" not in ids  # unrated


def test_exclude_ids(filled_store):
    ids = _ids(filled_store, "analog watch", SearchFilters(exclude_ids=("w1", "w5", "m1")))
    assert ids == set(BY_ID) - {"w1", "w5", "m1"}


def test_combined_filters_never_return_a_violating_product(filled_store):
    filters = SearchFilters(min_price=300, max_price=3000, brands=("titan", "noise", "fastrack", "chumbak"),
                            categories=("watches",), min_rating=3.5, exclude_ids=("w2",))
    ids = _ids(filled_store, "watch", filters)
    assert ids == {"w1", "w4"}


def test_filters_with_no_match_return_empty(filled_store):
    assert filled_store.search("watch", SearchFilters(brands=("rolex",))) == []
    assert filled_store.search("watch", SearchFilters(min_price=10_000)) == []


def test_search_returns_full_products(filled_store):
    hit = filled_store.search("Titan analog wrist watch for men", SearchFilters(brands=("Titan",)), limit=1)[0]
    assert hit.product == BY_ID["w1"]


# ---------------------------------------------------------------- get, brands


def test_get_keeps_requested_order_and_skips_unknown_ids(filled_store):
    assert [p.id for p in filled_store.get(["m2", "nope", "w1"])] == ["m2", "w1"]
    assert filled_store.get(["m2"])[0] == BY_ID["m2"]
    assert filled_store.get([]) == []


def test_brands_are_sorted_distinct_and_skip_unbranded(filled_store):
    assert filled_store.brands() == sorted({p.brand for p in PRODUCTS if p.brand})
    assert None not in filled_store.brands()


def test_all_products_sorted_by_id(filled_store):
    assert [p.id for p in filled_store.all_products()] == sorted(BY_ID)


# ---------------------------------------------------------------- persistence


def test_reopened_store_finds_products_and_searches(stores):
    stores.open().upsert(PRODUCTS)
    # Drop Chroma's per-path client cache so the next open reads from disk (or the server), as a new process would.
    reopened = stores.reopen()
    assert reopened.count() == len(PRODUCTS)
    assert reopened.get(["s1"])[0] == BY_ID["s1"]
    hits = reopened.search("ceramic coffee mug", SearchFilters(max_price=400), limit=5)
    assert [h.product.id for h in hits] == ["m1", "w6"]  # the mug first, then the only other one under 400
    # re-ingesting after the reopen is still a no-op
    report = reopened.upsert(PRODUCTS)
    assert (report.added, report.updated, report.unchanged) == (0, 0, len(PRODUCTS))


def test_category_filter_matches_a_fourth_level(store):
    deep = _p("d1", "Titan analog watch", ["Fashion", "Accessories", "Watches", "Analog Watches"], price=900)
    store.upsert([deep])
    assert _ids(store, "watch", SearchFilters(categories=("analog watches",))) == {"d1"}


# ---------------------------------------------------------------- the Chroma server setting and its failures


def test_unreachable_server_fails_fast_with_an_error_naming_the_url():
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    started = time.monotonic()
    with pytest.raises(CatalogError, match=f"cannot reach the Chroma server at {url}"):
        CatalogStore.connect(url)
    assert time.monotonic() - started < 3


def test_a_server_that_never_answers_times_out():
    with socket.socket() as silent:  # accepts connections (the backlog) but never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        with pytest.raises(CatalogError, match=f"{url} .*within 0.5 s"):
            CatalogStore.connect(url, timeout_s=0.5)
        assert time.monotonic() - started < 3


@pytest.mark.parametrize("url", ["127.0.0.1:8000", "ftp://127.0.0.1:8000", "http://127.0.0.1",
                                 "http://:8000", "http://127.0.0.1:port", "http://127.0.0.1:8000/api"])
def test_invalid_chroma_url_is_a_settings_error_naming_the_variable_and_flag(url):
    with pytest.raises(SettingsError, match="chroma_url.*INTERAREC_CHROMA_URL or --chroma-url"):
        load_settings(chroma_url=url)


def test_chroma_url_from_environment_and_flag(monkeypatch):
    assert load_settings().chroma_url is None
    monkeypatch.setenv("INTERAREC_CHROMA_URL", "https://chroma.example:443/")
    assert load_settings().chroma_url == "https://chroma.example:443"
    args = common_options().parse_args(["--chroma-url", "http://127.0.0.1:8123"])
    assert settings_from(args).chroma_url == "http://127.0.0.1:8123"  # the flag wins over the environment


def test_open_store_uses_the_server_when_chroma_url_is_set(chroma_server):
    store = open_store(load_settings(chroma_url=chroma_server))
    try:
        assert store.location == chroma_server
        store.upsert(PRODUCTS[:3])
        assert store.get(["w2"]) == [BY_ID["w2"]]  # embedded client-side by our function: the server has no model
    finally:
        store._client.delete_collection(store._collection.name)
    assert not (load_settings().data_dir / "catalog").exists()  # the embedded store was not opened

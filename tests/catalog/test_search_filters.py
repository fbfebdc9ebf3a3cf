"""Filtered search with the in-memory filter index gives what Chroma's own filter gives, in both store modes, and
stays current when this process or another one changes the catalog."""

from __future__ import annotations

import random
import uuid
from typing import Any

import pytest

from catalog import store as store_module
from catalog.embedding import embed_texts
from catalog.files import load_products
from catalog.filter_index import FilterIndex
from catalog.search_filters import SearchFilters
from catalog.store import _metadata

PRODUCTS = load_products()[::4]  # about 410 products over every category of the demo catalog
QUERIES = ["analog watch for men", "ceramic coffee mug", "cotton t-shirt", "running shoes", "baby care", "gift"]


def _matches(where: dict[str, Any] | None, meta: dict[str, Any]) -> bool:
    """A small evaluator of Chroma's where language: an oracle independent of the code under test."""
    if where is None:
        return True
    (key, cond), = where.items()
    if key == "$and":
        return all(_matches(c, meta) for c in cond)
    if key == "$or":
        return any(_matches(c, meta) for c in cond)
    (op, value), = cond.items()
    if key not in meta:
        return op == "$nin"
    have = meta[key]
    return {"$gte": lambda: have >= value, "$lte": lambda: have <= value, "$in": lambda: have in value,
            "$nin": lambda: have not in value}[op]()


def _random_filters(rng: random.Random) -> SearchFilters:
    product = rng.choice(PRODUCTS)
    price = product.price or 1000.0
    return SearchFilters(
        categories=(rng.choice(product.category_path),) if rng.random() < 0.8 else (),
        min_price=round(price * rng.uniform(0.3, 1.0)) if rng.random() < 0.7 else None,
        max_price=round(price * rng.uniform(1.0, 3.0)) if rng.random() < 0.7 else None,
        brands=(product.brand.upper(), "No Such Brand") if product.brand and rng.random() < 0.3 else (),
        min_rating=rng.choice([3.0, 4.0]) if rng.random() < 0.2 else None,
        exclude_ids=tuple(rng.sample([p.id for p in PRODUCTS], 30)) if rng.random() < 0.5 else (),
    )


@pytest.fixture(scope="module")
def index() -> FilterIndex:
    index = FilterIndex()
    index.put(_metadata(p) for p in PRODUCTS)
    return index


@pytest.mark.parametrize("seed", range(200))
def test_the_index_selects_exactly_the_products_chromas_where_clause_admits(index, seed):
    filters = _random_filters(random.Random(seed))
    expected = [p.id for p in PRODUCTS if _matches(filters.to_where(), _metadata(p))]
    assert index.select(filters) == expected


def test_a_product_put_again_is_replaced_not_added(index):
    product = PRODUCTS[0]
    fresh = FilterIndex()
    fresh.put(_metadata(p) for p in PRODUCTS[:5])
    fresh.put([_metadata(product.model_copy(update={"price": 123456.0}))])
    assert len(fresh) == 5
    assert fresh.select(SearchFilters(min_price=100000)) == [product.id]


@pytest.fixture
def demo_store(store):
    store.upsert(PRODUCTS)
    return store


def _scores(hits) -> list[float]:
    return [round(h.similarity, 4) for h in hits]


def test_indexed_search_returns_what_chromas_filter_returns(demo_store, monkeypatch):
    monkeypatch.setattr(store_module, "SMALL_SELECTION", 40)  # so this small catalog takes both ways of ranking
    rng = random.Random(11)
    searches = [(rng.choice(QUERIES), _random_filters(rng), rng.choice([5, 20, 60])) for _ in range(40)]
    chroma = [demo_store.search(q, f, limit=n) for q, f, n in searches]
    assert demo_store.load_filter_index() == len(PRODUCTS)
    small = large = 0
    for (query, filters, limit), want in zip(searches, chroma):
        got = demo_store.search(query, filters, limit=limit)
        assert _scores(got) == _scores(want), filters  # the same scores: the same products up to exact ties
        assert {h.product.id for h in got} <= set(demo_store._filter_index.select(filters))
        selected = len(demo_store._filter_index.select(filters))
        small += 0 < selected < store_module.SMALL_SELECTION
        large += selected >= store_module.SMALL_SELECTION
    assert small >= 5 and large >= 5  # both ways of ranking were compared


def test_this_processes_writes_keep_the_index_current_without_loading_it_again(demo_store, monkeypatch):
    demo_store.load_filter_index()
    product = PRODUCTS[7]
    loads = []
    monkeypatch.setattr(type(demo_store), "load_filter_index", lambda self: loads.append(1))
    demo_store.upsert([product.model_copy(update={"price": 777777.0})])
    hits = demo_store.search(product.title, SearchFilters(min_price=700000), limit=5)
    assert [h.product.id for h in hits] == [product.id] and hits[0].product.price == 777777.0
    assert loads == []


def test_a_write_by_another_client_of_a_chroma_server_is_seen_by_the_next_search(chroma_server):
    # An embedded store is one process's at a time; a server is where several processes share a catalog.
    from catalog.store import CatalogStore

    name = f"t{uuid.uuid4().hex[:12]}-shared"
    reader, writer = CatalogStore.connect(chroma_server, collection=name), CatalogStore.connect(chroma_server,
                                                                                               collection=name)
    try:
        reader.upsert(PRODUCTS[:50])
        reader.load_filter_index()
        newcomer = PRODUCTS[60].model_copy(update={"id": "new-1", "price": 999999.0})
        writer.upsert([newcomer])
        hits = reader.search(newcomer.title, SearchFilters(min_price=900000), limit=5)
        assert [h.product.id for h in hits] == ["new-1"]
    finally:
        reader._client.delete_collection(name)


def test_small_selections_are_ranked_by_the_same_cosine_as_chroma(demo_store):
    demo_store.load_filter_index()
    target = PRODUCTS[3]
    hits = demo_store.search("a gift", SearchFilters(categories=(target.category_path[-1],),
                                                     min_price=target.price, max_price=target.price), limit=3)
    assert target.id in {h.product.id for h in hits}
    vector = embed_texts(["a gift"])[0]
    expected = float(embed_texts([target.embedding_text()])[0] @ vector)
    assert next(h.similarity for h in hits if h.product.id == target.id) == pytest.approx(expected, abs=1e-4)

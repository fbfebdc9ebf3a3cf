"""A worker's remembered catalog searches: the same search within the time limit is answered as the store answered
it, without asking the store again; another query, other filters or an expired answer go to the store."""

from __future__ import annotations

from agent.service.catalog_cache import CachedSearches
from catalog.files import load_products
from catalog.search_filters import SearchFilters
from catalog.store import CatalogStore


class Counting:
    """A real embedded store, counting the searches that reach it."""

    def __init__(self, store: CatalogStore) -> None:
        self.store, self.searches = store, 0

    def search(self, *args, **kwargs):
        self.searches += 1
        return self.store.search(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.store, name)


def _store(tmp_path) -> Counting:
    store = CatalogStore.open(tmp_path / "catalog")
    store.upsert(load_products()[::40])  # about 40 products over the demo catalog's categories
    return Counting(store)


def test_a_repeated_search_is_answered_once_and_the_same(tmp_path):
    counting = _store(tmp_path)
    cached = CachedSearches(counting)
    band = SearchFilters(max_price=2000.0)
    first = cached.search("analog watch", band, limit=5)
    again = cached.search("analog watch", SearchFilters(max_price=2000.0), limit=5)
    assert [h.product.id for h in again] == [h.product.id for h in first] and first
    assert counting.searches == 1 and (cached.hits, cached.misses) == (1, 1)
    assert [h.product.id for h in first] == [h.product.id for h in counting.store.search("analog watch", band, 5)]
    cached.search("analog watch", SearchFilters(max_price=500.0), limit=5)  # other filters
    cached.search("coffee mug", band, limit=5)  # another query
    cached.search("analog watch", band, limit=10)  # another pool
    assert counting.searches == 4
    assert cached.count() == counting.store.count()  # the rest is the store's own


def test_an_expired_or_evicted_answer_is_asked_again(tmp_path):
    counting = _store(tmp_path)
    expired = CachedSearches(counting, ttl_s=0.0)
    expired.search("analog watch")
    expired.search("analog watch")
    assert counting.searches == 2
    small = CachedSearches(counting, size=1)
    small.search("analog watch")
    small.search("coffee mug")
    small.search("analog watch")  # pushed out by the mug
    assert counting.searches == 5

"""A worker's catalog searches, remembered for a while: a shopper's next frame mostly asks the catalog what the
previous one asked (the same titles to find the viewed products, the same query and filters when the summary's
kind and price band did not move), and each answer costs an embedding and two or three store round trips.

Answers are kept for ``ttl_s`` seconds (a catalog changed by an ingest shows in a worker's results within that
time) and at most ``size`` of them (a search answer holds up to a retrieval pool of products)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

from catalog.search_filters import SearchFilters
from catalog.store import CatalogStore, SearchHit

CACHE_TTL_S = 60.0
CACHE_SIZE = 512


class CachedSearches:
    """The store with ``search`` answered from memory when the same search was made in the last ``ttl_s``
    seconds; everything else goes to the store itself."""

    def __init__(self, store: CatalogStore, ttl_s: float = CACHE_TTL_S, size: int = CACHE_SIZE) -> None:
        self._store, self._ttl_s, self._size = store, ttl_s, size
        self._answers: OrderedDict[tuple, tuple[float, list[SearchHit]]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def search(self, query: str, filters: SearchFilters | None = None, limit: int = 20) -> list[SearchHit]:
        key = (query, filters or SearchFilters(), limit)
        now = time.monotonic()
        with self._lock:
            found = self._answers.get(key)
            if found is not None and now - found[0] <= self._ttl_s:
                self._answers.move_to_end(key)
                self.hits += 1
                return list(found[1])
        answer = self._store.search(query, filters, limit)
        with self._lock:
            self.misses += 1
            self._answers[key] = (now, list(answer))
            self._answers.move_to_end(key)
            while len(self._answers) > self._size:
                self._answers.popitem(last=False)
        return answer

    def __getattr__(self, name: str) -> Any:  # count, get, load_filter_index, ...: the store's own
        return getattr(self._store, name)

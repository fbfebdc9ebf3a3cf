"""Catalog benchmark: ingest speed, store size, and search latency with and without filters, at 10,000 and
100,000 products (the large catalog of catalog/sources/large.py: Myntra, Amazon.in, colour variants).

    python -m benchmarks.catalog [--sizes 10000,100000] [--queries 200] [--server] [--out bench-results/catalog.json]

Each size is its own embedded store, ingested from scratch (``--reuse`` keeps a store of the right size from an
earlier run in ``--stores`` and then reports its ingest as not measured). The 10,000 store is every tenth row of
the 100,000 file, so both hold the same mix. Queries are the searches the agent makes: the text of a summary (a
colour and a product type, as read off screens) with a filter of a category, a price band and sometimes a brand,
drawn from the catalog itself, seeded; ``limit`` is the agent's retrieval pool (60). Filtered searches are
timed twice: with Chroma evaluating the filter (``where``), then with the in-memory filter index loaded
(catalog/filter_index.py; its load time is reported). ``--server`` also measures the same store served by
``chroma run`` on 127.0.0.1 (HttpClient), search only.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path

from benchmarks.common import percentile, write_results
from catalog.bulk_ingest import ingest_file, tree_bytes
from catalog.chroma_server import chroma_server
from catalog.shared_data import shared_data_root
from catalog.sources.large import large_catalog
from catalog.store import CatalogStore, SearchFilters
from tools.recommend.candidates import RETRIEVAL_POOL

DEFAULT_SIZES = (10_000, 100_000)
FULL = 100_000


def write_sample(shared: Path, size: int, out: Path) -> int:
    """Every (100,000 / size)-th product of the large catalog, as JSON Lines; returns how many were written."""
    stride = max(1, FULL // size)
    written = 0
    with open(out, "w", encoding="utf-8") as handle:
        for number, product in enumerate(large_catalog(shared, max(size, FULL))):
            if number % stride == 0 and written < size:
                handle.write(product.model_dump_json(exclude_defaults=True) + "\n")
                written += 1
    return written


def queries(sample: Path, count: int, seed: int = 7) -> list[tuple[str, SearchFilters]]:
    """Searches like the agent's: "<colour> <leaf category>" with a filter of that category, a price band
    around a real product's price, and for a third of them that product's brand."""
    rows = [json.loads(line) for line in sample.read_text(encoding="utf-8").splitlines()]
    rng = random.Random(seed)
    out = []
    for row in rng.sample(rows, min(count, len(rows))):
        leaf = row["category_path"][-1]
        text = f"{row.get('colour') or ''} {leaf}".strip()
        price = row.get("price") or 1000.0
        brands = (row["brand"],) if row.get("brand") and rng.random() < 1 / 3 else ()
        out.append((text, SearchFilters(categories=(leaf,), min_price=round(price * 0.7), max_price=round(price * 1.3),
                                        brands=brands)))
    return out


def search_latency(store: CatalogStore, searches: list[tuple[str, SearchFilters]]) -> dict:
    """Search p50/p95 without filters and with them, first by Chroma's where clause, then with the in-memory
    filter index loaded (its load time reported too)."""
    store.search("warm up", limit=RETRIEVAL_POOL)  # loading the index and the model is not query latency

    def timed(filtered: bool) -> tuple[list[float], list[int]]:
        times, hits = [], []
        for text, filters in searches:
            started = time.perf_counter()
            found = store.search(text, filters if filtered else None, limit=RETRIEVAL_POOL)
            times.append((time.perf_counter() - started) * 1000)
            hits.append(len(found))
        return times, hits

    def stats(times: list[float]) -> dict:
        return {"p50": round(statistics.median(times), 1), "p95": round(percentile(times, 0.95), 1)}

    plain, _ = timed(False)
    by_chroma, hits = timed(True)
    started = time.perf_counter()
    store.load_filter_index()
    load_seconds = time.perf_counter() - started
    by_index, _ = timed(True)
    return {"queries": len(searches), "limit": RETRIEVAL_POOL, "no_filter_ms": stats(plain),
            "filtered_chroma_where_ms": stats(by_chroma), "filtered_filter_index_ms": stats(by_index),
            "filter_index_load_seconds": round(load_seconds, 2), "filtered_hits_median": statistics.median(hits)}


def measure_size(shared: Path, size: int, stores: Path, query_count: int, reuse: bool) -> dict:
    folder = stores / f"store-{size}"
    sample = stores / f"catalog-{size}.jsonl"
    if not sample.exists():
        write_sample(shared, size, sample)
    result: dict = {"products": size}
    store = CatalogStore.open(folder) if reuse and folder.exists() else None
    if store is not None and store.count() == size:
        result["ingest"] = "not measured (--reuse: the store of an earlier run)"
    else:
        if folder.exists():
            import shutil

            shutil.rmtree(folder)
        store = CatalogStore.open(folder)
        run = ingest_file(store, sample)
        result["ingest"] = {"seconds": round(run.seconds, 1), "products_per_second": round(run.products_per_second, 1),
                            "added": run.added, "rejected": len(run.errors)}
    result["store_mib"] = round(tree_bytes(folder) / 2**20, 1)
    result["embedded"] = search_latency(store, queries(sample, query_count))
    return result


def measure(sizes: tuple[int, ...] = DEFAULT_SIZES, query_count: int = 200, stores: Path | None = None,
            reuse: bool = False, server: bool = False) -> dict:
    shared = shared_data_root()
    if shared is None:
        raise SystemExit("the catalog benchmark needs the shared data (shared/data beside the checkout)")
    stores = stores or Path("bench-results/catalog-stores")
    stores.mkdir(parents=True, exist_ok=True)
    results = {}
    for size in sizes:
        results[str(size)] = measure_size(shared, size, stores, query_count, reuse)
        if server:
            with chroma_server(stores / f"store-{size}") as url:
                sample = stores / f"catalog-{size}.jsonl"
                results[str(size)]["server"] = search_latency(CatalogStore.connect(url), queries(sample, query_count))
    rows = []
    for size, r in results.items():
        label = f"catalog {int(size):,}"
        if isinstance(r["ingest"], dict):
            rows.append({"stage": label, "measure": "ingest", "median": r["ingest"]["products_per_second"],
                         "p95": None, "unit": "products/s"})
        rows.append({"stage": label, "measure": "store size", "median": r["store_mib"], "p95": None, "unit": "MiB"})
        for mode in ("embedded", "server"):
            if mode in r:
                for kind, name in (("no_filter_ms", "search"), ("filtered_chroma_where_ms", "filtered, Chroma where"),
                                   ("filtered_filter_index_ms", "filtered, filter index")):
                    rows.append({"stage": label, "measure": f"{name} ({mode})", "median": r[mode][kind]["p50"],
                                 "p95": r[mode][kind]["p95"], "unit": "ms"})
                rows.append({"stage": label, "measure": f"filter index load ({mode})",
                             "median": r[mode]["filter_index_load_seconds"], "p95": None, "unit": "s"})
    return {"settings": {"sizes": list(sizes), "queries": query_count, "limit": RETRIEVAL_POOL,
                         "embedding": "all-MiniLM-L6-v2 int8 ONNX (offline)",
                         "target": "filtered p95 <= 50 ms at 100k"},
            "sizes": results, "rows": rows}


def main() -> None:
    from benchmarks.common import print_rows

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(str(s) for s in DEFAULT_SIZES))
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--stores", type=Path, help="where the stores are built (default bench-results/catalog-stores)")
    parser.add_argument("--reuse", action="store_true", help="keep stores of the right size from an earlier run")
    parser.add_argument("--server", action="store_true", help="also search through a `chroma run` server")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    sizes = tuple(int(s) for s in args.sizes.split(","))
    result = measure(sizes, args.queries, args.stores, args.reuse, args.server)
    print_rows(result["rows"])
    print(f"wrote {write_results('catalog', result, args.out)}")


if __name__ == "__main__":
    main()

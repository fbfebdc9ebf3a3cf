"""Chat turn latency: seconds from a shopper's message to the answer, with the local chat model and the embedded
store, on the demo catalog and on a real catalog sampled from the shared Myntra and Amazon.in data.

The conversations are written from each catalog: for its largest categories, a first request in free words
(colour, type, recipient, budget), then "cheaper", "more premium", "not <brand of #1>", "more like #2", "why #1"
and "start over"; and the issue's three messages ("black leather wallet for my dad, under 1500", "brown and more
premium", "why #1"). Every turn is timed (ChatSession.ask), and inside it the time spent reading the request
(update_preferences), retrieving candidates (hybrid BM25 + dense search) and solving (OR-Tools). The first turn
of a chat builds the catalog's terms and BM25 index; it is reported on its own, the percentiles are over the
turns after it.

    python -m benchmarks.chat_latency [--categories 6] [--real-products 5000] [--out bench-results/chat_latency.json]

Stores are kept in ``--stores`` (default bench-results/chat-stores) so a second run does not embed again.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks.common import percentile, print_rows, write_results

ISSUE_MESSAGES = ["black leather wallet for my dad, under 1500", "brown and more premium", "why #1"]
TIMED = {"update_preferences": "read the request", "retrieve_request": "retrieve (BM25 + dense)",
         "select": "optimise (OR-Tools)"}


def _nice(amount: float) -> int:
    digits = max(0, len(str(int(amount))) - 2)
    return int(round(amount, -digits)) if digits else round(amount)


def conversations(products: list, categories: int) -> list[list[str]]:
    """The scripted conversations for one catalog (see the module docstring)."""
    by_leaf: dict[str, list] = defaultdict(list)
    for p in products:
        if p.price:
            by_leaf[p.leaf_category].append(p)
    largest = sorted(by_leaf, key=lambda name: (-len(by_leaf[name]), name))[:categories]
    scripts = [list(ISSUE_MESSAGES)]
    for name in largest:
        items = by_leaf[name]
        colours = Counter(p.colour.lower() for p in items if p.colour)
        colour = f"{colours.most_common(1)[0][0]} " if colours else ""
        budget = _nice(statistics.median(p.price for p in items) * 1.3)
        brands = Counter(p.brand for p in items if p.brand)
        brand = brands.most_common(1)[0][0] if brands else "Acme"
        scripts.append([f"{colour}{name.lower()} for my dad, under {budget}", "cheaper", "more premium",
                        f"not {brand}", "more like #2", "why #1", "start over"])
    return scripts


def real_catalog(count: int) -> list:
    """``count`` real products of the shared data: every n-th Myntra and Amazon.in row (no colour variants)."""
    from catalog.models import Product
    from catalog.shared_data import shared_data_root
    from catalog.sources.large import amazon_rows, myntra_rows
    from catalog.sources.myntra_prices import AMAZON_CSV, AMAZON_DIR, PriceTable

    shared = shared_data_root()
    if shared is None:
        raise SystemExit("the shared data folder (shared/data) is not beside this checkout: set INTERAREC_SHARED_DATA")
    stats: Counter = Counter()
    prices = PriceTable.load(shared / AMAZON_DIR / AMAZON_CSV)
    rows = [*myntra_rows(shared, prices, stats), *amazon_rows(shared, stats)]
    step = max(1, len(rows) // count)
    return [Product.model_validate(row) for row in rows[::step][:count]]


@contextmanager
def _timers(spent: dict[str, list[float]]) -> Iterator[None]:
    """Time the named functions where the chat tools call them, for the breakdown."""
    import agent.chat.tools as tools

    originals: dict[str, Callable] = {}

    def timed(name: str, call: Callable) -> Callable:
        def wrapper(*args: object, **kwargs: object) -> object:
            started = time.perf_counter()
            try:
                return call(*args, **kwargs)
            finally:
                spent[name].append(time.perf_counter() - started)
        return wrapper

    for name in TIMED:
        originals[name] = getattr(tools, name)
        setattr(tools, name, timed(name, originals[name]))
    handler = tools.TOOLS["update_preferences"]  # the tool table holds the handler itself
    tools.TOOLS["update_preferences"] = type(handler)(handler.name, handler.description, handler.args,
                                                      tools.update_preferences)
    try:
        yield
    finally:
        for name, call in originals.items():
            setattr(tools, name, call)
        tools.TOOLS["update_preferences"] = handler


def _summary(values: list[float]) -> dict:
    return {"median": round(statistics.median(values), 3), "p95": round(percentile(values, 0.95), 3),
            "max": round(max(values), 3), "n": len(values)} if values else {"median": None, "p95": None, "n": 0}


def measure_catalog(label: str, products: list, store_dir: Path, categories: int) -> dict:
    from langgraph.checkpoint.memory import InMemorySaver

    from agent.chat.graph import build_chat_graph
    from agent.chat.local_model import LocalChatModel
    from agent.chat.session import ChatSession
    from agent.chat.tools import ChatContext
    from agent.settings import load_settings
    from agent.wiring import build_runtime

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(data_dir=Path(tmp), catalog_dir=store_dir)
        started = time.perf_counter()
        runtime = build_runtime(settings, products)
        runtime.store.load_filter_index()  # as `interarec chat` does
        open_s = time.perf_counter() - started
        ctx = ChatContext(runtime)
        spent: dict[str, list[float]] = defaultdict(list)
        first: list[float] = []
        later: list[float] = []
        turns = []
        try:
            graph = build_chat_graph(ctx, LocalChatModel(), InMemorySaver())
            with _timers(spent):
                for i, script in enumerate(conversations(products, categories)):
                    chat = ChatSession(graph, f"bench-{i}", 12)
                    for message in script:
                        began = time.perf_counter()
                        turn = chat.ask(message)
                        seconds = time.perf_counter() - began
                        (later if first else first).append(seconds)
                        turns.append({"conversation": i, "user": message, "seconds": round(seconds, 4),
                                      "tools": [f"{c['name']}:{c['status']}" for c in turn.tool_calls],
                                      "shown": len(turn.recommendations)})
        finally:
            ctx.close()
            runtime.close()
    return {"label": label, "products": len(products), "open_store_s": round(open_s, 2),
            "first_turn_s": round(first[0], 3) if first else None, "turn_s": _summary(later),
            "inside_s": {TIMED[name]: _summary(values) for name, values in spent.items()}, "turns": turns}


def measure(categories: int = 6, real_products: int = 5000, stores: Path | None = None) -> dict:
    from agent.wiring import DEMO_PRODUCTS
    from catalog.files import load_products

    stores = stores or Path("bench-results/chat-stores")
    demo = load_products(DEMO_PRODUCTS)
    real = real_catalog(real_products)
    results = [measure_catalog("demo catalog", demo, stores / "demo", categories),
               measure_catalog("real catalog (Myntra + Amazon.in)", real, stores / f"real-{len(real)}", categories)]
    rows = []
    for result in results:
        where = f"{result['label']}, {result['products']:,} products"
        turn = result["turn_s"]
        rows.append({"stage": "chat", "measure": f"turn, {where}", "median": turn["median"], "p95": turn["p95"],
                     "unit": "s/turn"})
        rows.append({"stage": "chat", "measure": f"first turn (terms, BM25 index), {where}",
                     "median": result["first_turn_s"], "p95": None, "unit": "s"})
        for name, values in result["inside_s"].items():
            rows.append({"stage": "chat", "measure": f"  {name}, {where}", "median": values["median"],
                         "p95": values["p95"], "unit": "s/call"})
    return {"settings": {"chat_model": "local rules", "store": "embedded Chroma", "categories": categories,
                         "real_products": real_products}, "catalogs": results, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--categories", type=int, default=6, help="conversations: one per largest category")
    parser.add_argument("--real-products", type=int, default=5000, help="size of the real catalog sample")
    parser.add_argument("--stores", type=Path, help="where the catalog stores are kept between runs")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    result = measure(args.categories, args.real_products, args.stores)
    print_rows(result["rows"])
    print(f"wrote {write_results('chat_latency', result, args.out)}")


if __name__ == "__main__":
    main()

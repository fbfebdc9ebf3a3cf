"""`interarec catalog ingest|search` and `interarec shop serve`."""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

from agent.cli import render
from agent.cli.common import (
    EXIT_ERROR,
    EXIT_OK,
    UsageError,
    browser_options,
    common_options,
    model_options,
    settings_from,
)
from agent.wiring import ensure_demo_catalog, open_store
from catalog.store import SearchFilters


def cmd_ingest(args: argparse.Namespace) -> int:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from catalog.bulk_ingest import IngestRun, ingest_file
    from catalog.ingest import check_file

    if args.batch_size < 1:
        raise UsageError(f"--batch-size must be at least 1, not {args.batch_size}")
    path = Path(args.path)
    check_file(path)  # a file that cannot be read at all fails before the store is opened
    store = open_store(settings_from(args))
    columns = (TextColumn("ingesting {task.fields[name]}"), BarColumn(), MofNCompleteColumn(), TextColumn("lines"),
               TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=render.stderr, transient=True, disable=args.json) as progress:
        task = progress.add_task("ingest", total=None, name=path.name, rate="")

        def on_batch(run: IngestRun) -> None:
            progress.update(task, total=run.lines, completed=run.lines_read,
                            rate=f"{run.products_per_second:,.0f} products/s")

        try:
            run = ingest_file(store, path, batch_size=args.batch_size, on_batch=on_batch)
        except KeyboardInterrupt:
            render.stderr.print("interrupted: what was stored is kept; run the same command again to carry on "
                                "(stored products are not embedded again)")
            return 130
    for error in run.errors:
        render.stderr.print(f"[yellow]skipped[/yellow] {args.path}: {error}", highlight=False)
    count = store.count()
    result = {"added": run.added, "updated": run.updated, "unchanged": run.skipped,
              "rejected": len(run.errors), "errors": [str(e) for e in run.errors],
              "duplicates_in_file": run.duplicates, "catalog_count": count, "seconds": round(run.seconds, 2),
              "products_per_second": round(run.products_per_second, 1)}
    if args.json:
        render.print_json(result)
    else:
        render.stdout.print(f"{run.added} added, {run.updated} updated, {run.skipped} unchanged, "
                            f"{len(run.errors)} rejected in {run.seconds:.1f} s "
                            f"({run.products_per_second:,.0f} products/s); the catalog holds {count} products")
    return EXIT_ERROR if run.errors and not (run.stored or run.skipped) else EXIT_OK


def cmd_build_large(args: argparse.Namespace) -> int:
    from catalog.shared_data import shared_data_root
    from catalog.sources.large import LargeCatalogError, write_large_catalog

    if args.count < 1:
        raise UsageError(f"--count must be at least 1, not {args.count}")
    shared = Path(args.shared) if args.shared else shared_data_root()
    if shared is None:
        raise UsageError("the shared data folder (shared/data) is not beside this checkout: pass --shared DIR")
    try:
        stats = write_large_catalog(shared, Path(args.out), args.count)
    except LargeCatalogError as exc:
        raise UsageError(str(exc)) from exc
    render.stdout.print(f"wrote {args.count:,} products to {args.out} ("
                        + ", ".join(f"{k}: {v:,}" for k, v in sorted(stats.items())) + ")", highlight=False)
    return EXIT_OK


def cmd_search(args: argparse.Namespace) -> int:
    from catalog.files import load_products

    for flag, value in (("--min-price", args.min_price), ("--max-price", args.max_price),
                        ("--min-rating", args.min_rating)):
        if value is not None and not (math.isfinite(value) and value >= 0):
            raise UsageError(f"{flag} must be a finite number of at least 0, not {value:g}")
    if args.limit < 1:
        raise UsageError(f"--limit must be at least 1, not {args.limit}")
    store = open_store(settings_from(args))
    if store.count() == 0:
        ensure_demo_catalog(store, load_products())
    filters = SearchFilters(
        min_price=args.min_price, max_price=args.max_price, brands=tuple(args.brand or ()),
        categories=tuple(args.category or ()), min_rating=args.min_rating,
    )
    hits = store.search(args.query, filters, limit=args.limit)
    rows = [{"product_id": h.product.id, "title": h.product.title, "brand": h.product.brand,
             "price": h.product.price, "currency": h.product.currency, "rating": h.product.rating,
             "category_path": h.product.category_path, "similarity": round(h.similarity, 4)} for h in hits]
    if args.json:
        render.print_json(rows)
    else:
        for row in rows:
            price = "-" if row["price"] is None else f"{row['price']:,.0f} {row['currency']}"
            render.stdout.print(f"{row['similarity']:.3f}  {row['product_id']:<18} {price:>12}  "
                                f"{row['title'][:70]}", highlight=False)
        if not rows:
            render.stdout.print("no products match")
    return EXIT_OK


def cmd_shop_serve(args: argparse.Namespace) -> int:
    follow = [flag for flag, value in (("--persona", args.persona), ("--script", args.script),
                                       ("--cdp-url", args.cdp_url)) if value is not None]
    if args.live:
        if args.catalog or args.images:
            raise UsageError("--live serves the agent's own catalog: drop --catalog and --images")
        from agent.cli.watch import cmd_shop_live

        return cmd_shop_live(args)
    if follow:
        raise UsageError(f"{follow[0]} goes with --live")
    from catalog.files import DEMO_IMAGES, load_products
    from catalog.ingest import parse_file as parse
    from shop.server import DemoShop

    if args.catalog:
        parsed = parse(Path(args.catalog))
        for error in parsed.errors:
            render.stderr.print(f"[yellow]skipped[/yellow] {error}", highlight=False)
        products = parsed.products
    else:
        products = load_products()
    images = Path(args.images) if args.images else DEMO_IMAGES
    with DemoShop(products, images, port=args.port) as shop:
        render.stderr.print(f"InteraShop serving {len(products)} products at {shop.url} (Ctrl-C to stop)")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            render.stderr.print("stopped")
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    common = common_options()
    catalog = sub.add_parser("catalog", help="the product catalog").add_subparsers(dest="action", required=True)
    ingest = catalog.add_parser("ingest", parents=[common], help="add products from a JSONL or CSV file")
    ingest.add_argument("path")
    ingest.add_argument("--batch-size", type=int, default=1000, help="products per store call (default 1000)")
    ingest.set_defaults(func=cmd_ingest)
    large = catalog.add_parser("build-large", help="write a large catalog file (100,000 products) from the shared "
                                                   "data, for scale tests; see catalog/README.md")
    large.add_argument("--out", required=True, help="the JSON Lines file to write")
    large.add_argument("--count", type=int, default=100_000)
    large.add_argument("--shared", help="the shared data folder (default: shared/data beside the checkout)")
    large.set_defaults(func=cmd_build_large)
    search = catalog.add_parser("search", parents=[common], help="semantic search with filters")
    search.add_argument("query")
    search.add_argument("--category", action="append")
    search.add_argument("--brand", action="append")
    search.add_argument("--min-price", type=float)
    search.add_argument("--max-price", type=float)
    search.add_argument("--min-rating", type=float)
    search.add_argument("--limit", type=int, default=10)
    search.set_defaults(func=cmd_search)

    shop = sub.add_parser("shop", help="the local demo shop").add_subparsers(dest="action", required=True)
    serve = shop.add_parser("serve", parents=[common, model_options(), browser_options()],
                            help="serve the shop on 127.0.0.1 until Ctrl-C")
    serve.add_argument("--port", type=int, default=0, help="0 picks a free port")
    serve.add_argument("--catalog", help="a JSONL/CSV product file (default: the demo catalog)")
    serve.add_argument("--images", help="the directory the products' image files are in")
    serve.add_argument("--live", action="store_true",
                       help="show a 'Recommended for you' panel on every page, fed live by the agent following "
                            "the shopper given by --cdp-url, --persona or --script")
    serve.add_argument("--persona", help="with --live: a built-in shopper browses the shop")
    serve.add_argument("--script", help="with --live: a browsing script browses the shop")
    serve.add_argument("--cdp-url", help="with --live: follow the Chromium you browse the shop in")
    serve.add_argument("--seconds", type=float, help="with --cdp-url: how long to follow it (default 60)")
    serve.set_defaults(func=cmd_shop_serve)

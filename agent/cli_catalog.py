"""`interarec catalog ingest|search` and `interarec shop serve`."""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

from agent import render
from agent.cli_common import EXIT_ERROR, EXIT_OK, UsageError, common_options, settings_from
from agent.wiring import ensure_demo_catalog, open_store
from catalog.ingest import parse_file
from catalog.store import SearchFilters


def cmd_ingest(args: argparse.Namespace) -> int:
    parsed = parse_file(Path(args.path))
    for error in parsed.errors:
        render.stderr.print(f"[yellow]skipped[/yellow] {args.path}: {error}", highlight=False)
    store = open_store(settings_from(args))
    report = store.upsert(parsed.products)
    result = {"added": report.added, "updated": report.updated, "unchanged": report.unchanged,
              "rejected": len(parsed.errors), "errors": [str(e) for e in parsed.errors],
              "duplicates_in_file": parsed.duplicates, "catalog_count": store.count()}
    if args.json:
        render.print_json(result)
    else:
        render.stdout.print(f"{report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
                            f"{len(parsed.errors)} rejected; the catalog holds {store.count()} products")
    return EXIT_ERROR if parsed.errors and not parsed.products else EXIT_OK


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
    from catalog.files import DEMO_IMAGES, load_products
    from catalog.ingest import parse_file as parse
    from tools.shop import DemoShop

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
    ingest.set_defaults(func=cmd_ingest)
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
    serve = shop.add_parser("serve", parents=[common], help="serve the shop on 127.0.0.1 until Ctrl-C")
    serve.add_argument("--port", type=int, default=0, help="0 picks a free port")
    serve.add_argument("--catalog", help="a JSONL/CSV product file (default: the demo catalog)")
    serve.add_argument("--images", help="the directory the products' image files are in")
    serve.set_defaults(func=cmd_shop_serve)

"""`interarec`: parse, build, call, render. Results go to stdout (table or --json), progress to stderr."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Any

from agent import render
from agent.settings import SettingsError, load_settings
from agent.wiring import build_runtime, ensure_demo_catalog, open_store, start_shop
from catalog.ingest import IngestError, parse_file
from catalog.store import CatalogError, SearchFilters
from tools.browser import BrowserError
from tools.optimizer import OptimizerError
from tools.personas import DEMO_PERSONA, PERSONAS
from tools.summariser import SummariserError

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


class UsageError(ValueError):
    """Bad command-line input."""


def _settings(args: argparse.Namespace):
    return load_settings(
        data_dir=getattr(args, "data_dir", None), k=getattr(args, "k", None),
        headless=False if getattr(args, "headed", False) else None,
        openai_base_url=getattr(args, "openai_base_url", None), openai_api_key=getattr(args, "openai_api_key", None),
        vision_model=getattr(args, "vision_model", None), chat_model=getattr(args, "chat_model", None),
    )


def _run_persona(args: argparse.Namespace, persona_name: str) -> int:
    from agent.pipeline import browse_and_recommend

    if persona_name not in PERSONAS:
        raise UsageError(f"unknown persona {persona_name!r}; choose one of: {', '.join(PERSONAS)}")
    persona = PERSONAS[persona_name]
    started = time.perf_counter()
    render.stderr.print(f"[bold]InteraRec[/bold]: persona [cyan]{persona.name}[/cyan] - {persona.description}")
    runtime = build_runtime(_settings(args))
    setup = time.perf_counter() - started
    render.stderr.print(f"summariser: {runtime.backends.summariser}")
    try:
        with start_shop(runtime) as shop:
            render.stderr.print(f"demo shop at {shop.url}; browsing in headless Chromium ...")
            state = browse_and_recommend(runtime, persona, shop.url)
    finally:
        runtime.close()
    timings = {"setup": round(setup, 3), **state["timings"]}
    timings["total"] = round(time.perf_counter() - started, 3)
    payload: dict[str, Any] = {
        "session_id": state["session_id"],
        "persona": persona.name,
        "summary": state["summary"],
        "constraints": state["constraints"],
        "recommendations": state["recommendations"],
        "optimizer": state["optimizer"],
        "unmet": state["unmet"],
        "timings": timings,
        "backends": runtime.backends.as_dict(),
        "frames": len(state["frame_ids"]),
    }
    if args.json:
        render.print_json(payload)
    else:
        render.print_summary(state["summary"])
        render.print_recommendations(state["recommendations"], title=f"Top {len(state['recommendations'])} for "
                                     f"{persona.name} (optimiser {state['optimizer']['status']})")
        for note in state["unmet"]:
            render.stdout.print(f"[yellow]note:[/yellow] {note}")
        render.print_timings(timings)
        render.stdout.print(f"session {state['session_id']}: {len(state['frame_ids'])} screenshots in "
                            f"{runtime.settings.frames_path}")
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    return _run_persona(args, DEMO_PERSONA)


def cmd_browse(args: argparse.Namespace) -> int:
    return _run_persona(args, args.persona)


def cmd_personas(args: argparse.Namespace) -> int:
    rows = [{"name": p.name, "description": p.description, "steps": len(p.steps)} for p in PERSONAS.values()]
    if args.json:
        render.print_json(rows)
    else:
        for row in rows:
            render.stdout.print(f"{row['name']:<14} {row['description']}")
    return EXIT_OK


def cmd_ingest(args: argparse.Namespace) -> int:
    parsed = parse_file(Path(args.path))
    for error in parsed.errors:
        render.stderr.print(f"[yellow]skipped[/yellow] {args.path}: {error}", highlight=False)
    store = open_store(_settings(args))
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

    store = open_store(_settings(args))
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


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", help="where the catalog store and screenshots live")
    common.add_argument("--json", action="store_true", help="print one JSON document instead of tables")
    common.add_argument("-v", "--verbose", action="store_true", help="log progress details to stderr")

    parser = argparse.ArgumentParser(prog="interarec", description="Screenshot-based recommendations (InteraRec)")
    sub = parser.add_subparsers(dest="command", required=True)

    run_opts = argparse.ArgumentParser(add_help=False)
    run_opts.add_argument("--k", type=int, help="how many products to recommend (default 5)")
    run_opts.add_argument("--headed", action="store_true", help="show the browser window")
    run_opts.add_argument("--openai-base-url", help="OpenAI-compatible endpoint (default: offline)")
    run_opts.add_argument("--openai-api-key", help="its key (prefer INTERAREC_OPENAI_API_KEY)")
    run_opts.add_argument("--vision-model", help="vision model for the MLLM summariser")
    run_opts.add_argument("--chat-model", help="chat model (used by the chat agent)")
    demo = sub.add_parser("demo", parents=[common, run_opts], help="browse the demo shop as a built-in persona")
    demo.set_defaults(func=cmd_demo)
    browse = sub.add_parser("browse-and-recommend", parents=[common, run_opts],
                            help="browse as a persona, summarise the screenshots, recommend")
    browse.add_argument("--persona", required=True, help=f"one of: {', '.join(PERSONAS)}")
    browse.set_defaults(func=cmd_browse)

    personas = sub.add_parser("personas", help="built-in scripted shoppers").add_subparsers(dest="action",
                                                                                          required=True)
    personas.add_parser("list", parents=[common]).set_defaults(func=cmd_personas)

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
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        return args.func(args)
    except (UsageError, IngestError, SettingsError) as exc:
        print(f"interarec: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (BrowserError, CatalogError, OptimizerError, SummariserError) as exc:
        print(f"interarec: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interarec: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

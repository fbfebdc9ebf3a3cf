"""`interarec bench`: every stage's benchmark in one run, one table, one JSON file. Registered through the
`interarec.commands` entry point, so the agent's CLI finds it without importing benchmarks."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

from agent.cli.common import EXIT_OK, UsageError
from benchmarks.common import print_rows, write_results

# (stage, what it measures); the order is the order they run and print.
STAGES = {
    "capture": "screenshots kept per second (scrolling, idle, fastest rate)",
    "reader": "offline screen reader latency per frame (new and cached)",
    "text_layer": "text layer read per screenshot, capture with and without it, markup and redaction cost",
    "pipeline": "browse-and-recommend of a 10-page session, wall time by stage, and summary latency",
    "catalog": "catalog ingest (products/s), store size, search p50/p95 with and without filters",
    "optimizer": "optimiser solve time by candidate count",
    "live": "live mode: new screenshot to new recommendations over a scripted session, by stage; memory",
    "chat_latency": "chat turn p50/p95 with the local chat model, embedded store: demo and real catalog",
    "mllm_tokens": "MLLM summary request tokens, text layer vs every unique frame at full size: demo and real pages",
    "serve": "the service (Redis, API, 1 and 2 workers) under simulated shoppers: latency, throughput, memory",
}


def _runners(args: argparse.Namespace) -> dict[str, Callable[[], dict]]:
    quick = args.quick

    def capture() -> dict:
        from benchmarks.capture import measure
        return measure(seconds=5.0 if quick else 20.0)

    def reader() -> dict:
        from benchmarks.reader import measure
        return measure(frame_count=8 if quick else 30)

    def text_layer() -> dict:
        from benchmarks.text_layer import measure
        return measure(frame_count=30 if quick else 120)

    def pipeline() -> dict:
        from benchmarks.pipeline import measure
        return measure(pages=10, runs=1 if quick else 3)

    def catalog() -> dict:
        from benchmarks.catalog import measure
        sizes = (1_000, 10_000) if quick else (10_000, 100_000)
        return measure(sizes, query_count=50 if quick else 200, stores=args.out / "catalog-stores",
                       reuse=args.reuse_stores, server=args.chroma_server)

    def optimizer() -> dict:
        from benchmarks.optimizer import measure
        return measure(repeats=3 if quick else 20)

    def live() -> dict:
        from benchmarks.live import measure
        return measure(seconds=30.0 if quick else 120.0)

    def chat_latency() -> dict:
        from benchmarks.chat_latency import measure
        return measure(categories=3 if quick else 6, real_products=2000 if quick else 5000,
                       stores=args.out / "chat-stores")

    def mllm_tokens() -> dict:
        from benchmarks.mllm_tokens import measure, rows
        payload = measure(real_pages=3 if quick else 10)
        return {**payload, "rows": rows(payload)}

    def serve() -> dict:
        from benchmarks.serve import measure
        return measure(shoppers=args.serve_shoppers or (20 if quick else 50),
                       seconds=args.serve_seconds or (20.0 if quick else 40.0), ocr_shoppers=2,
                       ocr_seconds=10.0 if quick else 20.0, real_pages=3 if quick else 6)

    return {"capture": capture, "reader": reader, "text_layer": text_layer, "pipeline": pipeline, "catalog": catalog,
            "optimizer": optimizer,
            "mllm_tokens": mllm_tokens,
            "live": live, "chat_latency": chat_latency, "serve": serve}


def cmd_bench(args: argparse.Namespace) -> int:
    only = args.only or list(STAGES)
    unknown = [name for name in only if name not in STAGES]
    if unknown:
        raise UsageError(f"unknown stage(s) {', '.join(unknown)}; choose from: {', '.join(STAGES)}")
    args.out = Path(args.out)
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out} exists and is not a directory")
    runners = _runners(args)
    results, rows = {}, []
    for name in (stage for stage in STAGES if stage in only):
        print(f"bench: {name}: {STAGES[name]} ...", flush=True)
        started = time.perf_counter()
        results[name] = runners[name]()
        results[name]["wall_seconds"] = round(time.perf_counter() - started, 1)
        rows += results[name]["rows"]
        write_results(name, results[name], args.out / f"{name}.json")
    print()
    print_rows(rows)
    path = write_results("bench", {"quick": args.quick, "stages": only, "rows": rows, "results": results},
                         args.out / "bench.json")
    print(f"\nwrote {path} (and one JSON file per stage beside it)")
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    command = sub.add_parser("bench", help="benchmark every stage; print a table and write JSON",
                             description="Stages: " + "; ".join(f"{k}: {v}" for k, v in STAGES.items()))
    command.add_argument("--only", nargs="+", metavar="STAGE", help=f"run only these ({', '.join(STAGES)})")
    command.add_argument("--quick", action="store_true",
                         help="smaller runs (a few minutes; catalog at 1k and 10k instead of 10k and 100k)")
    command.add_argument("--out", default="bench-results", help="directory for the JSON files (default bench-results)")
    command.add_argument("--reuse-stores", action="store_true",
                         help="keep catalog stores of the right size from an earlier run (ingest is then not measured)")
    command.add_argument("--chroma-server", action="store_true",
                         help="also measure catalog search through a local `chroma run` server")
    command.add_argument("--serve-shoppers", type=int, help="serve: shoppers of the text-layer runs (default 50)")
    command.add_argument("--serve-seconds", type=float, help="serve: posting time of the text-layer runs (default 40)")
    command.set_defaults(func=cmd_bench)


"""Browse-and-recommend end to end over a scripted N-page session of the demo shop, split by stage, and the
summary latency with a cold and a warm OCR cache.

    python -m benchmarks.pipeline [--pages 10] [--runs 3] [--out bench-results/pipeline.json]

Each run gets a fresh data dir (frame store, OCR cache) and a fresh runtime (build_runtime: a new OCR engine,
and browse launches a new Chromium), as a CLI run would; the catalog store is shared, so embedding the demo
catalog is done once, timed as "catalog warm-up". Stage times are the ones the pipeline records in
``state["timings"]``; the total is the wall time around browse_and_recommend. After each run the same
session is re-summarised (recommend_from_session) with the OCR cache now warm.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from agent.pipeline import browse_and_recommend, recommend_from_session
from agent.settings import load_settings
from agent.wiring import build_runtime, open_store, start_demo_shop
from benchmarks.common import print_rows, write_results
from catalog.files import DEMO_PRODUCTS, load_products
from catalog.models import Product
from shop.pages import product_href, slugify
from tools.capture.browse_script import parse_script
from tools.perception.ocr import RapidOcrReader

# The shopper: a wrist-watch listing within a budget, then watches in that budget (coffee mugs only when a
# session asks for more pages than there are such watches).
CATEGORIES = ("Wrist Watches", "Coffee Mugs")
BUDGET = (500.0, 1500.0)
# The order the graph runs its stages in (the recommend node records "optimise" before "retrieve").
STAGE_ORDER = ("capture", "browse", "summarise", "constrain", "retrieve", "optimise")


def session_script(products: list[Product], pages: int) -> str:
    """A browsing script (tools/capture/browse_script.py) that opens ``pages`` distinct pages: the first category's
    listing filtered to the budget, then product pages in the budget, the first category first. The browser
    also loads the shop's home page before the script starts (not captured: only actions take screenshots)."""
    if pages < 1:
        raise ValueError("pages must be at least 1")
    low, high = BUDGET
    picks = [p for category in CATEGORIES
             for p in sorted((p for p in products if p.category_path and p.category_path[-1] == category
                              and p.price is not None and low <= p.price <= high), key=lambda p: p.id)]
    if len(picks) < pages - 1:
        raise ValueError(f"only {len(picks) + 1} distinct pages in the session's categories and budget")
    lines = [f"# {pages} distinct pages: a {CATEGORIES[0]} listing in {low:g}-{high:g}, then product pages",
             f"goto /c/{slugify(CATEGORIES[0])}?min_price={low:g}&max_price={high:g}"]
    lines += [f"goto {product_href(p.id)}" for p in picks[: pages - 1]]
    return "\n".join(lines) + "\n"


def _stat(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 3), "max": round(max(values), 3)}


def _run(data_dir: Path, catalog_dir: Path, persona: Any, shop_url: str) -> dict[str, Any]:
    """One cold run in ``data_dir``, then the same session re-summarised with the OCR cache warm."""
    started = time.perf_counter()
    runtime = build_runtime(load_settings(data_dir=data_dir, catalog_dir=catalog_dir))
    setup = time.perf_counter() - started
    ocr = getattr(runtime.summariser, "ocr", None)  # the offline reader's OCR (absent for the MLLM)
    try:
        started = time.perf_counter()
        state = browse_and_recommend(runtime, persona, shop_url, source="bench:pipeline")
        total = time.perf_counter() - started
        cold_calls = ocr.calls if ocr is not None else None
        started = time.perf_counter()
        again = recommend_from_session(runtime, state["session_id"])
        again_total = time.perf_counter() - started
        frames = runtime.frames.frames(state["session_id"])
        backends = runtime.backends.as_dict()
    finally:
        runtime.close()
    timings = dict(state["timings"])
    return {
        "setup": round(setup, 3), "total": round(total, 3), "timings": timings,
        "unattributed": round(total - sum(timings.values()), 3),  # graph overhead, explanations, ...
        "frames_stored": len(frames), "frames_distinct": sum(f.duplicate_of is None for f in frames),
        "frames_read": state["summary"]["frames_read"], "failed_steps": state.get("failed_steps", []),
        "resummarise": {"summarise": again["timings"]["summarise"], "total": round(again_total, 3),
                        "same_recommendations": [r["product_id"] for r in again["recommendations"]]
                        == [r["product_id"] for r in state["recommendations"]]},
        "ocr_calls_cold": cold_calls,
        "ocr_calls_warm": ocr.calls - cold_calls if ocr is not None else None,
        "recommended_ids": [r["product_id"] for r in state["recommendations"]],
        "optimizer_status": state["optimizer"].get("status"), "unmet": state["unmet"],
        "summary_price_range": state["summary"].get("price_range"), "backends": backends,
    }


def _rows(pages: int, warm_up: float, runs: list[dict], stages: dict, total: dict, setup: dict,
          cold: dict, warm: dict) -> list[dict]:
    label = f"browse-and-recommend ({pages} pages)"
    rows = [{"stage": "catalog warm-up", "measure": "embed the demo catalog (once)", "median": warm_up,
             "p95": None, "unit": "s"},
            {"stage": label, "measure": "setup (build_runtime)", "median": setup["median"], "p95": None,
             "unit": "s"}]
    rows += [{"stage": label, "measure": name, "median": stat["median"], "p95": None, "unit": "s"}
             for name, stat in stages.items()]
    rows.append({"stage": label, "measure": "other (graph, explanations)",
                 "median": round(statistics.median(r["unattributed"] for r in runs), 3), "p95": None, "unit": "s"})
    rows.append({"stage": label, "measure": "total (wall)", "median": total["median"], "p95": None, "unit": "s"})
    rows += [{"stage": label, "measure": measure, "median": float(statistics.median(r[key] for r in runs)), "p95": None,
              "unit": "screenshots"}
             for measure, key in (("screenshots stored", "frames_stored"), ("distinct (read)", "frames_distinct"))]
    rows += [{"stage": f"summary latency ({pages} pages)", "measure": measure, "median": stat["median"],
              "p95": None, "unit": "s"}
             for measure, stat in (("summarise, cold OCR cache", cold), ("re-summarise, warm OCR cache", warm))]
    return rows


def measure(pages: int = 10, runs: int = 3, data_dir: Path | None = None) -> dict:
    """Run browse-and-recommend over a ``pages``-page session ``runs`` times; see the module docstring.
    ``data_dir`` keeps the catalog store (reused if already there) and the runs' data; default a temp dir."""
    if runs < 1:
        raise ValueError("runs must be at least 1")
    products = load_products(DEMO_PRODUCTS)
    script = session_script(products, pages)
    persona = parse_script(script, f"bench-{pages}-pages")
    with tempfile.TemporaryDirectory(prefix="interarec-bench-") as tmp:
        root = Path(data_dir) if data_dir is not None else Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        catalog_dir = root / "catalog"
        started = time.perf_counter()
        store = open_store(load_settings(data_dir=root, catalog_dir=catalog_dir))
        report = store.upsert(products)  # what ensure_demo_catalog does: unchanged products are not re-embedded
        warm_up = round(time.perf_counter() - started, 3)
        with start_demo_shop() as shop:
            results = [_run(Path(tempfile.mkdtemp(prefix="run-", dir=root)), catalog_dir, persona, shop.url)
                       for _ in range(runs)]
    recorded = list(dict.fromkeys(name for r in results for name in r["timings"]))
    stage_names = sorted(recorded, key=lambda n: STAGE_ORDER.index(n) if n in STAGE_ORDER else len(STAGE_ORDER))
    stages = {name: _stat([r["timings"][name] for r in results if name in r["timings"]]) for name in stage_names}
    total, setup = _stat([r["total"] for r in results]), _stat([r["setup"] for r in results])
    cold = _stat([r["timings"]["summarise"] for r in results])
    warm = _stat([r["resummarise"]["summarise"] for r in results])
    backends = results[-1]["backends"]
    settings = load_settings(data_dir=root)
    return {
        "rows": _rows(pages, warm_up, results, stages, total, setup, cold, warm),
        "settings": {
            "pages": pages, "runs": runs, "capture_rate_hz": settings.capture_rate_hz, "pace_s": settings.pace_s,
            "viewport": f"{settings.viewport_width}x{settings.viewport_height}", "k": settings.k,
            "reader": f"{backends['summariser']}; OCR {RapidOcrReader.name}", "summariser": backends["summariser"],
            "chat_model": backends["chat_model"], "backends": backends,
        },
        "catalog_warm_up": {"seconds": warm_up, "products": len(products),
                            "embedded": report.added + report.updated},
        "stages_seconds": stages, "setup_seconds": setup, "total_seconds": total,
        "summary_latency_seconds": {"cold_ocr_cache": cold, "warm_ocr_cache": warm,
                                    "ocr_calls_cold": [r["ocr_calls_cold"] for r in results],
                                    "ocr_calls_warm": [r["ocr_calls_warm"] for r in results]},
        "frames": {"stored": [r["frames_stored"] for r in results],
                   "distinct": [r["frames_distinct"] for r in results],
                   "read": [r["frames_read"] for r in results]},
        "recommended_ids": results[-1]["recommended_ids"],
        "runs_detail": [{k: v for k, v in r.items() if k != "backends"} for r in results],
        "script": script,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    started = time.perf_counter()
    payload = measure(args.pages, args.runs)
    print_rows(payload["rows"])  # p95 is "-": with a few runs it would only be the max (in the JSON)
    print(f"recommended (last run): {', '.join(payload['recommended_ids'])}")
    detail = payload["summary_latency_seconds"]
    print(f"OCR calls per run, cold {detail['ocr_calls_cold']}, warm {detail['ocr_calls_warm']}; "
          f"{args.runs} run(s) in {time.perf_counter() - started:.1f}s (medians; max per stage in the JSON)")
    print(f"wrote {write_results('pipeline', payload, args.out)}")


if __name__ == "__main__":
    main()

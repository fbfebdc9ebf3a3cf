"""How well we read REAL product pages (issue 18): the saved pages of Zyte's product-extraction benchmark, browsed
view by view in Chromium, read by the page reader from what the shopper saw, scored on price and brand.

    python -m evals.reader.zyte [--split dev|test|all] [--sources markup,text-layer,text-layer+markup,ocr]
                                [--views 40] [--ocr-views 20] [--limit N] [--cache eval-results/zyte-cache]
                                [--out eval-results]

Data: ``<shared data>/product-pages-zyte`` (``catalog.shared_data.shared_data_root()``); without it the eval says
it is skipped. The dev/test split is frozen in ``evals/reader/zyte_split.json`` (its ``rule`` says how it was
made); ``--limit`` keeps the first N pages of the split in the file's order.

Sources (what the reader is given):

* ``markup`` - the page-markup-only baseline: ``markup_facts(extract_markup(html))`` alone, no reader;
* ``text-layer`` - ``PageReader.read_page(<text layer of each view>, None)``;
* ``text-layer+markup`` - the same with the page's ``MarkupFacts`` as evidence;
* ``ocr`` - ``PageReader.read_page(<OCR lines of each view>, None)`` (RapidOCR, computed once and cached; made
  lines by ``tools.perception.ocr_lines.visit_lines`` with each screenshot's pixels, as the product does) over
  the first ``--ocr-views`` views, the ones that get a screenshot (a cache made with fewer is topped up).

The reader is built as the product builds it: ``PageReader(brands=..., categories=...)`` with the shipped demo
catalog's brands and category names; the ground truth's brands are never given to it. Views are captured once
and cached (``evals/reader/zyte_views.py``); scoring is in ``evals/reader/zyte_scoring.py``.

Prints a table (split, source, field, n, output, right, precision, recall, F1, visible, target, status) and
writes ``DIR/zyte_reader.json``: results, per-page items, misses by kind, settings, timings, git revision and the
reader's source hashes. Targets are reported PASS/FAIL; the exit code is 0 whatever the numbers (an eval).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from evals.reader.accuracy import git_revision, source_hashes
from evals.reader.scoring import CHROMIUM, DEFAULT_OUT, percentile
from evals.reader.screens import progress
from evals.reader.zyte_scoring import (
    PRICE_TOLERANCE,
    REFERENCE,
    SPLIT_FILE,
    TARGETS,
    PageCase,
    check_split,
    format_reach,
    format_table,
    label_amount,
    load_split,
    reach_rows,
    result_rows,
    run_source,
)
from evals.reader.zyte_views import SCREENSHOT_VIEWS, PageViews, ViewCache, ViewSettings, engine_tag

SOURCES = ("markup", "text-layer", "text-layer+markup", "ocr")
READER_SOURCES = ("tools/perception/page/reader.py", "tools/perception/page/layout.py",
                  "tools/perception/page/prices.py", "tools/perception/page/fields.py",
                  "tools/perception/page/markup.py", "tools/perception/page/evidence.py",
                  "tools/perception/parsing.py", "tools/perception/ocr.py", "tools/perception/ocr_lines.py",
                  "tools/capture/page/text_layer.py", "tools/capture/page/markup.py", "tools/lines.py")
DEFAULT_CACHE = DEFAULT_OUT / "zyte-cache"
DATASET = "product-pages-zyte"


def dataset_dir() -> Path | None:
    from catalog.shared_data import shared_data_root

    root = shared_data_root()
    folder = root / DATASET if root else None
    return folder if folder and (folder / "ground-truth.json").exists() else None


def select_pages(split: dict[str, Any], which: str, limit: int | None) -> dict[str, list[str]]:
    """The page ids to score by split name: ``dev``, ``test`` or both and ``all`` (their union, dev first);
    ``limit`` keeps the first N of each chosen split (of ``all``: N in total, dev first)."""
    dev, test = list(split["dev"]), list(split["test"])
    if which == "dev":
        return {"dev": dev[:limit] if limit is not None else dev}
    if which == "test":
        return {"test": test[:limit] if limit is not None else test}
    both = (dev + test)[:limit] if limit is not None else dev + test
    chosen = set(both)
    return {"dev": [i for i in dev if i in chosen], "test": [i for i in test if i in chosen], "all": both}


def catalog_vocabulary() -> tuple[list[str], list[str]]:
    from catalog.files import DEMO_PRODUCTS, load_products

    products = load_products(DEMO_PRODUCTS)
    brands = sorted({p.brand for p in products if p.brand})
    categories = sorted({c for p in products for c in p.category_path})
    return brands, categories


def make_reader(brands: Sequence[str], categories: Sequence[str], markup_policy: str = "confirmed"
                ) -> tuple[Any | None, str | None]:
    """The page reader, or why it cannot be built (not in the tree yet)."""
    try:
        from tools.perception.page.reader import PageReader
    except ImportError as exc:
        return None, f"tools.perception.page.reader unavailable: {exc}"
    return PageReader(brands=list(brands), categories=list(categories), markup_policy=markup_policy), None


def _stats(values: Sequence[float], digits: int = 3) -> dict[str, Any]:
    if not values:
        return {"n": 0}
    return {"n": len(values), "median": round(statistics.median(values), digits),
            "p95": round(percentile(values, 0.95) or 0.0, digits), "mean": round(statistics.fmean(values), digits),
            "total": round(sum(values), digits)}


def run(which: str, sources: Sequence[str], settings: ViewSettings, limit: int | None, cache_root: Path,
        out_dir: Path, split_path: Path = SPLIT_FILE, markup_policy: str = "confirmed") -> dict[str, Any]:
    started = time.perf_counter()
    load_start = round(os.getloadavg()[0], 2)
    revision, dirty = git_revision()
    data = dataset_dir()
    base: dict[str, Any] = {"eval": "zyte_reader", "revision": revision, "working_tree_dirty": dirty,
                            "date": dt.datetime.now(dt.UTC).astimezone().isoformat(timespec="seconds")}
    if data is None:
        return _write(out_dir, {**base, "skipped": f"{DATASET} not found (catalog.shared_data.shared_data_root() is "
                                                   "None or has no such folder)"})
    truth: dict[str, dict[str, Any]] = json.loads((data / "ground-truth.json").read_text(encoding="utf-8"))
    split = load_split(split_path)
    on_disk = {p.name.removesuffix(".html.gz") for p in (data / "html").glob("*.html.gz")}
    problems = check_split(split, set(truth) & on_disk)
    if problems:
        return _write(out_dir, {**base, "skipped": f"the split file {split_path} does not fit the data: "
                                                   f"{'; '.join(problems)}"})
    splits = select_pages(split, which, limit)
    ids = list(dict.fromkeys(i for group in splits.values() for i in group))
    progress(f"zyte: {len(ids)} pages ({', '.join(f'{k} {len(v)}' for k, v in splits.items())}); "
             f"sources {', '.join(sources)}")

    brands, categories = catalog_vocabulary()
    reader, reader_problem = (None, None)
    if any(s != "markup" for s in sources):
        reader, reader_problem = make_reader(brands, categories, markup_policy)
    hashes = source_hashes(READER_SOURCES)  # right after importing them: the sources measured

    # Views (rendered only when not cached).
    cache = ViewCache(cache_root, settings)
    t0 = time.perf_counter()
    pages = cache.ensure([(i, truth[i].get("url", "")) for i in ids], lambda i: data / "html" / f"{i}.html.gz")
    screenshots_taken = 0
    if "ocr" in sources:
        screenshots_taken = cache.ensure_screenshots([pages[i] for i in ids], lambda i: data / "html" / f"{i}.html.gz")
    capture_s = time.perf_counter() - t0

    from tools.perception.page.markup import markup_facts

    markups = {i: markup_facts(pages[i].markup()) for i in ids}
    text_layers = {i: pages[i].text_layer() for i in ids}

    ocr_lines: dict[str, list] = {}
    ocr_s = 0.0
    ocr_engine: dict[str, Any] = {}
    if "ocr" in sources and reader is not None:
        from tools.perception.ocr import ENGINE_KEY, RapidOcrReader

        ocr = RapidOcrReader()
        ocr_engine = {"name": RapidOcrReader.name, "key": ENGINE_KEY}
        t0 = time.perf_counter()
        for n, i in enumerate(ids):
            ocr_lines[i] = cache.ocr_views(pages[i], ocr, ENGINE_KEY)
            if (n + 1) % 10 == 0 or n + 1 == len(ids):
                progress(f"ocr: {n + 1}/{len(ids)} pages ({len(cache.ocr_seconds)} views read now, "
                         f"{cache.ocr_cached} cached)")
        ocr_s = time.perf_counter() - t0

    def cases(lines_of: Callable[[str], list], with_markup: bool) -> list[PageCase]:
        return [PageCase(i, truth[i], views=lines_of(i), markup=markups[i] if with_markup else None,
                         screen=text_layers[i], error=pages[i].error) for i in ids]

    items_by_source: dict[str, list[dict[str, Any]]] = {}
    skipped: dict[str, str] = {}
    read_s: dict[str, float] = {}
    for source in sources:
        if source != "markup" and reader is None:
            skipped[source] = reader_problem or "no reader"
            continue
        if source == "markup":
            chosen, read = cases(text_layers.__getitem__, True), (lambda views, markup: markup)
        elif source == "text-layer":
            chosen, read = cases(text_layers.__getitem__, False), reader.read_page
        elif source == "text-layer+markup":
            chosen, read = cases(text_layers.__getitem__, True), reader.read_page
        else:
            chosen, read = cases(ocr_lines.__getitem__, False), reader.read_page
        t0 = time.perf_counter()
        items_by_source[source] = run_source(chosen, read, source, clock=time.perf_counter)
        read_s[source] = time.perf_counter() - t0
    for source, why in skipped.items():
        progress(f"zyte: source {source} skipped: {why}")

    rows = result_rows(items_by_source, splits)
    reach = reach_rows([PageCase(i, truth[i], markup=markups[i], screen=text_layers[i]) for i in ids], splits)
    views_list = [pages[i] for i in ids]
    rendered = [p for p in views_list if p.rendered_now]
    unparsed = sorted({s for i in ids for s in truth[i].get("price") or [] if label_amount(s) is None})
    brand_keys = {b.casefold() for b in brands}
    result = {
        **base,
        "duration_s": round(time.perf_counter() - started, 1),
        "load_average_1m": {"start": load_start, "end": round(os.getloadavg()[0], 2), "cpus": os.cpu_count()},
        "data": {"dir": str(data), "pages": len(ids), "splits": {k: len(v) for k, v in splits.items()},
                 "split_file": str(split_path), "split_rule": split.get("rule"),
                 "labelled": {"price": sum(1 for i in ids if truth[i].get("price")),
                              "brand": sum(1 for i in ids if truth[i].get("brand"))},
                 "price_labels_unparsed": unparsed,
                 "labelled_brands_in_catalog_vocabulary": sorted({b for i in ids for b in truth[i].get("brand") or []
                                                                  if b.strip().casefold() in brand_keys}),
                 "capture_errors": {p.page_id: p.error for p in views_list if p.error},
                 "views_per_page": _stats([p.n_views for p in views_list], 2),
                 "blank_views": sum(1 for i in ids for lines in text_layers[i] if not lines),
                 "requests_blocked": sum(p.blocked for p in views_list)},
        "settings": {
            **settings.as_dict(), "browser": f"{CHROMIUM} via Playwright (headless), every request but the saved "
                                             "file aborted",
            "sources": list(sources), "skipped_sources": skipped, "cache": str(cache.root),
            "reader": "tools.perception.page.reader.PageReader" if reader is not None else None,
            "markup_policy": markup_policy,
            "reader_sources": hashes, "ocr_engine": ocr_engine,
            "vocabulary": {"brands": len(brands), "categories": len(categories), "source": "demo catalog only"},
            "price_match": f"|read - label amount| <= {PRICE_TOLERANCE} (labels by price_parser)",
            "brand_match": "equal after NFKC, casefold and whitespace collapsing",
            "precision": "right / pages with an output (outputs on unlabelled pages count against it)",
        },
        "reference_not_ours": REFERENCE,
        "timings": {
            "capture_s": round(capture_s, 1), "pages_rendered_now": len(rendered),
            "screenshots_taken_now": screenshots_taken,
            "render_s_per_page": _stats([p.render_s for p in rendered or views_list]),
            "render_measured": "this run" if rendered else "when the cache was made",
            "text_layer_ms_per_view": _stats([ms for p in views_list for ms in p.text_layer_ms], 1),
            "screenshot_ms_per_view": _stats([ms for p in views_list for ms in p.screenshot_ms], 1),
            "markup_ms_per_page": _stats([p.markup_ms for p in views_list], 1),
            "ocr_s": round(ocr_s, 1), "ocr_s_per_view_now": _stats(cache.ocr_seconds),
            "ocr_views_cached": cache.ocr_cached,
            "ocr_s_per_view_cached": _stats(_cached_ocr_seconds(views_list, ocr_engine.get("key"))),
            "read_s_by_source": {k: round(v, 2) for k, v in read_s.items()},
            "read_ms_per_page": {k: _stats([it["read_ms"] for it in v if "read_ms" in it], 2)
                                 for k, v in items_by_source.items()},
        },
        "targets": {f"{s}/{f}": t for (s, f), t in TARGETS.items()},
        "results": [{k: v for k, v in row.items() if k != "misses"} for row in rows],
        "reach": reach,
        "misses": {f"{r['split']}/{r['source']}/{r['field']}": r["misses"] for r in rows
                   if r["split"] == ("all" if "all" in splits else which) and r["misses"]},
        "items": items_by_source,
    }
    return _write(out_dir, result)


def _write(out_dir: Path, result: dict[str, Any]) -> dict[str, Any]:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "zyte_reader.json").write_text(json.dumps(result, indent=1, ensure_ascii=False, default=str) + "\n",
                                              encoding="utf-8")
    return result


def _cached_ocr_seconds(views: Sequence[PageViews], engine_key: str | None) -> list[float]:
    """The OCR seconds recorded in the cache for these views (what OCR cost when it ran)."""
    if not engine_key:
        return []
    seconds = []
    for page in views:
        for index in range(page.n_views):
            path = page.folder / f"view-{index:02d}.ocr-{engine_tag(engine_key)}.json"
            if path.exists():
                seconds.append(float(json.loads(path.read_text(encoding="utf-8")).get("seconds", 0.0)))
    return seconds


def report(result: dict[str, Any], out_dir: Path) -> str:
    if "skipped" in result:
        return f"zyte reader eval skipped: {result['skipped']}"
    t = result["timings"]
    lines = [format_table(result["results"]), "", "what a reader could reach (labelled pages whose value is in the "
             f"text layer of the {result['settings']['views']} views, or right in the markup):",
             format_reach(result["reach"]), ""]
    for name, value in result["reference_not_ours"].items():
        lines.append(f"reference (not ours): {name} = {value}")
    for source, why in result["settings"]["skipped_sources"].items():
        lines.append(f"skipped source {source}: {why}")
    render = t["render_s_per_page"]
    lines.append(f"render: {t['pages_rendered_now']} pages now, median {render.get('median')} s/page "
                 f"({t['render_measured']}); text layer median {t['text_layer_ms_per_view'].get('median')} ms/view; "
                 f"capture step {t['capture_s']} s")
    if t["ocr_s_per_view_now"]["n"] or t["ocr_views_cached"]:
        now, cached = t["ocr_s_per_view_now"], t["ocr_s_per_view_cached"]
        lines.append(f"ocr: {now['n']} views now (median {now.get('median')} s/view), {t['ocr_views_cached']} from "
                     f"the cache (median {cached.get('median')} s/view when made); ocr step {t['ocr_s']} s")
    lines.append(f"reading: {t['read_s_by_source']} s; total {result['duration_s']} s; revision "
                 f"{result['revision']}{' (uncommitted changes)' if result['working_tree_dirty'] else ''}")
    data = result["data"]
    if data["capture_errors"]:
        lines.append(f"capture errors: {len(data['capture_errors'])} pages (see data.capture_errors)")
    if data["price_labels_unparsed"]:
        lines.append(f"price labels price_parser cannot read: {data['price_labels_unparsed']}")
    lines.append(f"wrote {out_dir / 'zyte_reader.json'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.reader.zyte", description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=("dev", "test", "all"), default="all")
    parser.add_argument("--sources", default=",".join(SOURCES),
                        help=f"comma-separated, of {', '.join(SOURCES)} (default: all)")
    parser.add_argument("--views", type=int, default=40,
                        help="views per page, top first (default 40)")
    parser.add_argument("--ocr-views", type=int, default=SCREENSHOT_VIEWS,
                        help=f"views per page, top first, that get a screenshot for the ocr source (default "
                             f"{SCREENSHOT_VIEWS})")
    parser.add_argument("--limit", type=int, default=None, help="the first N pages of the split (default: all)")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help=f"views cache (default {DEFAULT_CACHE})")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"results directory (default {DEFAULT_OUT})")
    parser.add_argument("--javascript", action="store_true", help="run the saved pages' inline scripts (off)")
    parser.add_argument("--markup-policy", choices=("confirmed", "fallback", "markup-first"), default="confirmed",
                        help="how the reader weighs page markup against what was seen (default: the reader's)")
    args = parser.parse_args(argv)
    sources = [s.strip() for s in args.sources.split(",") if s.strip()]
    unknown = [s for s in sources if s not in SOURCES]
    if unknown or not sources:
        parser.error(f"unknown sources {unknown}; choose from {', '.join(SOURCES)}")
    if args.views < 1:
        parser.error("--views must be at least 1")
    if args.ocr_views < 0:
        parser.error("--ocr-views must be at least 0")
    settings = ViewSettings(views=args.views, screenshots=min(args.ocr_views, args.views), javascript=args.javascript)
    result = run(args.split, sources, settings, None if args.limit is None else max(0, args.limit), args.cache,
                 args.out, markup_policy=args.markup_policy)
    print(report(result, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

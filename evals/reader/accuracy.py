"""Accuracy of the offline screen reader (OCR + rule-based parsing) on real screenshots, field by field.

    python -m evals.reader.accuracy [--products N] [--listings N] [--zyte N] [--out DIR]

Two suites, both rendered by Debian's Chromium at a 1280x800 viewport and read by
``OfflineScreenReader(brands=<catalog brands>, categories=<catalog categories>)`` over ``RapidOcrReader``:

* **demo**: product pages and category listings of the demo shop (``shop/server.py``) over the shipped catalog,
  scored against the catalog records (title, price, list price, brand, leaf category, rating, page kind; the
  share of card prices visible in the viewport that the reader returns).
* **zyte**: saved real product pages (``../shared/data/product-pages-zyte``), opened from disk with every
  other request aborted, scored against the benchmark's ground truth (price, brand, title when labelled, and
  how often the page is taken for a product page). The reader's vocabulary stays the catalog's: the ground
  truth's brands are never given to it.

Prints a table (suite, field, n, accuracy, target, status) and writes ``DIR/reader_accuracy.json`` (results,
the first misses per field, settings, revision, timings) and ``DIR/reader_accuracy_items.jsonl`` (every item
read, expected and scored). Thresholds are reported PASS/FAIL; the exit code is 0 whatever they say (this is
an eval, not a test). Screenshots are taken in ``evals/reader/screens.py``; the scoring functions live in
``evals/reader/scoring.py``, pure and unit-tested in ``tests/evals/test_evals_scoring.py``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from evals.reader.scoring import (
    CHROMIUM,
    DEFAULT_OUT,
    FUZZY_TITLE,
    PRICE_TOLERANCE,
    REPO_ROOT,
    ROWS,
    SCROLL_Y,
    SEED,
    TARGETS,
    VIEWPORT,
    ZYTE_DIR,
    Scoreboard,
    any_brand,
    brand_correct,
    brand_shown,
    card_price_recall,
    format_table,
    leaf_correct,
    listing_categories,
    percentile,
    price_candidates,
    price_close,
    price_shown,
    rating_correct,
    same_rupee,
    shown_rating,
    status,
    stratified_sample,
    title_exact,
    title_ratio,
)
from evals.reader.screens import Shot, capture_demo, capture_zyte, progress


# -- reading and scoring -----------------------------------------------------------------------------------
def read_shots(shots: Sequence[Shot], reader: Any, ocr: Any) -> tuple[dict[int, Any], dict[int, list], list[float]]:
    """OCR each screenshot (timed) and parse it; returns readings and OCR lines by shot index, and per-frame
    OCR seconds."""
    readings: dict[int, Any] = {}
    ocr_lines: dict[int, list] = {}
    latencies: list[float] = []
    for i, shot in enumerate(shots):
        if shot.path is None:
            continue
        started = time.perf_counter()
        lines = ocr.read(shot.path, sha256=hashlib.sha256(shot.path.read_bytes()).hexdigest())  # the cache's key
        latencies.append(time.perf_counter() - started)
        ocr_lines[i] = lines
        readings[i] = reader.read_ocr_lines(f"{shot.suite}:{i}", lines, shot.path)
        if (i + 1) % 25 == 0:
            progress(f"ocr: {i + 1}/{len(shots)} frames read (median {percentile(latencies, 0.5):.2f} s)")
    return readings, ocr_lines, latencies


def reading_summary(reading: Any) -> dict[str, Any]:
    """The fields of a FrameReading the eval scores, JSON-ready."""
    if reading is None:
        return {}
    price = reading.price.amount if reading.price else None
    currency = reading.price.currency if reading.price else None
    return {"kind": reading.kind, "title": reading.title, "brand": reading.brand, "price": price,
            "currency": currency, "list_price": reading.list_price, "rating": reading.rating,
            "category_path": reading.category_path, "card_prices": [p.amount for p in reading.card_prices]}


def score_demo_product(board: Scoreboard, shot: Shot, reading: Any) -> dict[str, bool]:
    suite, e, r = shot.suite, shot.expected, reading_summary(reading)
    item = shot.item
    marks: dict[str, bool] = {}

    def mark(name: str, ok: bool, read: Any, expected: Any) -> None:
        marks[name] = ok
        board.tally(suite, name).add(ok, item, read, expected)

    mark("kind", r.get("kind") == "product", r.get("kind"), "product")
    mark("title exact", title_exact(r.get("title"), e["title"]), r.get("title"), e["title"])
    ratio = title_ratio(r.get("title"), e["title"])
    mark(f"title ratio>={FUZZY_TITLE}", ratio >= FUZZY_TITLE, {"title": r.get("title"), "ratio": round(ratio, 3)},
         e["title"])
    if e["price"] is not None:
        mark("price", same_rupee(r.get("price"), e["price"]), r.get("price"), e["price"])
    if e["price"] is not None and e["list_price"] and e["list_price"] > e["price"]:
        mark("list_price", same_rupee(r.get("list_price"), e["list_price"]), r.get("list_price"), e["list_price"])
    mark("brand", brand_correct(r.get("brand"), e["brand"]), r.get("brand"), e["brand"])
    mark("leaf category", leaf_correct(r.get("category_path") or [], e["leaf"]), r.get("category_path"), e["leaf"])
    if e["rating"] is not None:
        mark("rating", rating_correct(r.get("rating"), e["rating"]), r.get("rating"), shown_rating(e["rating"]))
    return marks


def score_demo_listing(board: Scoreboard, shot: Shot, reading: Any) -> dict[str, Any]:
    suite, r = shot.suite, reading_summary(reading)
    board.tally(suite, "kind").add(r.get("kind") == "listing", shot.item, r.get("kind"), "listing")
    expected = [card["price"] for card in shot.expected["cards"]]
    read = r.get("card_prices") or []
    matched = card_price_recall(expected, read)
    board.tally(suite, "visible card prices read").add(
        matched == len(expected), shot.item, sorted(read), sorted(expected), weight=len(expected), correct=matched)
    # The other way round: read card prices that are no visible card's price (extra or misread amounts).
    right = card_price_recall(read, expected)
    board.tally(suite, "read card prices that are right").add(
        right == len(read), shot.item, sorted(read), sorted(expected), weight=len(read), correct=right)
    return {"kind": r.get("kind") == "listing", "cards": len(expected), "matched": matched,
            "read": len(read), "read_right": right}


def score_zyte_page(board: Scoreboard, page_id: str, truth: dict[str, Any], top: Any, scrolled: Any,
                    visible: Sequence[Sequence[str]] = ((), ())) -> dict:
    """Top frame alone, and the better of the top and scrolled frames per field. ``visible`` holds each frame's
    on-screen text, to tell a value the reader missed from one that was not on screen."""
    suite = "zyte"
    frames = [reading_summary(top), reading_summary(scrolled)]  # {} for a frame that could not be taken
    marks: dict[str, Any] = {}

    def shown(name: str, on_screen: bool, best_ok: bool, expected: Any) -> None:
        """Diagnostics: how often the value is on screen in either frame, and accuracy on those pages only."""
        marks[f"{name} on screen"] = on_screen
        board.tally(suite, f"{name} on screen (either frame)").add(on_screen, page_id, None, expected,
                                                                   url=truth.get("url"))
        if on_screen:
            board.tally(suite, f"{name} when on screen (best of 2)").add(
                best_ok, page_id, [{k: f.get(k) for k in ("kind", name)} for f in frames], expected,
                url=truth.get("url"))

    def mark(name: str, oks: list[bool], reads: list[Any], expected: Any) -> None:
        top_ok, best_ok = oks[0], any(oks)
        marks[name] = {"top": top_ok, "best": best_ok}
        board.tally(suite, f"{name} (top)").add(top_ok, page_id, reads[:1], expected, url=truth.get("url"))
        board.tally(suite, f"{name} (best of 2)").add(best_ok, page_id, reads, expected, url=truth.get("url"))

    kinds = [f.get("kind") for f in frames]
    mark("kind=product", [k == "product" for k in kinds], kinds, "product")
    if truth.get("price"):
        candidates = sorted({c for text in truth["price"] for c in price_candidates(text)})
        prices = [f.get("price") for f in frames]
        mark("price", [price_close(p, candidates) for p in prices],
             [{"price": f.get("price"), "currency": f.get("currency"), "kind": f.get("kind")} for f in frames],
             truth["price"])
        shown("price", any(price_shown(texts, candidates) for texts in visible), marks["price"]["best"],
              truth["price"])
    brands = [b for b in truth.get("brand") or [] if b and b.strip()]
    if brands:
        mark("brand", [any_brand(f.get("brand"), brands) for f in frames], [f.get("brand") for f in frames], brands)
        shown("brand", any(brand_shown(texts, brands) for texts in visible), marks["brand"]["best"], brands)
    names = [n for n in truth.get("name") or [] if n and n.strip()]
    if names:
        mark("title", [any(title_exact(f.get("title"), n) for n in names) for f in frames],
             [f.get("title") for f in frames], names)
    else:
        board.tally(suite, "title (not labelled)")  # n = 0: the ground truth has no product name
    return marks


# -- the run ----------------------------------------------------------------------------------------------
def git_revision() -> tuple[str, bool | None]:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain"], cwd=REPO_ROOT, capture_output=True,
                                    text=True, check=True).stdout.strip())
        return rev, dirty
    except (OSError, subprocess.CalledProcessError):
        return "unknown", None


READER_SOURCES = ("tools/perception/screen_reader.py", "tools/perception/parsing.py", "tools/perception/ocr.py")


def source_hashes(paths: Iterable[str] = READER_SOURCES) -> dict[str, str]:
    """sha256 (first 12 hex digits) of the reader's sources as run: the working tree may differ from HEAD."""
    hashes = {}
    for name in paths:
        path = REPO_ROOT / name
        hashes[name] = hashlib.sha256(path.read_bytes()).hexdigest()[:12] if path.exists() else "missing"
    return hashes


def zyte_pages(limit: int | None) -> list[tuple[str, dict[str, Any]]]:
    if not (ZYTE_DIR / "ground-truth.json").exists():
        return []
    truth = json.loads((ZYTE_DIR / "ground-truth.json").read_text(encoding="utf-8"))
    ids = sorted(p.name.removesuffix(".html.gz") for p in (ZYTE_DIR / "html").glob("*.html.gz"))
    pages = [(page_id, truth.get(page_id, {})) for page_id in ids]
    return pages if limit is None else pages[:limit]


def run(n_products: int, n_listings: int, n_zyte: int | None, out_dir: Path, javascript: bool,
        keep_screenshots: bool, ocr_cache: Path | None = None) -> dict[str, Any]:
    from catalog.files import load_products
    from tools.lines import TextLayer
    from tools.perception.ocr import RapidOcrReader
    from tools.perception.screen_reader import BACKEND_NAME, OfflineScreenReader

    started = time.perf_counter()
    load_start = round(os.getloadavg()[0], 2)  # OCR latency depends on what else the machine runs
    sources = source_hashes()  # right after importing them: the sources measured
    revision, dirty = git_revision()  # at the start: the tree may change during a long run
    products = load_products()
    brands = sorted({p.brand for p in products if p.brand})
    categories = sorted({c for p in products for c in p.category_path})
    sample = stratified_sample(products, n_products, stratum=lambda p: p.category, key=lambda p: p.id)
    listings = listing_categories([p.category_path for p in products], n_listings)
    pages = zyte_pages(n_zyte)
    progress(f"demo: {len(sample)} product pages, {len(listings)} listings; zyte: {len(pages)} pages")

    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="reader-eval-") as tmp:
        shots_dir = out_dir / "reader_accuracy_shots" if keep_screenshots else Path(tmp) / "shots"
        shots_dir.mkdir(parents=True, exist_ok=True)
        html_dir = Path(tmp) / "html"
        html_dir.mkdir()
        t0 = time.perf_counter()
        shots = capture_demo(products, sample, listings, shots_dir)
        zyte_shots, blocked = capture_zyte(pages, html_dir, shots_dir, javascript) if pages else ([], 0)
        shots += zyte_shots
        capture_s = time.perf_counter() - t0
        progress(f"captured {len(shots)} screenshots in {capture_s:.0f} s; reading them")

        ocr = RapidOcrReader(cache_path=ocr_cache)
        reader = OfflineScreenReader(brands=brands, categories=categories, ocr=ocr)
        t0 = time.perf_counter()
        readings, ocr_lines, latencies = read_shots(shots, reader, ocr)
        read_s = time.perf_counter() - t0

    board = Scoreboard(ROWS)
    items: list[dict[str, Any]] = []
    zyte_index: dict[str, list[int]] = {}
    for i, shot in enumerate(shots):
        reading = readings.get(i)
        base = {"suite": shot.suite, "item": shot.item, "url": shot.url, "scroll_y": shot.scroll_y,
                "error": shot.error, "read": reading_summary(reading)}
        # What OCR returned (text, x0, y0, x1, y1, score), to see why the reader read what it did.
        base["ocr"] = [[line.text, round(line.x0, 1), round(line.y0, 1), round(line.x1, 1), round(line.y1, 1),
                        round(line.score, 2)] for line in ocr_lines.get(i, [])]
        if shot.suite in ("demo-product", "demo-listing"):
            score = score_demo_product if shot.suite == "demo-product" else score_demo_listing
            items.append({**base, "expected": shot.expected, "ok": score(board, shot, reading)})
            # The same page read from its text layer, as our own browser records it with each frame.
            layered = reader.read_text_layer(f"{shot.suite}:{i}:text", TextLayer(lines=shot.text_layer))
            as_layer = replace(shot, suite=f"{shot.suite} text-layer")
            items.append({**base, "suite": as_layer.suite, "read": reading_summary(layered), "ocr": [],
                          "expected": shot.expected, "ok": score(board, as_layer, layered)})
        else:
            zyte_index.setdefault(shot.item, []).append(i)
            items.append({**base, "frame": "top" if len(zyte_index[shot.item]) == 1 else "scrolled"})
    for page_id, truth in pages:
        top_i, scrolled_i = zyte_index[page_id]
        marks = score_zyte_page(board, page_id, truth, readings.get(top_i), readings.get(scrolled_i),
                                (shots[top_i].visible_text, shots[scrolled_i].visible_text))
        items.append({"suite": "zyte-page", "item": page_id, "url": truth.get("url"),
                      "expected": {k: truth.get(k) for k in ("price", "currency", "brand", "name")}, "ok": marks})

    suites = ["demo-product", "demo-listing", "demo-product text-layer", "demo-listing text-layer"] + (
        ["zyte"] if pages else [])
    rows = board.rows(suites=suites)
    result = {
        "eval": "reader_accuracy",
        "revision": revision,
        "working_tree_dirty": dirty,
        "date": dt.datetime.now(dt.UTC).astimezone().isoformat(timespec="seconds"),
        "duration_s": round(time.perf_counter() - started, 1),
        "timings_s": {"capture": round(capture_s, 1), "ocr_and_parse": round(read_s, 1)},
        "load_average_1m": {"start": load_start, "end": round(os.getloadavg()[0], 2), "cpus": os.cpu_count()},
        "settings": {
            "viewport": VIEWPORT, "device_scale_factor": 1, "browser": f"{CHROMIUM} via Playwright (headless)",
            "ocr_engine": RapidOcrReader.name, "reader": BACKEND_NAME, "reader_sources": sources, "seed": SEED,
            "vocabulary": {"brands": len(brands), "categories": len(categories), "source": "demo catalog only"},
            "demo": {"product_pages": len(sample), "listing_pages": listings, "frame": "top of page"},
            "zyte": {"dir": str(ZYTE_DIR), "pages": len(pages), "javascript": javascript,
                     "frames": ["top", f"scrolled by {SCROLL_Y}px"], "requests_blocked": blocked,
                     "price_match": f"within {PRICE_TOLERANCE:.0%} of any reading of a ground-truth string",
                     "best_of_2": "a field counts as right when either frame reads it right"},
            "fuzzy_title_ratio": FUZZY_TITLE,
        },
        "ocr_latency_s": {"frames": len(latencies), "median": _round(percentile(latencies, 0.5)),
                          "p95": _round(percentile(latencies, 0.95)),
                          "mean": _round(sum(latencies) / len(latencies) if latencies else None)},
        "results": rows,
        "misses": {f"{suite}/{name}": {"missed": t.missed, "first": t.misses}
                   for (suite, name), t in board.tallies.items() if t.missed and suite in suites},
        "thresholds": {f"{suite}/{name}": {"target": target, "accuracy": board.tally(suite, name).accuracy,
                                           "status": status(board.tally(suite, name).accuracy, target)}
                       for (suite, name), target in TARGETS.items()},
    }
    result["passed"] = all(v["status"] == "PASS" for v in result["thresholds"].values())
    (out_dir / "reader_accuracy.json").write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str) + "\n",
                                                 encoding="utf-8")
    with open(out_dir / "reader_accuracy_items.jsonl", "w", encoding="utf-8") as handle:
        for item in items:
            handle.write(json.dumps(item, ensure_ascii=False, default=str) + "\n")
    return result


def reread(out_dir: Path) -> list[dict[str, Any]]:
    """The demo rows again from a run kept with ``--keep-screenshots``: its screenshots and the OCR lines it
    recorded, read by the current reader (no capture, no OCR; to compare reader changes on the same pixels)."""
    from catalog.files import load_products
    from tools.perception.ocr import OcrLine
    from tools.perception.screen_reader import OfflineScreenReader

    products = load_products()
    reader = OfflineScreenReader(brands=sorted({p.brand for p in products if p.brand}),
                                 categories=sorted({c for p in products for c in p.category_path}), ocr=None)
    board, counts = Scoreboard(ROWS), {"demo-product": 0, "demo-listing": 0}
    for row in (out_dir / "reader_accuracy_items.jsonl").read_text(encoding="utf-8").splitlines():
        item = json.loads(row)
        if item["suite"] not in counts:
            continue
        index, counts[item["suite"]] = counts[item["suite"]], counts[item["suite"]] + 1
        path = out_dir / "reader_accuracy_shots" / f"{item['suite']}-{index:03d}.png"
        shot = Shot(item["suite"], item["item"], item["url"], path, expected=item["expected"])
        reading = reader.read_ocr_lines(f"{shot.suite}:{index}", [OcrLine(*line) for line in item["ocr"]], path)
        (score_demo_product if shot.suite == "demo-product" else score_demo_listing)(board, shot, reading)
    return board.rows(suites=list(counts))


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.reader.accuracy", description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=60, help="demo product pages (stratified by top category)")
    parser.add_argument("--listings", type=int, default=10, help="demo category listing pages")
    parser.add_argument("--zyte", type=int, default=None, help="real pages to read (default: all)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="results directory (default: eval-results/)")
    parser.add_argument("--zyte-javascript", action="store_true",
                        help="run the saved pages' inline scripts (off by default: see evals/README.md)")
    parser.add_argument("--keep-screenshots", action="store_true", help="keep the PNGs in DIR/reader_accuracy_shots")
    parser.add_argument("--ocr-cache", type=Path, default=None,
                        help="keep OCR lines in this SQLite file by screenshot hash (a rerun of the same screens "
                             "reads no pixels again; the OCR latency figures then measure the cache)")
    parser.add_argument("--reread", action="store_true",
                        help="re-read the demo screenshots and OCR lines a --keep-screenshots run left in --out "
                             "with the current reader, and print the demo rows (no capture, no OCR)")
    args = parser.parse_args(argv)
    if args.reread:
        print(format_table(reread(args.out)))
        return 0
    result = run(max(0, args.products), max(0, args.listings), None if args.zyte is None else max(0, args.zyte),
                 args.out, args.zyte_javascript, args.keep_screenshots, args.ocr_cache)
    print(format_table(result["results"]))
    lat = result["ocr_latency_s"]
    verdicts = ", ".join(f"{name} {v['status']}" for name, v in result["thresholds"].items())
    print(f"\nthresholds: {verdicts}")
    print(f"OCR per frame: median {lat['median']} s, p95 {lat['p95']} s over {lat['frames']} frames; "
          f"total {result['duration_s']} s; revision {result['revision']}"
          f"{' (uncommitted changes)' if result['working_tree_dirty'] else ''}")
    print(f"wrote {args.out / 'reader_accuracy.json'} and {args.out / 'reader_accuracy_items.jsonl'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

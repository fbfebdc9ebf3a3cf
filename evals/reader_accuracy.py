"""Accuracy of the offline screen reader (OCR + rule-based parsing) on real screenshots, field by field.

    python -m evals.reader_accuracy [--products N] [--listings N] [--zyte N] [--out DIR]

Two suites, both rendered by Debian's Chromium at a 1280x800 viewport and read by
``OfflineScreenReader(brands=<catalog brands>, categories=<catalog categories>)`` over ``RapidOcrReader``:

* **demo**: product pages and category listings of the demo shop (``tools/shop.py``) over the shipped catalog,
  scored against the catalog records (title, price, list price, brand, leaf category, rating, page kind; the
  share of card prices visible in the viewport that the reader returns).
* **zyte**: saved real product pages (``../shared/data/product-pages-zyte``), opened from disk with every
  other request aborted, scored against the benchmark's ground truth (price, brand, title when labelled, and
  how often the page is taken for a product page). The reader's vocabulary stays the catalog's: the ground
  truth's brands are never given to it.

Prints a table (suite, field, n, accuracy, target, status) and writes ``DIR/reader_accuracy.json`` (results,
the first misses per field, settings, revision, timings) and ``DIR/reader_accuracy_items.jsonl`` (every item
read, expected and scored). Thresholds are reported PASS/FAIL; the exit code is 0 whatever they say (this is
an eval, not a test). The scoring functions are pure and unit-tested in ``tests/test_evals_scoring.py``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import difflib
import gzip
import hashlib
import json
import math
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
ZYTE_DIR = REPO_ROOT.parent / "shared" / "data" / "product-pages-zyte"
CHROMIUM = Path("/usr/bin/chromium")
DEFAULT_OUT = Path("eval-results")
VIEWPORT = {"width": 1280, "height": 800}
SEED = 20240301  # fixes the demo sample and the listing categories
SCROLL_Y = 600  # the second frame of a real page
FUZZY_TITLE = 0.9
PRICE_TOLERANCE = 0.01  # relative, for the real pages' prices
MAX_MISSES = 20
NAV_TIMEOUT_MS = 20_000
TARGETS = {("demo-product", "price"): 0.95, ("demo-product", "brand"): 0.95}
# The table's order (rows first scored elsewhere follow).
ROWS = [("demo-product", name) for name in ("kind", "title exact", f"title ratio>={FUZZY_TITLE}", "price",
                                            "list_price", "brand", "leaf category", "rating")] + [
    ("demo-listing", name) for name in ("kind", "visible card prices read", "read card prices that are right")] + [
    ("zyte", f"{name} ({frames})") for name in ("kind=product", "price", "brand")
    for frames in ("top", "best of 2")] + [
    ("zyte", f"{name} {which}") for name in ("price", "brand")
    for which in ("on screen (either frame)", "when on screen (best of 2)")]


# -- scoring: small pure functions --------------------------------------------------------------------------
def normalise_text(text: str | None) -> str:
    """Unicode-compatible form, case-folded, whitespace collapsed: ' Maxima  WATCH ' -> 'maxima watch'."""
    if text is None:
        return ""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def title_exact(read: str | None, expected: str) -> bool:
    return read is not None and normalise_text(read) == normalise_text(expected)


def title_ratio(read: str | None, expected: str) -> float:
    """difflib's similarity ratio (0..1) of the normalised texts; 0 when nothing was read."""
    if not read:
        return 0.0
    return difflib.SequenceMatcher(None, normalise_text(read), normalise_text(expected), autojunk=False).ratio()


def same_rupee(read: float | None, expected: float | None) -> bool:
    """Exact to the rupee (|difference| < 0.5). Nothing expected is right only when nothing is read."""
    if expected is None:
        return read is None
    return read is not None and abs(read - expected) < 0.5


def brand_correct(read: str | None, expected: str | None) -> bool:
    """Case-insensitive exact; a product without a brand is right when no brand is read."""
    if not expected or not expected.strip():
        return not read or not read.strip()
    return read is not None and normalise_text(read) == normalise_text(expected)


def leaf_correct(read_path: Sequence[str], expected_leaf: str) -> bool:
    return bool(read_path) and normalise_text(read_path[-1]) == normalise_text(expected_leaf)


def shown_rating(rating: float) -> float:
    """The rating as the shop prints it on its badge (one decimal, Python's formatting)."""
    return float(f"{rating:.1f}")


def rating_correct(read: float | None, expected: float) -> bool:
    return read is not None and abs(read - shown_rating(expected)) < 1e-6


def price_candidates(text: str) -> list[float]:
    """The amounts a ground-truth price string can mean. '87.11' -> [87.11]; '1.759,99' -> [1759.99];
    '23.450' is ambiguous (decimal point or thousands separator) -> [23.45, 23450.0]; '131990 ' -> [131990.0]."""
    s = re.sub(r"[^\d.,]", "", text)
    if not re.search(r"\d", s):
        return []
    found: set[float] = set()
    try:
        if "," in s and "." in s:  # the later separator is the decimal one
            cut = max(s.rfind(","), s.rfind("."))
            found.add(float(re.sub(r"[.,]", "", s[:cut]) + "." + s[cut + 1:]))
        elif "," in s or "." in s:
            sep = "," if "," in s else "."
            parts = s.split(sep)
            if len(parts) == 2:
                found.add(float(f"{parts[0] or '0'}.{parts[1] or '0'}"))
            if 1 <= len(parts[0]) <= 3 and all(len(part) == 3 for part in parts[1:]):
                found.add(float("".join(parts)))
        else:
            found.add(float(s))
    except ValueError:
        return []
    return sorted(found)


def price_close(read: float | None, candidates: Iterable[float], tolerance: float = PRICE_TOLERANCE) -> bool:
    """``read`` within ``tolerance`` (relative) of any candidate; an exact match always counts."""
    if read is None:
        return False
    return any(read == c or abs(read - c) <= tolerance * abs(c) for c in candidates)


def any_brand(read: str | None, expected: Iterable[str]) -> bool:
    return bool(read) and any(normalise_text(read) == normalise_text(e) for e in expected if e and e.strip())


def numbers_in(text: str) -> list[float]:
    """Every amount a text can show, each read every way :func:`price_candidates` allows:
    'EUR 1.299,00 (-10%)' -> [10.0, 1299.0]."""
    found: set[float] = set()
    for token in re.findall(r"\d(?:[\d.,]*\d)?", text):
        found.update(price_candidates(token))
    return sorted(found)


def price_shown(texts: Iterable[str], candidates: Sequence[float]) -> bool:
    """Some visible text shows an amount equal (within tolerance) to the expected price."""
    return any(price_close(amount, candidates) for text in texts for amount in numbers_in(text))


def brand_shown(texts: Iterable[str], expected: Iterable[str]) -> bool:
    """Some visible text contains the brand (normalised substring)."""
    joined = normalise_text(" \n ".join(texts))
    return any(normalise_text(e) and normalise_text(e) in joined for e in expected)


def card_price_recall(expected: Sequence[float], read: Sequence[float]) -> int:
    """How many of the expected card prices were read (each read amount counts once; to the rupee)."""
    pool = Counter(round(amount) for amount in read)
    matched = 0
    for amount in expected:
        key = round(amount)
        if pool[key] > 0:
            pool[key] -= 1
            matched += 1
    return matched


def box_inside(box: dict[str, float] | None, width: float, height: float) -> bool:
    """A Playwright bounding box lies wholly inside the viewport."""
    if not box:
        return False
    return box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= width and box["y"] + box["height"] <= height


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default): percentile([1, 2, 3, 4], 0.5) == 2.5."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def allocate(sizes: dict[str, int], n: int) -> dict[str, int]:
    """Split ``n`` over strata in proportion to their sizes (largest remainder, ties by name); when ``n`` allows,
    every non-empty stratum gets at least one, taken from the largest allocation."""
    total = sum(sizes.values())
    n = max(0, min(n, total))
    if n == 0:
        return dict.fromkeys(sizes, 0)
    quotas = {k: n * size / total for k, size in sizes.items()}
    alloc = {k: math.floor(q) for k, q in quotas.items()}
    for k in sorted(sizes, key=lambda k: (-(quotas[k] - alloc[k]), k)):
        if sum(alloc.values()) >= n:
            break
        if alloc[k] < sizes[k]:
            alloc[k] += 1
    if n >= sum(1 for size in sizes.values() if size > 0):
        for k in sorted(sizes):
            if sizes[k] > 0 and alloc[k] == 0:
                donor = max(sorted(alloc), key=lambda d: alloc[d])
                alloc[donor] -= 1
                alloc[k] = 1
    return alloc


def stratified_sample(items: Sequence[Any], n: int, stratum: Callable[[Any], str], key: Callable[[Any], str],
                      seed: int = SEED) -> list[Any]:
    """A deterministic sample of ``n`` items, stratified by ``stratum`` (see :func:`allocate`); within a
    stratum, items are ordered by ``key`` and drawn with ``random.Random(seed)``."""
    groups: dict[str, list[Any]] = {}
    for item in items:
        groups.setdefault(stratum(item), []).append(item)
    alloc = allocate({k: len(v) for k, v in groups.items()}, n)
    rng = random.Random(seed)
    chosen: list[Any] = []
    for name in sorted(groups):
        chosen.extend(rng.sample(sorted(groups[name], key=key), alloc[name]))
    return chosen


def listing_categories(paths: Sequence[Sequence[str]], n: int, seed: int = SEED, min_products: int = 4) -> list[str]:
    """Category pages to read: round-robin over top categories (largest first, ties by name), each time a
    second-level category (with at least ``min_products`` products) not chosen before, drawn with
    ``random.Random(seed)``; the top category itself when it has none."""
    tops = Counter(path[0] for path in paths)
    order = sorted(tops, key=lambda t: (-tops[t], t))
    subs: dict[str, list[str]] = {}
    for top in order:
        counts = Counter(path[1] for path in paths if path[0] == top and len(path) > 1)
        subs[top] = sorted(name for name, count in counts.items() if count >= min_products) or [top]
    rng = random.Random(seed)
    chosen: list[str] = []
    while len(chosen) < n and any(set(subs[t]) - set(chosen) for t in order):
        for top in order:
            left = [name for name in subs[top] if name not in chosen]
            if left and len(chosen) < n:
                chosen.append(rng.choice(left))
    return chosen


def status(accuracy: float | None, target: float | None) -> str:
    if target is None:
        return ""
    if accuracy is None:
        return "n/a"
    return "PASS" if accuracy >= target else "FAIL"


@dataclass
class Tally:
    """Correct / scored for one field, with the first misses kept for the report."""

    n: int = 0
    correct: int = 0
    missed: int = 0
    misses: list[dict[str, Any]] = field(default_factory=list)

    def add(self, ok: bool, item: str, read: Any, expected: Any, weight: int = 1, correct: int | None = None,
            **extra: Any) -> None:
        """Score one item (``weight`` units, of which ``correct`` are right; by default all or none)."""
        got = (weight if ok else 0) if correct is None else correct
        self.n += weight
        self.correct += got
        if got < weight:
            self.missed += 1
            if len(self.misses) < MAX_MISSES:
                self.misses.append({"item": item, "read": read, "expected": expected, **extra})

    @property
    def accuracy(self) -> float | None:
        return round(self.correct / self.n, 4) if self.n else None


class Scoreboard:
    """Tallies by (suite, field), in the order fields were first scored."""

    def __init__(self, order: Iterable[tuple[str, str]] = ()) -> None:
        self.tallies: dict[tuple[str, str], Tally] = {key: Tally() for key in order}

    def tally(self, suite: str, name: str) -> Tally:
        return self.tallies.setdefault((suite, name), Tally())

    def rows(self, targets: dict[tuple[str, str], float] = TARGETS, suites: Iterable[str] | None = None
             ) -> list[dict[str, Any]]:
        """One row per field; only ``suites`` when given (a suite that did not run has only empty rows)."""
        rows = []
        for (suite, name), t in self.tallies.items():
            if suites is not None and suite not in suites:
                continue
            target = targets.get((suite, name))
            rows.append({"suite": suite, "field": name, "n": t.n, "correct": t.correct, "accuracy": t.accuracy,
                         "target": target, "status": status(t.accuracy, target)})
        return rows


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    header = ("suite", "field", "n", "accuracy", "target", "status")
    body = [(r["suite"], r["field"], str(r["n"]), "-" if r["accuracy"] is None else f"{r['accuracy']:.1%}",
             "" if r["target"] is None else f">= {r['target']:.0%}", r["status"]) for r in rows]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) if i < 2 else cell.rjust(w) if i < 5 else cell
                       for i, (cell, w) in enumerate(zip(row, widths))).rstrip() for row in [header, *body]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


# -- screenshots -----------------------------------------------------------------------------------------
@dataclass
class Shot:
    """One screenshot to read and what it is expected to show."""

    suite: str  # demo-product | demo-listing | zyte
    item: str  # product id, category name, or Zyte page id
    url: str
    path: Path | None = None
    scroll_y: int = 0
    expected: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    visible_text: list[str] = field(default_factory=list)  # the page's text inside the viewport (real pages)


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _launch(pw):  # Playwright's sync API object
    from tools.browser import CHROMIUM_FLAGS

    return pw.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_FLAGS), headless=True)


def _settle(page) -> None:
    """Images loaded and web fonts ready, as a shopper would see the page (best effort, 3 s)."""
    from playwright.sync_api import Error as PlaywrightError

    try:
        page.wait_for_function("Array.from(document.images).every(i => i.complete)", timeout=3000)
        page.evaluate("document.fonts.ready.then(() => true)")
    except PlaywrightError:
        pass


# Text nodes whose rendered boxes intersect the viewport (a diagnostic: was the labelled value on screen at all?).
_VISIBLE_TEXT = """() => {
  const W = window.innerWidth, H = window.innerHeight, out = [];
  const walker = document.createTreeWalker(document.body || document.documentElement, NodeFilter.SHOW_TEXT);
  let node;
  while ((node = walker.nextNode()) && out.length < 3000) {
    const text = node.textContent.trim();
    if (!text || text.length > 300) continue;
    const style = node.parentElement && getComputedStyle(node.parentElement);
    if (!style || style.visibility === 'hidden' || style.display === 'none' || style.opacity === '0') continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    if (Array.from(range.getClientRects()).some(r => r.width > 0 && r.height > 0 && r.bottom > 0 && r.top < H
                                                   && r.right > 0 && r.left < W)) out.push(text);
  }
  return out;
}"""


def _screenshot(page, path: Path) -> None:
    page.screenshot(path=str(path), full_page=False, type="png", animations="disabled", caret="hide")


def capture_demo(products: Sequence[Any], sample: Sequence[Any], listings: Sequence[str],
                 shots_dir: Path) -> list[Shot]:
    """Product pages (top of page) and category listings of the demo shop, with the catalog's expectations."""
    from playwright.sync_api import sync_playwright

    from catalog.files import DEMO_IMAGES
    from tools.shop import DemoShop

    by_id = {p.id: p for p in products}
    shots: list[Shot] = []
    with DemoShop(products, DEMO_IMAGES) as shop, sync_playwright() as pw:
        browser = _launch(pw)
        try:
            context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
            context.set_default_timeout(NAV_TIMEOUT_MS)
            origin = shop.url + "/"
            context.route("**/*", lambda route, request: route.continue_() if request.url.startswith(origin)
                          else route.abort("blockedbyclient"))
            page = context.new_page()
            for i, p in enumerate(sample):
                shot = Shot("demo-product", p.id, shop.product_url(p.id), shots_dir / f"demo-product-{i:03d}.png",
                            expected={"title": p.title, "brand": p.brand, "price": p.price,
                                      "list_price": p.list_price, "leaf": p.leaf_category, "rating": p.rating})
                page.goto(shot.url, wait_until="load")
                _settle(page)
                _screenshot(page, shot.path)
                shots.append(shot)
            for i, name in enumerate(listings):
                shot = Shot("demo-listing", name, shop.category_url(name), shots_dir / f"demo-listing-{i:03d}.png")
                page.goto(shot.url, wait_until="load")
                _settle(page)
                visible = []
                for card in page.locator("[data-testid=product-card]").all():
                    box = card.locator("[data-testid=product-card-price]").bounding_box()
                    product = by_id.get(card.get_attribute("data-product-id") or "")
                    if product is not None and product.price is not None and box_inside(box, **VIEWPORT):
                        visible.append({"id": product.id, "price": product.price})
                shot.expected = {"cards": visible}
                _screenshot(page, shot.path)
                shots.append(shot)
        finally:
            browser.close()
    return shots


def capture_zyte(pages: Sequence[tuple[str, dict[str, Any]]], html_dir: Path, shots_dir: Path,
                 javascript: bool) -> tuple[list[Shot], int]:
    """Each saved page opened from disk with every other request aborted: the top of the page and the view
    scrolled by SCROLL_Y. Returns the shots and how many requests were blocked."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    shots: list[Shot] = []
    blocked = 0

    def guard(file_url: str):
        def handle(route, request) -> None:
            nonlocal blocked
            if request.url == file_url:
                route.continue_()
            else:
                blocked += 1
                route.abort("blockedbyclient")
        return handle

    with sync_playwright() as pw:
        browser = _launch(pw)
        try:
            for i, (page_id, truth) in enumerate(pages):
                html = html_dir / f"{page_id}.html"
                with gzip.open(ZYTE_DIR / "html" / f"{page_id}.html.gz", "rb") as source:
                    html.write_bytes(source.read())  # bytes as saved: the page's own charset applies
                file_url = html.resolve().as_uri()
                context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1, java_script_enabled=javascript)
                context.set_default_timeout(NAV_TIMEOUT_MS)
                context.route("**/*", guard(file_url))
                page = context.new_page()
                top = Shot("zyte", page_id, truth.get("url", ""), shots_dir / f"zyte-{i:03d}-top.png",
                           expected=truth)
                scrolled = Shot("zyte", page_id, top.url, shots_dir / f"zyte-{i:03d}-scrolled.png", expected=truth)
                try:
                    try:
                        page.goto(file_url, wait_until="load")
                    except PlaywrightError as exc:  # e.g. a load event that never comes; the page may still show
                        top.error = scrolled.error = f"goto: {str(exc).splitlines()[0]}"
                    _settle(page)
                    _screenshot(page, top.path)
                    top.visible_text = page.evaluate(_VISIBLE_TEXT)
                    page.evaluate(f"window.scrollTo(0, {SCROLL_Y})")
                    page.wait_for_timeout(150)
                    scrolled.scroll_y = int(page.evaluate("Math.round(window.scrollY)"))
                    _screenshot(page, scrolled.path)
                    scrolled.visible_text = page.evaluate(_VISIBLE_TEXT)
                except PlaywrightError as exc:
                    message = str(exc).splitlines()[0]
                    for shot in (top, scrolled):
                        if not shot.path.exists():
                            shot.path, shot.error = None, message
                finally:
                    context.close()
                shots.extend([top, scrolled])
                if (i + 1) % 20 == 0:
                    _progress(f"zyte: {i + 1}/{len(pages)} pages rendered")
        finally:
            browser.close()
    return shots, blocked


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
        lines = ocr.read(shot.path)
        latencies.append(time.perf_counter() - started)
        ocr_lines[i] = lines
        readings[i] = reader.parse_lines(f"{shot.suite}:{i}", lines)
        if (i + 1) % 25 == 0:
            _progress(f"ocr: {i + 1}/{len(shots)} frames read (median {percentile(latencies, 0.5):.2f} s)")
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
    suite, e, r = "demo-product", shot.expected, reading_summary(reading)
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
    suite, r = "demo-listing", reading_summary(reading)
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


def source_hashes(paths: Iterable[str] = ("tools/screen_reader.py", "tools/parsing.py", "tools/ocr.py")
                  ) -> dict[str, str]:
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
        keep_screenshots: bool) -> dict[str, Any]:
    from catalog.files import load_products
    from tools.ocr import RapidOcrReader
    from tools.screen_reader import BACKEND_NAME, OfflineScreenReader

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
    _progress(f"demo: {len(sample)} product pages, {len(listings)} listings; zyte: {len(pages)} pages")

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
        _progress(f"captured {len(shots)} screenshots in {capture_s:.0f} s; reading them")

        ocr = RapidOcrReader()
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
        if shot.suite == "demo-product":
            items.append({**base, "expected": shot.expected, "ok": score_demo_product(board, shot, reading)})
        elif shot.suite == "demo-listing":
            items.append({**base, "expected": shot.expected, "ok": score_demo_listing(board, shot, reading)})
        else:
            zyte_index.setdefault(shot.item, []).append(i)
            items.append({**base, "frame": "top" if len(zyte_index[shot.item]) == 1 else "scrolled"})
    for page_id, truth in pages:
        top_i, scrolled_i = zyte_index[page_id]
        marks = score_zyte_page(board, page_id, truth, readings.get(top_i), readings.get(scrolled_i),
                                (shots[top_i].visible_text, shots[scrolled_i].visible_text))
        items.append({"suite": "zyte-page", "item": page_id, "url": truth.get("url"),
                      "expected": {k: truth.get(k) for k in ("price", "currency", "brand", "name")}, "ok": marks})

    suites = ["demo-product", "demo-listing"] + (["zyte"] if pages else [])
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


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.reader_accuracy", description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=60, help="demo product pages (stratified by top category)")
    parser.add_argument("--listings", type=int, default=10, help="demo category listing pages")
    parser.add_argument("--zyte", type=int, default=None, help="real pages to read (default: all)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="results directory (default: eval-results/)")
    parser.add_argument("--zyte-javascript", action="store_true",
                        help="run the saved pages' inline scripts (off by default: see evals/README.md)")
    parser.add_argument("--keep-screenshots", action="store_true", help="keep the PNGs in DIR/reader_accuracy_shots")
    args = parser.parse_args(argv)
    result = run(max(0, args.products), max(0, args.listings), None if args.zyte is None else max(0, args.zyte),
                 args.out, args.zyte_javascript, args.keep_screenshots)
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

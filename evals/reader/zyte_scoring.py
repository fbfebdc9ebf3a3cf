"""Scoring of the real-page eval (issue 18): labels, matching, precision/recall/F1 and miss kinds, pure functions.

A page is scored on a field when its ground truth labels it. ``read(views, markup)`` is any callable returning an
object with ``price`` and ``brand`` attributes (``PageFacts``, ``MarkupFacts``, a test's stand-in):

* price: right when the amount read is within 0.005 of one of the label's amounts (each label string parsed by
  ``price_parser.Price.fromstring(...).amount_float``, as the benchmark parses it); the currency is not compared;
* brand: right when equal to one of the labelled brands after NFKC, case folding and whitespace collapsing;
* precision = right / pages where the field was output (an output on a page without a label counts against it),
  recall = right / labelled pages, F1 their harmonic mean (0 when both are 0; None when undefined).

Misses of a labelled page are of one kind each: ``not-visible`` (the true value appears nowhere in the text layer
of the captured views, so no screen reader could read it; only for sources reading the screen), ``wrong-value``
(something else was read) or ``no-output``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from price_parser import Price

from evals.reader.scoring import normalise_text, price_candidates, status
from tools.lines import ScreenLine

PRICE_TOLERANCE = 0.005  # absolute, in the page's currency
FIELDS = ("price", "brand")
# The targets, by (source, field).
TARGETS: dict[tuple[str, str], float] = {
    ("text-layer+markup", "price"): 0.92, ("text-layer+markup", "brand"): 0.75,
    ("ocr", "price"): 0.60, ("ocr", "brand"): 0.50,
}
# Published by Zyte with the benchmark (extruct on the same pages): a reference, not a figure of ours.
REFERENCE = {"extruct price F1 (published with the benchmark)": 0.685}
SPLIT_FILE = Path(__file__).with_name("zyte_split.json")
SCREEN_SOURCES = {"text-layer", "text-layer+markup", "ocr"}  # sources that read what the screen showed
MAX_MISSES_LISTED = 40


# -- labels and matching ---------------------------------------------------------------------------------
def label_amount(text: str) -> float | None:
    """'1,299.00' -> 1299.0; '119,01' -> 119.01; '€ 15.99' -> 15.99; '23.450' -> 23450.0 (price_parser's reading)."""
    return Price.fromstring(text).amount_float if isinstance(text, str) else None


def label_amounts(values: Iterable[str] | None) -> list[float]:
    """The distinct amounts of a label's accepted strings (unparseable strings are left out)."""
    return sorted({a for a in (label_amount(v) for v in values or []) if a is not None})


def label_brands(values: Iterable[str] | None) -> list[str]:
    return [v for v in values or [] if isinstance(v, str) and normalise_text(v)]


def price_right(read: float | None, amounts: Sequence[float], tolerance: float = PRICE_TOLERANCE) -> bool:
    return read is not None and any(abs(float(read) - a) <= tolerance for a in amounts)


def brand_right(read: str | None, brands: Sequence[str]) -> bool:
    key = normalise_text(read)
    return bool(key) and any(key == normalise_text(b) for b in brands)


# -- what the screen showed (diagnostics) ---------------------------------------------------------------------
def _rows(lines: Sequence[ScreenLine]) -> list[list[ScreenLine]]:
    """Lines grouped into rows: a line joins the row whose first line's vertical centre lies within its box."""
    rows: list[list[ScreenLine]] = []
    for line in sorted(lines, key=lambda ln: (ln.y_center, ln.x0)):
        if rows and rows[-1][0].y0 <= line.y_center <= rows[-1][0].y1:
            rows[-1].append(line)
        else:
            rows.append([line])
    return [sorted(row, key=lambda ln: ln.x0) for row in rows]


def view_texts(lines: Sequence[ScreenLine]) -> list[str]:
    """The texts a view shows: each line, and each row joined with and without spaces (a price split over runs
    such as '$', '87', '.', '11' reads '$87.11')."""
    texts = [line.text for line in lines]
    for row in _rows(lines):
        if len(row) > 1:
            texts.append(" ".join(line.text for line in row))
            texts.append("".join(line.text for line in row))
    return texts


def amounts_in(text: str) -> set[float]:
    """Every amount a text can show, each number read both ways when ambiguous ('1.299' is 1.299 and 1299)."""
    found: set[float] = set()
    for token in re.findall(r"\d(?:[\d.,\s]*\d)?", text):
        for part in {token, re.sub(r"\s", "", token), *token.split()}:
            found.update(price_candidates(part))
    return found


def price_visible(views: Sequence[Sequence[ScreenLine]], amounts: Sequence[float]) -> bool:
    return any(price_right(value, amounts) for lines in views for text in view_texts(lines)
               for value in amounts_in(text))


def brand_visible(views: Sequence[Sequence[ScreenLine]], brands: Sequence[str]) -> bool:
    keys = [normalise_text(b) for b in brands if normalise_text(b)]
    for lines in views:
        joined = normalise_text(" \n ".join(view_texts(lines)))
        if any(key in joined for key in keys):
            return True
    return False


# -- scoring a source ------------------------------------------------------------------------------------------
@dataclass
class PageCase:
    """One page as a source sees it: ``views`` are the lines it reads (text layer or OCR), ``screen`` the text
    layer used to tell whether a value was visible at all."""

    page_id: str
    truth: dict[str, Any]
    views: list[list[ScreenLine]] = field(default_factory=list)
    markup: Any = None
    screen: list[list[ScreenLine]] | None = None
    error: str | None = None  # a capture problem, kept with the item


def _value(facts: Any, name: str) -> Any:
    return getattr(facts, name, None) if facts is not None else None


def score_page(case: PageCase, facts: Any, source: str) -> dict[str, Any]:
    """One page's item: what was read, what was expected, and per field whether it is right or how it missed."""
    screen = case.screen if case.screen is not None else case.views
    item: dict[str, Any] = {"page_id": case.page_id, "url": case.truth.get("url"), "source": source,
                            "read": {k: _value(facts, k) for k in ("price", "currency", "brand", "title", "kind")},
                            "read_sources": dict(_value(facts, "sources") or {}),
                            "expected": {k: case.truth.get(k) for k in ("price", "currency", "brand")},
                            "fields": {}}
    if case.error:
        item["capture_error"] = case.error
    checks: dict[str, tuple[Any, Callable[[Any], bool], Callable[[], bool]]] = {}
    amounts = label_amounts(case.truth.get("price"))
    checks["price"] = (amounts, lambda v: price_right(v, amounts), lambda: price_visible(screen, amounts))
    brands = label_brands(case.truth.get("brand"))
    checks["brand"] = (brands, lambda v: brand_right(v, brands), lambda: brand_visible(screen, brands))
    for name, (expected, right, visible) in checks.items():
        read = _value(facts, name)
        output = read is not None and (not isinstance(read, str) or bool(read.strip()))
        mark: dict[str, Any] = {"labelled": bool(expected), "output": output}
        if expected:
            mark["right"] = output and right(read)
            mark["visible"] = visible()
            if not mark["right"]:
                if source in SCREEN_SOURCES and not mark["visible"]:
                    mark["miss"] = "not-visible"
                else:
                    mark["miss"] = "wrong-value" if output else "no-output"
        else:
            mark["right"] = False
            if output:
                mark["miss"] = "output-without-label"
        item["fields"][name] = mark
    return item


def run_source(cases: Sequence[PageCase], read: Callable[[Any, Any], Any], source: str,
               clock: Callable[[], float] | None = None) -> list[dict[str, Any]]:
    """``read(case.views, case.markup)`` on every page, scored; a reader error is kept with the item and scored
    as nothing read."""
    items = []
    for case in cases:
        started = clock() if clock else None
        error = None
        try:
            facts = read(case.views, case.markup)
        except Exception as exc:  # noqa: BLE001 - an eval reports a reader crash on one page and goes on
            facts, error = None, f"{type(exc).__name__}: {exc}"
        item = score_page(case, facts, source)
        if error:
            item["reader_error"] = error
        if clock and started is not None:
            item["read_ms"] = round((clock() - started) * 1000, 2)
        items.append(item)
    return items


def f1(precision: float | None, recall: float | None) -> float | None:
    if precision is None or recall is None:
        return None
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def _ratio(a: int, b: int) -> float | None:
    return a / b if b else None


def summarise(items: Sequence[dict[str, Any]], name: str) -> dict[str, Any]:
    """Counts and P/R/F1 of one field over ``items``, with the misses by kind."""
    marks = [(item, item["fields"][name]) for item in items]
    labelled = sum(1 for _, m in marks if m["labelled"])
    output = sum(1 for _, m in marks if m["output"])
    right = sum(1 for _, m in marks if m["right"])
    visible = sum(1 for _, m in marks if m["labelled"] and m.get("visible"))
    precision, recall = _ratio(right, output), _ratio(right, labelled)
    kinds = Counter(m["miss"] for _, m in marks if "miss" in m)
    misses = [{"page_id": item["page_id"], "url": item["url"], "kind": m["miss"], "read": item["read"][name],
               "expected": item["expected"][name], "visible": m.get("visible")}
              for item, m in marks if "miss" in m]
    return {"n": labelled, "output": output, "right": right, "precision": _round(precision),
            "recall": _round(recall), "f1": _round(f1(precision, recall)), "visible": visible,
            "visible_share": _round(_ratio(visible, labelled)),
            "right_when_visible": sum(1 for _, m in marks if m["right"] and m.get("visible")),
            "misses_by_kind": dict(sorted(kinds.items())), "misses": misses[:MAX_MISSES_LISTED]}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def result_rows(items_by_source: dict[str, list[dict[str, Any]]], splits: dict[str, Sequence[str]],
                targets: dict[tuple[str, str], float] = TARGETS) -> list[dict[str, Any]]:
    """One row per (split, source, field): the split's pages among the items scored."""
    rows = []
    for split, ids in splits.items():
        wanted = set(ids)
        for source, items in items_by_source.items():
            chosen = [item for item in items if item["page_id"] in wanted]
            for name in FIELDS:
                summary = summarise(chosen, name)
                target = targets.get((source, name))
                rows.append({"split": split, "source": source, "field": name, **summary, "target": target,
                             "status": status(summary["f1"], target)})
    return rows


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    header = ("split", "source", "field", "n", "out", "right", "precision", "recall", "F1", "visible", "target",
              "status")

    def pct(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    body = [(r["split"], r["source"], r["field"], str(r["n"]), str(r["output"]), str(r["right"]),
             pct(r["precision"]), pct(r["recall"]), pct(r["f1"]),
             pct(r["visible_share"]),
             "" if r["target"] is None else f">= {r['target']:.2f}", r["status"]) for r in rows]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) if i < 3 else cell.rjust(w) if i < 11 else cell
                       for i, (cell, w) in enumerate(zip(row, widths))).rstrip() for row in [header, *body]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


# -- what any reader could reach ---------------------------------------------------------------------------------
def reach_rows(cases: Sequence[PageCase], splits: dict[str, Sequence[str]]) -> list[dict[str, Any]]:
    """Per split and field, over labelled pages: how many show the true value in the text layer of the views
    (``visible``), how many have it right in the markup (``markup_right``), and either: the recall a reader of
    these views with this markup could reach at best."""
    marks: dict[str, dict[str, tuple[bool, bool, bool]]] = {}
    for case in cases:
        screen = case.screen if case.screen is not None else case.views
        amounts, brands = label_amounts(case.truth.get("price")), label_brands(case.truth.get("brand"))
        marks[case.page_id] = {
            "price": (bool(amounts), bool(amounts) and price_visible(screen, amounts),
                      price_right(_value(case.markup, "price"), amounts)),
            "brand": (bool(brands), bool(brands) and brand_visible(screen, brands),
                      brand_right(_value(case.markup, "brand"), brands)),
        }
    rows = []
    for split, ids in splits.items():
        for name in FIELDS:
            chosen = [marks[i][name] for i in ids if i in marks and marks[i][name][0]]
            visible = sum(1 for _, v, _ in chosen if v)
            markup = sum(1 for _, _, m in chosen if m)
            either = sum(1 for _, v, m in chosen if v or m)
            rows.append({"split": split, "field": name, "n": len(chosen), "visible": visible, "markup_right": markup,
                         "either": either, "reachable_recall": _round(_ratio(either, len(chosen)))})
    return rows


def format_reach(rows: Sequence[dict[str, Any]]) -> str:
    header = ("split", "field", "n", "visible", "markup right", "either", "reachable recall")
    body = [(r["split"], r["field"], str(r["n"]), str(r["visible"]), str(r["markup_right"]), str(r["either"]),
             "-" if r["reachable_recall"] is None else f"{r['reachable_recall']:.3f}") for r in rows]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
             for row in [header, *body]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


# -- the frozen split -------------------------------------------------------------------------------------------
def split_order(page_ids: Iterable[str]) -> list[str]:
    """The split rule's order: page ids sorted by the sha256 of the id (UTF-8), ties by id."""
    return sorted(page_ids, key=lambda i: (hashlib.sha256(i.encode("utf-8")).hexdigest(), i))


def make_split(page_ids: Iterable[str]) -> dict[str, list[str]]:
    """First half of :func:`split_order` dev, the rest test (how ``zyte_split.json`` was made, once)."""
    ordered = split_order(page_ids)
    half = len(ordered) // 2
    return {"dev": sorted(ordered[:half]), "test": sorted(ordered[half:])}


def load_split(path: Path = SPLIT_FILE) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def check_split(split: dict[str, Any], known_ids: Iterable[str] | None = None) -> list[str]:
    """Problems of a split file: overlapping or repeated ids, and, given the dataset's ids, ids it lacks."""
    problems = []
    dev, test = list(split.get("dev") or []), list(split.get("test") or [])
    if len(set(dev)) != len(dev) or len(set(test)) != len(test):
        problems.append("an id is listed twice")
    if overlap := set(dev) & set(test):
        problems.append(f"{len(overlap)} ids in both dev and test")
    if known_ids is not None:
        known = set(known_ids)
        if unknown := (set(dev) | set(test)) - known:
            problems.append(f"{len(unknown)} ids not in the data set: {sorted(unknown)[:3]}")
    return problems

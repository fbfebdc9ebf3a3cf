"""The reader-accuracy eval's settings and scoring: small pure functions, a tally per field and the table
(evals/reader/accuracy.py runs the eval)."""

from __future__ import annotations

import difflib
import math
import random
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
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
TARGETS = {("demo-product", "price"): 0.95, ("demo-product", "brand"): 0.95,
           **{("demo-product text-layer", name): 0.95 for name in ("kind", "title exact", "price", "list_price",
                                                                    "brand", "leaf category", "rating")}}
# The table's order (rows first scored elsewhere follow).
ROWS = [("demo-product", name) for name in ("kind", "title exact", f"title ratio>={FUZZY_TITLE}", "price",
                                            "list_price", "brand", "leaf category", "rating")] + [
    ("demo-listing", name) for name in ("kind", "visible card prices read", "read card prices that are right")] + [
    (f"{suite} text-layer", name) for suite, names in (
        ("demo-product", ("kind", "title exact", f"title ratio>={FUZZY_TITLE}", "price", "list_price", "brand",
                          "leaf category", "rating")),
        ("demo-listing", ("kind", "visible card prices read", "read card prices that are right")))
    for name in names] + [
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

"""Screen lines grouped as a reader sees them: runs on one visual row joined into segments.

A page's text layer gives one run per text node ("$", "19", "99" are three runs; "Brand:" and "Acme" two), OCR
gives one box per phrase. A segment joins the runs of a row that sit close together, so both sources read the
same way afterwards. Nothing here knows any shop: only boxes, sizes and standard roles.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

from tools.lines import ScreenLine

_JOIN_GAP = 0.9  # runs closer than this many font sizes are one segment
_CENTS = re.compile(r"^\d{2}$")


@dataclass
class Segment:
    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    font_size: float
    font_weight: int
    line_through: bool
    roles: set[str] = field(default_factory=set)
    tags: set[str] = field(default_factory=set)
    itemprops: set[str] = field(default_factory=set)
    runs: list[ScreenLine] = field(default_factory=list)

    @property
    def y_center(self) -> float:
        return (self.y0 + self.y1) / 2

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    def overlaps_row(self, other: Segment) -> bool:
        return min(self.y1, other.y1) - max(self.y0, other.y0) > 0.4 * min(self.height, other.height)


def _same_row(a: ScreenLine, b: ScreenLine) -> bool:
    overlap = min(a.y1, b.y1) - max(a.y0, b.y0)
    return overlap > 0.35 * min(a.height, b.height) or (b.role == "superscript" and abs(b.y0 - a.y0) < a.height)


def _start(run: ScreenLine) -> Segment:
    return Segment(text=run.text, x0=run.x0, y0=run.y0, x1=run.x1, y1=run.y1, font_size=run.font_size,
                   font_weight=run.font_weight, line_through=run.line_through, roles={run.role} - {""},
                   tags={run.tag} - {""}, itemprops={run.itemprop} - {""}, runs=[run])


def _extend(segment: Segment, run: ScreenLine) -> None:
    last = segment.runs[-1]
    cents = (_CENTS.match(run.text) and re.search(r"\d$", last.text) and not re.search(r"[.,]\d{1,2}$", last.text)
             and (run.role == "superscript" or run.font_size < 0.8 * last.font_size))
    # Runs are stripped of their edge spaces, so a space goes between them unless punctuation closes up.
    tight = run.text[:1] in ",.;:!?)%]»”'’" or last.text[-1:] in "(/[«“'‘-"
    # An amount set in runs ("30" "." "99", as shops style whole and fractional parts): the decimals close up.
    decimals = bool(_CENTS.match(run.text)) and re.search(r"\d[.,]$", segment.text) is not None
    tight = tight or decimals
    joiner = "." if cents else ("" if tight and run.x0 - last.x1 < 0.3 * last.font_size else " ")
    segment.text = f"{segment.text}{joiner}{run.text}"
    segment.x1 = max(segment.x1, run.x1)
    segment.y0, segment.y1 = min(segment.y0, run.y0), max(segment.y1, run.y1)
    if not cents:  # a price's small cents do not make the price smaller
        segment.font_size = max(segment.font_size, run.font_size)
    segment.font_weight = max(segment.font_weight, run.font_weight)
    segment.line_through = segment.line_through and run.line_through
    segment.roles |= {run.role} - {""}
    segment.tags |= {run.tag} - {""}
    segment.itemprops |= {run.itemprop} - {""}
    segment.runs.append(run)


def segments(lines: Sequence[ScreenLine]) -> list[Segment]:
    """Runs joined into segments, top to bottom, then left to right within a row."""
    ordered = _reading_order(lines)
    result: list[Segment] = []
    open_rows: list[Segment] = []  # segments that a following run may still extend
    for run in ordered:
        target = None
        for segment in reversed(open_rows[-6:]):
            last = segment.runs[-1]
            gap = run.x0 - last.x1
            if _same_row(last, run) and -2 <= gap < _JOIN_GAP * max(last.font_size, run.font_size) \
                    and _compatible(last, run):
                target = segment
                break
        if target is None:
            target = _start(run)
            result.append(target)
            open_rows.append(target)
        else:
            _extend(target, run)
    result.sort(key=lambda s: (round(s.y0 / 4), s.x0))
    return result


def _reading_order(lines: Sequence[ScreenLine]) -> list[ScreenLine]:
    """Rows (runs whose vertical extents overlap the row's band) top to bottom, each left to right, so a
    superscript's cents follow their amount however high they sit."""
    rows: list[list[ScreenLine]] = []
    band = (0.0, 0.0)
    for line in sorted(lines, key=lambda item: (item.y0, item.x0)):
        overlap = min(band[1], line.y1) - max(band[0], line.y0)
        if rows and overlap > 0.35 * min(line.height, band[1] - band[0]):
            rows[-1].append(line)
            band = (min(band[0], line.y0), max(band[1], line.y1))
        else:
            rows.append([line])
            band = (line.y0, line.y1)
    return [line for row in rows for line in sorted(row, key=lambda item: item.x0)]


def _compatible(a: ScreenLine, b: ScreenLine) -> bool:
    """Runs of very different kinds stay apart: a heading does not swallow the button beside it."""
    if (a.role == "button") != (b.role == "button") or a.line_through != b.line_through:
        return False  # a struck list price stays apart from the selling price beside it
    if a.role == "heading" and b.role != "heading":
        return False
    return not (b.role == "heading" and a.role != "heading")


def join_wrapped(segs: Sequence[Segment], first: Segment) -> str:
    """The text of a heading that wraps onto following lines (same size and tags, the next line down)."""
    text, last = first.text, first
    start = list(segs).index(first)
    for s in segs[start + 1:start + 4]:
        if s.text == first.text:
            break  # the same heading again (shops repeat titles for small screens), not its next line
        if s.tags == first.tags and abs(s.font_size - first.font_size) < 0.5 and 0 <= s.y0 - last.y1 < 0.8 * \
                first.font_size and abs(s.x0 - first.x0) < 2 * first.font_size:
            # A line that breaks after a hyphen ("TR-" / "256") continues the word.
            joiner = "" if re.search(r"\w-$", text) else " "
            text, last = f"{text}{joiner}{s.text}", s
        elif s.y0 > last.y1 + first.font_size:
            break
    return text


def body_font_size(segs: Sequence[Segment]) -> float:
    """The page's ordinary text size: the median over the characters of its segments."""
    sizes = [s.font_size for s in segs for _ in range(min(len(s.text), 80)) if s.font_size > 0]
    return statistics.median(sizes) if sizes else 16.0


def source_of(segment: Segment) -> str:
    """Where a segment's text came from: text-layer or ocr."""
    return segment.runs[0].source


def same_row(segs: Sequence[Segment], anchor: Segment) -> list[Segment]:
    return [s for s in segs if s is not anchor and s.overlaps_row(anchor)]

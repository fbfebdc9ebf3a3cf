"""The compact text of a page visit for the MLLM: the visible text runs our browser recorded with the visit's
screenshots (their text layers), one line per visual row, top to bottom, with a few marks:

- ``# `` starts a heading (``## `` a level-2 heading, ...), ``~~text~~`` was struck through, ``[text]`` is a
  button or a link, ``{30px}`` gives the font size of text much larger than the page's body text;
- runs far apart on a row (columns, cards side by side) are separated by `` | ``, runs close together by a space;
- list bullets (``•``) are left out, and so is text already given for the visit (a later screenshot of the visit
  shows part of what an earlier one showed; a sticky header shows in all of them).

Only what the text layers hold is rendered: what the capture left out (form fields, hidden text, masked personal
details) is not there to send. A page's markup (schema.org, OpenGraph) becomes one short line, labelled as what
the page's HTML declares, when the capture read it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from tools.lines import ScreenLine, TextLayer
from tools.perception.page.markup import markup_facts
from tools.schemas import Frame

SIZE_STANDS_OUT = 1.5  # times the body text's font size: marked with its size
SAME_PLACE_PX = 3.0  # two runs this close (and of the same text) are one
CLOSE_RUNS = 0.8  # a gap under this many font sizes joins two runs of a row with a space; wider gaps with " | "
MAX_ROWS = 300  # per visit: an endless page is cut here, with a note
REFERENCE_CHARS = 9  # "(row 12)" and its line break: what a row written in place as a reference costs
LISTED_CHARS = 4  # "12 " and a line break: what listing a row once costs besides its text
_BULLETS = {"•", "◦", "▪", "▫", "‣", "●", "○", "■", "□"}
_HEADINGS = {f"h{level}": level for level in range(1, 7)}


@dataclass(frozen=True)
class Row:
    """One visual row of a visit: its rendering and where it was first seen in a screenshot (viewport y)."""

    text: str
    viewport_y: float


@dataclass(frozen=True)
class _Run:
    line: ScreenLine  # in page coordinates (the frame's scroll position added)
    viewport_y: float


def _visit_runs(frames: Sequence[Frame], layers: Sequence[TextLayer]) -> list[_Run]:
    """The visit's runs in page coordinates, each once: a run already seen at the same place of the page, or at
    the same place of the screen (fixed: a sticky header), is not repeated."""
    runs: list[_Run] = []
    by_text: dict[str, list[_Run]] = defaultdict(list)
    for frame, layer in zip(frames, layers):
        offset = float(frame.scroll_y)
        for line in layer.lines:
            if line.tag == "::marker" or line.text in _BULLETS:
                continue
            # a page that moved a little between two screenshots (an image loaded) is still the same page
            near = max(SAME_PLACE_PX, line.height / 2)
            seen = any(
                abs(run.line.x0 - line.x0) <= SAME_PLACE_PX
                and (abs(run.line.y0 - (line.y0 + offset)) <= near or abs(run.viewport_y - line.y0) <= near)
                for run in by_text[line.text])
            if not seen:
                run = _Run(line.model_copy(update={"y0": line.y0 + offset, "y1": line.y1 + offset}), line.y0)
                runs.append(run)
                by_text[line.text].append(run)
    return runs


def _body_size(lines: Sequence[ScreenLine]) -> float:
    """The font size most of the visit's characters have (median over characters)."""
    sizes = sorted((line.font_size, len(line.text)) for line in lines)
    half, seen = sum(n for _, n in sizes) / 2, 0
    for size, count in sizes:
        seen += count
        if seen >= half:
            return size
    return 0.0


def _rows(runs: list[_Run]) -> list[list[_Run]]:
    """Runs grouped into visual rows, top to bottom: a run joins the row of the run above it when their vertical
    centres are within half the taller one's height (a label beside a card title, a price beside its list price)."""
    rows: list[list[_Run]] = []
    anchor: ScreenLine | None = None  # the first run of the current row
    for run in sorted(runs, key=lambda r: (r.line.y0, r.line.x0)):
        line = run.line
        if anchor is not None and abs(line.y_center - anchor.y_center) <= max(1.0, max(line.height,
                                                                                         anchor.height) / 2):
            rows[-1].append(run)
        else:
            rows.append([run])
            anchor = line
    return [sorted(row, key=lambda r: r.line.x0) for row in rows]


def _style(line: ScreenLine, body: float) -> tuple[int, int, bool, bool]:
    """(heading level, marked font size, struck through, clickable) of a run."""
    level = _HEADINGS.get(line.tag, 1 if line.role == "heading" else 0)
    size = round(line.font_size) if not level and body and line.font_size >= SIZE_STANDS_OUT * body else 0
    clickable = line.role in ("button", "link") or line.tag in ("a", "button")
    return level, size, line.line_through, clickable


def _render(style: tuple[int, int, bool, bool], text: str) -> str:
    level, size, struck, clickable = style
    if struck:
        text = f"~~{text}~~"
    if clickable:
        text = f"[{text}]"
    if size:
        text = f"{{{size}px}}{text}"
    if level:
        text = "#" * level + " " + text
    return text


def render_row(row: Sequence[ScreenLine], body: float) -> str:
    """One visual row: runs of the same style close together are merged, then marked."""
    pieces: list[tuple[str, tuple, str]] = []  # (joiner before it, style, text)
    previous: ScreenLine | None = None
    for line in row:
        style = _style(line, body)
        close = previous is not None and line.x0 - previous.x1 <= CLOSE_RUNS * min(line.font_size,
                                                                                     previous.font_size)
        if close and pieces[-1][1] == style:
            pieces[-1] = (pieces[-1][0], style, f"{pieces[-1][2]} {line.text}")
        else:
            pieces.append(((" " if close else " | ") if pieces else "", style, line.text))
        previous = line
    return "".join(joiner + _render(style, text) for joiner, style, text in pieces)


def visit_rows(frames: Sequence[Frame], layers: Sequence[TextLayer]) -> list[Row]:
    """The rows of a visit (its frames and their text layers, in browsing order), top of the page first."""
    runs = _visit_runs(frames, layers)
    body = _body_size([run.line for run in runs])
    return [Row(render_row([run.line for run in row], body), min(run.viewport_y for run in row))
            for row in _rows(runs)]


class _Places:
    """Where rows of each text are (viewport y), to ask whether a row is among them."""

    def __init__(self, rows: Sequence[Row]) -> None:
        self.ys: dict[str, list[float]] = defaultdict(list)
        for row in rows:
            self.ys[row.text].append(row.viewport_y)

    def __contains__(self, row: Row) -> bool:
        return any(abs(y - row.viewport_y) <= SAME_PLACE_PX for y in self.ys.get(row.text, ()))


def _leading(rows: Sequence[Row], among: _Places) -> list[Row]:
    """The rows a visit starts with that are ``among`` the given ones."""
    lead = []
    for row in rows:
        if row not in among:
            break
        lead.append(row)
    return lead


def shared_rows(visits: Sequence[Sequence[Row]]) -> list[Row]:
    """The rows at the top of the page (a shop's header and menu, a breadcrumb) that at least half of the visits,
    and two or more, start with: the same text at the same place of the screen. In the order of the first visit
    that shows each. Rows further down stay where they are, whatever other pages show."""
    shared: list[Row] = [row for visit in visits for row in visit]
    for _ in range(len(shared) + 1):  # each round keeps fewer rows, or the same ones: then it is done
        places = _Places(shared)
        tops = [_leading(visit, places) for visit in visits]
        top_places = [_Places(top) for top in tops]
        kept: list[Row] = []
        kept_places = _Places([])
        for top in tops:
            for row in top:
                shown = sum(row in other for other in top_places)
                if row not in kept_places and shown >= 2 and 2 * shown >= len(visits):
                    kept.append(row)
                    kept_places.ys[row.text].append(row.viewport_y)
        if kept == shared:
            break
        shared = kept
    return shared


def split_shared(rows: Sequence[Row], shared: Sequence[Row]) -> tuple[list[Row], list[int]]:
    """A visit's rows after the shared rows it starts with, and the (0-based) numbers of those shared rows."""
    top = _leading(rows, _Places(shared))
    showed = _Places(top)
    return list(rows[len(top):]), [i for i, row in enumerate(shared) if row in showed]


def repeated_rows(visits: Sequence[Sequence[Row]]) -> list[str]:
    """Rows written more than once in a request (a buy button on every product page, a listing's sort bar, a
    footer, a row repeated further down the same page) that cost fewer tokens given once and referred to in
    place: the texts whose repeats are longer than the references to them, headings and text marked with its size
    (a title, a main price) left out. In order of first appearance."""
    counts: dict[str, int] = defaultdict(int)
    for visit in visits:
        for row in visit:
            if not row.text.startswith(("#", "{")):  # a heading or text that stands out stays where it is
                counts[row.text] += 1
    return [text for text, count in counts.items()
            if count > 1 and (count - 1) * len(text) > count * REFERENCE_CHARS + LISTED_CHARS]


def _reference(numbers: list[int]) -> str:
    """0-based row numbers in a run as the reference written in place: "(row 5)", "(rows 4-6)"."""
    return f"(row {numbers[0] + 1})" if len(numbers) == 1 else f"(rows {numbers[0] + 1}-{numbers[-1] + 1})"


def rows_text(rows: Sequence[Row], references: dict[str, int] | None = None) -> str:
    """The rows, one a line; a row of ``references`` (text -> its 0-based number) as a reference to it, a run of
    rows listed one after another as one reference to the run."""
    refs = references or {}
    text: list[str] = []
    run: list[int] = []  # consecutive references to consecutive rows, written as one: "(rows 4-6)"
    for row in rows[:MAX_ROWS]:
        number = refs.get(row.text)
        if number is not None and run and number == run[-1] + 1:
            run.append(number)
            continue
        if run:
            text.append(_reference(run))
        run = [] if number is None else [number]
        if number is None:
            text.append(row.text)
    if run:
        text.append(_reference(run))
    if len(rows) > MAX_ROWS:
        text.append(f"({len(rows) - MAX_ROWS} more rows left out)")
    return "\n".join(text)


def markup_line(layers: Sequence[TextLayer]) -> str | None:
    """The first markup of the visit that names a product, as one line; None when there is none (or the capture
    did not read it)."""
    facts = next((f for f in (markup_facts(layer.markup) for layer in layers if layer.markup) if not f.empty), None)
    if facts is None:
        return None
    parts = []
    if facts.name:
        parts.append(f"name {facts.name}")
    if facts.brand:
        parts.append(f"brand {facts.brand}")
    if facts.price is not None:
        parts.append(f"price {facts.price:g}{' ' + facts.currency if facts.currency else ''}")
    if facts.category_path:
        parts.append(f"category {' › '.join(facts.category_path)}")
    if facts.rating is not None:
        count = f" ({facts.rating_count} ratings)" if facts.rating_count is not None else ""
        parts.append(f"rating {facts.rating:g}{count}")
    return "page markup: " + "; ".join(parts)  # the prompt says what it is: what the HTML declares

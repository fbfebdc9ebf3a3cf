"""Reading page visits: the frames of one page, in browsing order, read together as one page.

A shopper scrolls: the title may be in one screenshot and the price in the next. Consecutive frames of the same
address are one visit; ``PageReader`` reads the visit's lines (each frame's text layer, or its OCR lines) with
each frame's scroll position, and the page's markup as evidence. The result is one ``FrameReading`` citing the
frames it came from, with the source of every field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urldefrag

from tools.lines import ScreenLine, TextLayer
from tools.perception import parsing
from tools.perception.page.markup import markup_facts
from tools.perception.page.reader import PageFacts, PageReader
from tools.perception.readings import FrameReading
from tools.schemas import Frame

_QUERY = re.compile(r"results?\s+for\s*[\"“'‘]?(.+?)[\"”'’]?\s*$", re.IGNORECASE)
_LABELLED_PAIR = re.compile(r"^\s*[•·*-]?\s*([^:]{2,30}):\s*(.{1,60})$")
MAX_SPECIFICATIONS = 20
_SPEC_HEADING = re.compile(r"^\W*(?:specifications?|technical details|product details|tech specs|"
                           r"technische daten|caractéristiques|especificaciones|specifiche)\W*$", re.IGNORECASE)
_COLUMN_GAP = 40.0  # px between a specification table's name and value columns, at least
# A chat role ("Assistant: ...", "System: ...") names who speaks, never a property of the product.
_NOT_A_SPECIFICATION = re.compile(r"price|sort|rating|showing|results|filter|^(?:assistant|system|user|ai|bot)$",
                                  re.IGNORECASE)


TextLayerLookup = Callable[[Frame], TextLayer | None]


ShiftLookup = Callable[[Frame, Frame], float | None]  # (earlier, later) -> px the page moved up, or None


@dataclass
class Visit:
    """The frames of one page visit in browsing order, with each frame's scroll position in page pixels."""

    frames: list[Frame]
    offsets: list[float] = field(default_factory=list)


def visits(frames: Sequence[Frame], shift: ShiftLookup | None = None) -> list[list[Frame]]:
    """Consecutive frames of one address (fragment ignored) are one visit; frames without an address (imported
    screenshots) are a visit each, unless ``shift`` finds them scrolled views of one page (``page_visits``)."""
    return [visit.frames for visit in page_visits(frames, shift)]


def page_visits(frames: Sequence[Frame], shift: ShiftLookup | None = None) -> list[Visit]:
    """``visits`` with scroll positions: a frame's recorded ``scroll_y``, or for frames without an address, the
    sum of the shifts ``shift`` measured between consecutive frames (the first at 0; moved so none is above the
    page's top). A frame without an address that ``shift`` does not place on the previous frame's page starts
    a new visit."""
    groups: list[Visit] = []
    for frame in frames:
        address = urldefrag(frame.url)[0] if frame.url else ""
        last = groups[-1] if groups else None
        if last is not None and address and urldefrag(last.frames[-1].url)[0] == address:
            last.frames.append(frame)
            last.offsets.append(float(frame.scroll_y))
            continue
        if last is not None and not address and shift is not None and not last.frames[-1].url:
            moved = shift(last.frames[-1], frame)
            if moved is not None:
                last.frames.append(frame)
                last.offsets.append(last.offsets[-1] + moved)
                continue
        groups.append(Visit([frame], [float(frame.scroll_y) if address else 0.0]))
    for group in groups:
        if not group.frames[0].url and (top := min(group.offsets)) < 0:
            group.offsets = [offset - top for offset in group.offsets]
    return groups


def _pairs(lines: Sequence[ScreenLine]) -> list[tuple[str, str]]:
    """Labelled pairs ('Material: leather') and, below a specifications heading, rows of a two-column table
    (a short name and one value to its right on the same row)."""
    pairs = []
    heading = next((line for line in lines if _SPEC_HEADING.match(line.text)), None)
    for line in lines:
        if (match := _LABELLED_PAIR.match(line.text)) is not None:
            pairs.append((match.group(1).strip(), match.group(2).strip()))
        elif heading is not None and line.y0 > heading.y1 and len(line.text) <= 30 and ":" not in line.text:
            right = [o for o in lines if o is not line and o.x0 - line.x1 > _COLUMN_GAP
                     and min(o.y1, line.y1) - max(o.y0, line.y0) > 0.5 * min(o.height, line.height)]
            if len(right) == 1 and len(right[0].text) <= 60:
                pairs.append((line.text.strip(), right[0].text.strip()))
    return pairs


def extras(reading: FrameReading, lines: Sequence[ScreenLine]) -> None:
    """Keywords any page may show, read line by line: promotions, the search query, price ranges (filters),
    labelled specifications ('Material: leather') and colours. A specification the page states twice with
    different values ('Colour: Black' in its table, 'Colour: Pink' elsewhere) is not trusted: it is dropped,
    and the colours then come from the title when it names one."""
    values: dict[str, set[str]] = {}
    for line in lines:
        text = line.text
        reading.promotions.extend(parsing.find_promotions(text))
        if reading.query is None and (match := _QUERY.search(text)) is not None:
            reading.query = match.group(1).strip()
        if (price_range := parsing.find_price_range(text)) is not None:
            reading.price_ranges.append(price_range)
    for name, value in _pairs(lines):
        if not parsing.find_prices(value) and not _NOT_A_SPECIFICATION.search(name):
            values.setdefault(name, set()).add(value)
    colours: set[str] = set()
    labelled: set[tuple[str, ...]] = set()  # the colour sets the page's colour labels state
    for name, found in values.items():
        if len(found) > 1:
            reading.specifications.pop(name, None)
            if "colo" in name.casefold():
                labelled.update(tuple(sorted(parsing.find_colours(v))) for v in found)
            continue
        value = next(iter(found))
        if len(reading.specifications) < MAX_SPECIFICATIONS:
            reading.specifications[name] = value
        if "colo" in name.casefold():
            colours.update(shown := parsing.find_colours(value))
            labelled.add(tuple(sorted(shown)))
    reading.promotions = sorted(set(reading.promotions))
    titled = parsing.find_colours(reading.title) if reading.title else []
    if not reading.colours:
        reading.colours = titled if titled and len(labelled) > 1 else sorted(colours) or titled


def to_reading(frame_id: str, facts: PageFacts) -> FrameReading:
    currency = facts.currency or ""
    reading = FrameReading(
        frame_id, kind=facts.kind, category_path=list(facts.category_path), title=facts.title, brand=facts.brand,
        price=parsing.Price(facts.price, currency) if facts.price is not None else None,
        list_price=facts.list_price, rating=facts.rating, rating_count=facts.rating_count,
        card_prices=[parsing.Price(a, currency) for a in facts.card_prices],
    )
    reading.sources = dict(facts.sources)
    return reading


def read_visit(reader: PageReader, frames: Sequence[Frame], layers: Sequence[TextLayer],
               offsets: Sequence[float] | None = None) -> FrameReading:
    """One visit's frames and their text layers (same order) -> one reading, cited by its first frame.
    ``offsets``: each frame's scroll position (default: the frames' recorded ``scroll_y``)."""
    views = [layer.lines for layer in layers]
    markup_raw = next((layer.markup for layer in layers if layer.markup), None)
    if offsets is None:
        offsets = [float(frame.scroll_y) for frame in frames]
    facts = reader.read_page(views, markup_facts(markup_raw) if markup_raw else None, offsets=list(offsets))
    reading = to_reading(frames[0].frame_id, facts)
    reading.visit_frame_ids = [frame.frame_id for frame in frames]
    for layer in layers:
        extras(reading, layer.lines)
    if reading.kind == "product":  # a search heading belongs to a results page, not to a product page
        reading.query = None
    return reading

"""Reading page visits: the frames of one page, in browsing order, read together as one page.

A shopper scrolls: the title may be in one screenshot and the price in the next. Consecutive frames of the same
address are one visit; ``PageReader`` reads the visit's lines (each frame's text layer, or its OCR lines) with
each frame's scroll position, and the page's markup as evidence. The result is one ``FrameReading`` citing the
frames it came from, with the source of every field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
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
_NOT_A_SPECIFICATION = re.compile(r"price|sort|rating|showing|results|filter", re.IGNORECASE)


TextLayerLookup = Callable[[Frame], TextLayer | None]


def visits(frames: Sequence[Frame]) -> list[list[Frame]]:
    """Consecutive frames of one address (fragment ignored) are one visit; frames without an address (imported
    screenshots) are a visit each."""
    groups: list[list[Frame]] = []
    for frame in frames:
        address = urldefrag(frame.url)[0] if frame.url else ""
        if groups and address and urldefrag(groups[-1][-1].url)[0] == address:
            groups[-1].append(frame)
        else:
            groups.append([frame])
    return groups


def extras(reading: FrameReading, lines: Sequence[ScreenLine]) -> None:
    """Keywords any page may show, read line by line: promotions, the search query, price ranges (filters),
    labelled specifications ('Material: leather') and colours."""
    colours: set[str] = set()
    for line in lines:
        text = line.text
        reading.promotions.extend(parsing.find_promotions(text))
        if reading.query is None and (match := _QUERY.search(text)) is not None:
            reading.query = match.group(1).strip()
        if (price_range := parsing.find_price_range(text)) is not None:
            reading.price_ranges.append(price_range)
        if (match := _LABELLED_PAIR.match(text)) is not None and len(reading.specifications) < MAX_SPECIFICATIONS:
            name, value = match.group(1).strip(), match.group(2).strip()
            if not parsing.find_prices(value) and not _NOT_A_SPECIFICATION.search(name):
                reading.specifications.setdefault(name, value)
                if "colo" in name.casefold():
                    colours.update(parsing.find_colours(value))
    reading.promotions = sorted(set(reading.promotions))
    if not reading.colours:
        reading.colours = sorted(colours) or (parsing.find_colours(reading.title) if reading.title else [])


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


def read_visit(reader: PageReader, frames: Sequence[Frame], layers: Sequence[TextLayer]) -> FrameReading:
    """One visit's frames and their text layers (same order) -> one reading, cited by its first frame."""
    views = [layer.lines for layer in layers]
    markup_raw = next((layer.markup for layer in layers if layer.markup), None)
    facts = reader.read_page(views, markup_facts(markup_raw) if markup_raw else None,
                             offsets=[float(frame.scroll_y) for frame in frames])
    reading = to_reading(frames[0].frame_id, facts)
    reading.visit_frame_ids = [frame.frame_id for frame in frames]
    for layer in layers:
        extras(reading, layer.lines)
    if reading.kind == "product":  # a search heading belongs to a results page, not to a product page
        reading.query = None
    return reading

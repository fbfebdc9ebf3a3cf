"""The offline screen reader: what the shopper saw, read by rules into a BehaviorSummary.

This is NOT a multimodal LLM. It stands in for one when no vision model is configured. It reads what was
visible: a frame's text layer (the page's own visible text, recorded by our browser with the screenshot) when
there is one, else OCR of the screenshot (RapidOCR); page markup, when recorded, is evidence beside it, never
instead of it. It never reads the catalog's records, and fills the same summary schema, citing the frames and
the source of each value. Frames with a text layer are read as page visits by ``tools.perception.page`` (rules for any
shop); frames with OCR only are read line by line by the rules below.
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Callable
from pathlib import Path

from tools.lines import TextLayer
from tools.perception import parsing
from tools.perception.colours import dominant_colour
from tools.perception.ocr import OcrLine, RapidOcrReader
from tools.perception.ocr_lines import screen_lines
from tools.perception.page.reader import PageReader
from tools.perception.page.visits import TextLayerLookup, read_visit, visits
from tools.perception.readings import FrameReading, summarise_readings
from tools.schemas import (
    BehaviorSummary,
    Frame,
)

log = logging.getLogger(__name__)

BACKEND_NAME = "offline-screen-reader (page text layer or RapidOCR + rule-based parsing; not an MLLM)"
_QUERY = re.compile(r"results?\s+for\s*[\"“'‘]?(.+?)[\"”'’]?\s*$", re.IGNORECASE)
# Where a product page shows no price, a notice like this sits in the price's place.
_UNAVAILABLE = re.compile(r"currently unavailable|out of stock|sold out|price not available", re.IGNORECASE)
_MAIN_PRICE_MIN_HEIGHT = 30  # px: a product page's price box is 34-38 px; a card price's 25-27 px
_SPEC_COLUMN_GAP = 40
VISIT_CACHE_SIZE = 5_000  # page visits whose readings are kept
_SOURCED = ("title", "brand", "price", "category_path", "rating", "rating_count")  # fields whose source is kept
_CATEGORY_MATCH = 0.45  # cosine similarity of title and category name needed to name a category
_NO_CRUMB_MIN_PRICE_HEIGHT = 30  # px between a specification's name and its value on the same row


def _compact(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.casefold())


def _match_vocabulary(text: str, vocabulary: dict[str, str], cutoff: float = 0.82) -> str | None:
    """The vocabulary entry closest to ``text`` (keys are case-folded), tolerating OCR slips."""
    key = text.casefold().strip()
    if key in vocabulary:
        return vocabulary[key]
    close = difflib.get_close_matches(key, list(vocabulary), n=1, cutoff=cutoff)
    return vocabulary[close[0]] if close else None


class OfflineScreenReader:
    """Summarise screenshots of a shop by OCR. ``brands`` and ``categories`` are the catalog's vocabulary,
    used to correct OCR slips in names that the screens show."""

    name = BACKEND_NAME

    def __init__(self, brands: list[str], categories: list[str], ocr: RapidOcrReader | None = None,
                 text_layers: TextLayerLookup | None = None) -> None:
        self.ocr = ocr or RapidOcrReader()
        self.text_layers = text_layers  # frame -> its text layer, when the capture recorded one
        self.pages = PageReader(brands=brands, categories=categories)
        self._visits: dict[tuple[str, ...], list[FrameReading]] = {}  # frame ids of a visit -> its readings
        self._brands = {b.casefold(): b for b in brands}
        self._categories = {c.casefold(): c for c in categories}
        self._compact_categories = {_compact(c): c for c in categories if _compact(c)}
        self._compact_keys = sorted(self._compact_categories, key=len, reverse=True)
        self._category_names: list[str] = []
        self._category_vectors = None  # embeddings of the category names, computed on first need

    def warm_up(self) -> None:
        """Load the OCR models and the category names' embeddings before the first screenshot needs them."""
        self.ocr.warm_up()
        self._category_embeddings()

    def _category_embeddings(self):  # noqa: ANN202
        if self._category_vectors is None:
            from catalog.embedding import embed_texts

            self._category_names = sorted(self._categories.values())
            self._category_vectors = embed_texts(self._category_names)
        return self._category_vectors

    def _classify(self, title: str) -> list[str]:
        """The catalog category whose name is closest in meaning to a title, for pages without a breadcrumb."""
        if not self._categories:
            return []
        from catalog.embedding import embed_texts

        scores = self._category_embeddings() @ embed_texts([title])[0]
        best = int(scores.argmax())
        return [self._category_names[best]] if scores[best] >= _CATEGORY_MATCH else []

    def _breadcrumb(self, text: str) -> list[str] | None:
        """Category names after 'Home'. OCR often drops the small '›' separators and even the spaces
        ('HomeWatchesWrist Watches'), so known category names are matched greedily, longest first, on the
        text with everything but letters and digits removed; unknown parts fall back to the separators."""
        compact = _compact(text)
        if not compact.startswith("home") or compact in self._compact_categories or _match_vocabulary(
            text, self._categories
        ):
            return None  # a category that starts with "Home" (a nav link: "Home Decor") is not a breadcrumb
        rest, found = compact[4:], []
        while rest:
            name = next((self._compact_categories[key] for key in self._compact_keys if rest.startswith(key)), None)
            if name is None:
                break
            found.append(name)
            rest = rest[len(_compact(name)):]
        if found and not rest:
            return found
        parts = parsing.breadcrumb(text)
        if parts and len(parts) > 1:
            return [_match_vocabulary(p, self._categories) or p for p in parts]
        return self._breadcrumb_words(text.split()[1:]) or found or None

    def _breadcrumb_words(self, words: list[str]) -> list[str]:
        """Greedy fuzzy match of known category names over words, for OCR slips ('Watchees')."""
        found: list[str] = []
        while words:
            for n in range(len(words), 0, -1):
                name = _match_vocabulary(" ".join(words[:n]), self._categories)
                if name:
                    found.append(name)
                    words = words[n:]
                    break
            else:
                break
        return found

    # -- one frame -------------------------------------------------------------------------------------
    def text_layer(self, frame: Frame) -> TextLayer | None:
        layer = self.text_layers(frame) if self.text_layers is not None else None
        return layer if layer is not None and layer.lines else None

    def read_frame(self, frame: Frame, interrupted: Callable[[], bool] | None = None) -> FrameReading:
        """``interrupted``: asked during OCR; when it says True, OcrInterrupted is raised (tools/perception/ocr.py)."""
        layer = self.text_layer(frame)
        if layer is not None:
            return self._with_catalog_names(read_visit(self.pages, [frame], [layer]))
        lines = self.ocr.read(Path(frame.path), sha256=frame.sha256, interrupted=interrupted)
        reading = self.parse_lines(frame.frame_id, lines)
        if reading.kind == "other":  # not a page these line rules know: read it as any shop's page
            general = self.read_ocr_lines(frame.frame_id, lines, Path(frame.path))
            if general.kind != "other":
                return general
        reading.sources = {name: "ocr" for name in _SOURCED if getattr(reading, name) not in (None, [], "")}
        if reading.kind == "product" and reading.photo_box is not None and Path(frame.path).is_file():
            try:
                reading.photo_colour = dominant_colour(Path(frame.path), reading.photo_box)
            except OSError as exc:  # unreadable image: the colour is optional
                log.debug("no photo colour for %s: %s", frame.frame_id, exc)
        return reading

    def read_text_layer(self, frame_id: str, layer: TextLayer) -> FrameReading:
        """One frame's text layer read as a page (what ``read_frame`` does when the frame has one)."""
        return self._with_catalog_names(read_visit(self.pages, [_bare_frame(frame_id)], [layer]))

    def read_ocr_lines(self, frame_id: str, lines: list[OcrLine], image: Path | bytes | None = None) -> FrameReading:
        """OCR lines read by the page rules for any shop (``tools.perception.page``), every field sourced "ocr";
        with the screenshot (``image``) the lines get the size, weight and roles its pixels show
        (``tools.perception.ocr_lines``)."""
        shared = screen_lines(lines, image if image is None or isinstance(image, bytes) or image.is_file() else None)
        return self._with_catalog_names(read_visit(self.pages, [_bare_frame(frame_id)], [TextLayer(lines=shared)]))

    def parse_lines(self, frame_id: str, lines: list[OcrLine]) -> FrameReading:
        reading = FrameReading(frame_id)
        crumb_line = None
        brands: set[str] = set()
        colours: set[tuple[str, ...]] = set()
        for line in lines:
            crumb = self._breadcrumb(line.text)
            if crumb and len(crumb) > len(reading.category_path):  # the fullest trail wins
                crumb_line = line
                reading.category_path = crumb
            if (brand := parsing.labelled(line.text, "brand")) is not None:
                brands.add(_match_vocabulary(brand, self._brands) or brand)
            for label in ("colour", "color"):
                if (colour := parsing.labelled(line.text, label)) is not None:
                    colours.add(tuple(parsing.find_colours(colour) or [colour.casefold()]))
            if (match := _QUERY.search(line.text)) is not None:
                reading.query = match.group(1).strip()
            reading.promotions.extend(parsing.find_promotions(line.text))
            if (price_range := parsing.find_price_range(line.text)) is not None:
                reading.price_ranges.append(price_range)
        # A field the screen states twice with different values ('Brand: X' in the page's own text) is not
        # trusted: the brand then comes from the title, the colours from the title or the specifications.
        reading.brand = brands.pop() if len(brands) == 1 else None
        reading.colours = list(colours.pop()) if len(colours) == 1 else []

        # The selling price: the tallest amount below the breadcrumb, with or without its currency sign.
        amounts = []
        for line in lines:
            if crumb_line is None or line.y0 < crumb_line.y1 or line.height < _MAIN_PRICE_MIN_HEIGHT:
                continue
            prices = parsing.find_prices(line.text)
            amount = parsing.bare_amount(line.text)
            if amount is None and not prices and parsing.find_discount(line.text) is not None:
                # The whole price row in one box, signs lost: '1,2992,69952% off' starts with the price.
                amount = parsing.card_price(line.text)
            if prices or amount is not None:
                amounts.append((line, prices[0] if prices else parsing.Price(amount, "INR")))
        # Currency-marked amounts win; a bare number (OCR dropped the sign) is used only when none is marked,
        # since product photos carry numbers too (a watch dial's "50").
        marked = [item for item in amounts if parsing.find_prices(item[0].text)]
        main = max(marked or amounts, key=lambda item: (item[0].height, -item[0].y0), default=None)
        if crumb_line is None:
            main, crumb_line = _product_without_breadcrumb(lines)
        elif not marked:  # no price shown: a notice in its place anchors the title; bare numbers are not prices
            notice = next((line for line in lines if line.y0 >= crumb_line.y1 and _UNAVAILABLE.search(line.text)),
                          None)
            main = (notice, None) if notice is not None else main
        if crumb_line is not None and main is not None:
            self._read_product(reading, lines, main, crumb_line)
            if not reading.category_path and reading.title:
                reading.category_path = self._classify(reading.title)
        else:
            card_prices = [parsing.card_price(line.text) for line in lines if line.height >= 18]
            card_prices = [amount for amount in card_prices if amount is not None and amount >= 20]
            if len(card_prices) >= 2:
                reading.kind = "listing"
                reading.card_prices = [parsing.Price(amount, "INR") for amount in card_prices]
        reading.promotions = sorted(set(reading.promotions))
        if reading.kind == "product":  # a search heading belongs to a results page, not to text on a product page
            reading.query = None
        return reading

    def _read_product(
        self, reading: FrameReading, lines: list[OcrLine], main: tuple[OcrLine, parsing.Price | None], crumb: OcrLine
    ) -> None:
        reading.kind = "product"
        price_line, reading.price = main
        # The struck list price follows the selling price on the same row, often without its currency sign.
        same_row = [line for line in lines if abs(line.y_center - price_line.y_center) < price_line.height]
        for line in same_row if reading.price is not None else []:
            others = parsing.find_prices(line.text)
            candidates = [p.amount for p in others if p.amount > reading.price.amount]
            leading = parsing.leading_amount(line.text) if line is not price_line else None
            if leading and leading > reading.price.amount:
                candidates.append(leading)
            if candidates:
                reading.list_price = max(candidates)
        # The title: the tallest text between the breadcrumb and the price (joined if it wraps).
        between = [
            line for line in lines
            if crumb.y1 <= line.y0 and line.y1 <= price_line.y0 + 4 and line.x1 > price_line.x0
            and not parsing.find_prices(line.text) and parsing.labelled(line.text, "brand") is None
            and parsing.find_rating(line.text) is None and parsing.find_rating_count(line.text) is None
        ]
        if between:
            tallest = max(line.height for line in between)
            title_lines = [line for line in between if line.height >= 0.8 * tallest]
            reading.title = " ".join(line.text for line in title_lines)
        for line in lines:
            if line.y0 < crumb.y1:
                continue
            if reading.rating is None and (rating := parsing.find_rating(line.text)) is not None:
                reading.rating = rating
                # The count is on the badge's line or beside it on the same row: '(1,234 ratings)'.
                row = [other for other in lines if abs(other.y_center - line.y_center) < line.height]
                counts = [parsing.find_rating_count(other.text) for other in [line, *row]]
                reading.rating_count = next((c for c in counts if c is not None), None)
        if reading.brand is None and reading.title:
            reading.brand = self._brand_of(reading.title)
        if not reading.colours and reading.title:
            reading.colours = parsing.find_colours(reading.title)
        reading.specifications = _specification_rows(lines, below=price_line.y1)
        if price_line.x0 > 200:  # a photo column to the left of the title and price
            reading.photo_box = (0, int(crumb.y1) + 4, int(price_line.x0) - 16, int(crumb.y1) + 480)
        for name, value in reading.specifications.items():
            if "colo" in name.casefold() and not reading.colours:
                reading.colours = parsing.find_colours(value)

    def _brand_of(self, title: str) -> str | None:
        """A catalog brand the title starts with (three words, then two, then one)."""
        first_words = title.split()
        for n in (3, 2, 1):
            brand = self._brands.get(" ".join(first_words[:n]).casefold())
            if brand:
                return brand
        return None

    def read_title(self, frame_id: str, title: str) -> FrameReading:
        """A product known only by its title (a weblog line, not a screen): the same brand, category and colour
        rules as a product page, so text-only and screenshot summaries differ only in what they were given."""
        return FrameReading(frame_id=frame_id, kind="product", title=title, brand=self._brand_of(title),
                            category_path=self._classify(title), colours=parsing.find_colours(title))

    def _with_catalog_names(self, reading: FrameReading) -> FrameReading:
        """A page's category trail in the catalog's names where they match (OCR slips and case forgiven); a page
        with no trail gets the catalog category closest in meaning to its title. Never the brand."""
        matched = [_match_vocabulary(crumb, self._categories) for crumb in reading.category_path]
        if any(matched):
            reading.category_path = [name for name in matched if name]
        elif reading.kind == "product" and reading.title:
            # A type the catalog does not have is mapped to the catalog category nearest in meaning, and the
            # source says so (an answer can then say which category stood in for what the shopper saw).
            seen = reading.category_path[-1] if reading.category_path else ""
            nearest = self._classify(f"{seen} {reading.title}".strip())
            if nearest:
                source = reading.sources.get("category_path") or reading.sources.get("title", "")
                reading.category_path = nearest
                reading.sources["category_path"] = f"{source}; nearest catalog category to '{seen}'" if seen \
                    else f"{source}; nearest catalog category to the title"
        if reading.brand and reading.category_path and reading.category_path[-1].casefold() == reading.brand.casefold():
            reading.category_path = reading.category_path[:-1]
        return reading

    def read_visits(self, frames: list[Frame]) -> list[FrameReading]:
        """One reading per page visit whose frames all have a text layer; frames without one are read alone,
        by OCR."""
        readings = []
        for visit in visits([frame for frame in frames if frame.duplicate_of is None]):
            key = tuple(frame.frame_id for frame in visit)
            if key not in self._visits:  # a live session re-reads only the visit that grew
                layers = [self.text_layer(frame) for frame in visit]
                if all(layer is not None for layer in layers):
                    self._visits[key] = [self._with_catalog_names(read_visit(self.pages, visit, layers))]
                else:
                    self._visits[key] = _one_main_product([self.read_frame(frame) for frame in visit])
                while len(self._visits) > VISIT_CACHE_SIZE:
                    self._visits.pop(next(iter(self._visits)))
            readings.extend(self._visits[key])
        return readings

    # -- a session ---------------------------------------------------------------------------------------
    def summarise(self, frames: list[Frame], previous: BehaviorSummary | None = None) -> BehaviorSummary:
        """Re-aggregates every frame; frames read before cost no OCR (the OCR cache), so ``previous`` is not
        needed to make an update cheap."""
        return summarise_readings(self.read_visits(frames), self.name)


def _one_main_product(readings: list[FrameReading]) -> list[FrameReading]:
    """A page visit shows one main product: the first one read, nearest the top of the page. A later frame of the
    same visit that reads as a different product is showing something else on that page (a 'related' row, a
    banner, text drawn into an image), so only its page-wide keywords are kept, not a product."""
    main = next((reading for reading in readings if reading.kind == "product"), None)
    if main is None:
        return readings
    kept = []
    for reading in readings:
        if reading.kind == "product" and reading is not main and reading.title != main.title:
            reading = FrameReading(reading.frame_id, promotions=reading.promotions,
                                   specifications=reading.specifications, price_ranges=reading.price_ranges)
        kept.append(reading)
    return kept


def _bare_frame(frame_id: str) -> Frame:
    session, _, sequence = frame_id.rpartition(":")
    return Frame(frame_id=frame_id, session_id=session or frame_id, sequence=int(sequence) if sequence.isdigit() else 0,
                 path="", sha256="", captured_at=0.0)


def _product_without_breadcrumb(lines: list[OcrLine]) -> tuple[tuple | None, OcrLine | None]:
    """A page without a breadcrumb is a product page when one or two currency-marked prices stand out by size
    (a listing shows many of the same size). Returns the main price and a stand-in for the breadcrumb line,
    400 px above the price, from where the title is looked for."""
    marked = [(line, parsing.find_prices(line.text)[0]) for line in lines if parsing.find_prices(line.text)]
    if not marked:
        return None, None
    top = max(marked, key=lambda item: (item[0].height, -item[0].y0))
    peers = [item for item in marked if item[0].height >= 0.85 * top[0].height]
    if top[0].height < _NO_CRUMB_MIN_PRICE_HEIGHT or len(peers) > 2:
        return None, None
    # Listing cards often lose their currency sign to OCR: many bare prices mean a listing, not a product.
    if sum(parsing.card_price(line.text) is not None for line in lines if line.height >= 18) >= 3:
        return None, None
    anchor = max(0.0, top[0].y0 - 400)
    return top, OcrLine("", 0.0, anchor, 0.0, anchor, 1.0)


def _specification_rows(lines: list[OcrLine], below: float) -> dict[str, str]:
    """Highlights ('• Name: value') and two-column rows (name, value) below the price block."""
    rows: dict[str, str] = {}
    candidates = [line for line in lines if line.y0 > below]
    for line in candidates:
        match = re.match(r"^\s*[•·*-]\s*([^:]{2,30}):\s*(.+)$", line.text)
        if match:
            rows.setdefault(match.group(1).strip(), match.group(2).strip())
    heading = next((line for line in candidates if line.text.strip().casefold() == "specifications"), None)
    table = [line for line in candidates
             if heading is not None and line.y0 > heading.y1 and line.x0 >= heading.x0 - 20]
    for left in table:
        right = [
            line for line in table
            if line is not left and abs(line.y_center - left.y_center) < 0.6 * left.height
            and line.x0 - left.x1 > _SPEC_COLUMN_GAP
        ]
        if len(right) == 1 and len(left.text) <= 40 and not parsing.find_prices(left.text):
            rows.setdefault(left.text.rstrip(":"), right[0].text)
    return dict(list(rows.items())[:20])

"""The offline screen reader: what the shopper saw, read by rules into a BehaviorSummary.

This is NOT a multimodal LLM. It stands in for one when no vision model is configured. It reads what was
visible: a frame's text layer (the page's own visible text, recorded by our browser with the screenshot) when
there is one, else OCR of the screenshot (RapidOCR); page markup, when recorded, is evidence beside it, never
instead of it. It never reads the catalog's records, and fills the same summary schema, citing the frames and
the source of each value. Frames with a text layer are read as page visits by ``tools.perception.page`` (rules for any
shop). Screenshots without an address (imported) that overlap at one vertical shift are scrolled views of one
page and are read together the same way, by their OCR lines; a screenshot alone is read by the same page rules,
from its OCR lines (``tools.perception.ocr_lines`` estimates their size, weight, strike and roles from the pixels).

The product type comes from the page: its category trail, else its title's head noun phrase
(``tools.perception.product_type``), named as the catalog names it where the catalog has that kind (same head
noun), else as read; a type the catalog lacks is mapped to its nearest categories downstream.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from tools.lines import ScreenLine, TextLayer
from tools.perception import parsing
from tools.perception.ocr import OcrLine, RapidOcrReader
from tools.perception.ocr_lines import screen_lines, scroll_shift, visit_lines
from tools.perception.page.reader import PageReader
from tools.perception.page.visits import TextLayerLookup, Visit, page_visits, read_visit
from tools.perception.product_type import compact_text, lexical_matches, match_vocabulary, title_type, vocabulary_trail
from tools.perception.readings import FrameReading, summarise_readings
from tools.schemas import (
    BehaviorSummary,
    Frame,
)

log = logging.getLogger(__name__)

BACKEND_NAME = "offline-screen-reader (page text layer or RapidOCR + rule-based parsing; not an MLLM)"
VISIT_CACHE_SIZE = 5_000  # page visits whose readings are kept
OCR_MEMO_SIZE = 64  # screenshots whose OCR lines are kept in memory (a visit's frames are read twice: shift, page)
_CATEGORY_MATCH = 0.45  # cosine similarity of title and category name needed to name a category
SOURCED_FIELDS = ("title", "brand", "price", "category_path", "rating", "rating_count")  # fields whose source is kept


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
        self._ocr_memo: OrderedDict[str, list[OcrLine]] = OrderedDict()
        self._brands = {b.casefold(): b for b in brands}
        self._categories = {c.casefold(): c for c in categories}
        self._compact_names = {compact_text(c): c for c in categories if compact_text(c)}
        self._compact_keys = sorted(self._compact_names, key=len, reverse=True)
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

    def _classify(self, text: str, among: list[str] | None = None, threshold: float = _CATEGORY_MATCH) -> list[str]:
        """The catalog category (of ``among``, default all) closest in meaning to ``text``, if close enough."""
        if not self._categories:
            return []
        from catalog.embedding import embed_texts

        scores = self._category_embeddings() @ embed_texts([text])[0]
        allowed = set(among) if among is not None else None
        ranked = [i for i in scores.argsort()[::-1] if allowed is None or self._category_names[i] in allowed]
        return [self._category_names[ranked[0]]] if ranked and scores[ranked[0]] >= threshold else []

    def _type_of(self, title: str, brand: str | None) -> tuple[list[str], str]:
        """A product's type from its title, and how it was found: the head noun phrase as the catalog names it
        (of the categories with the same head noun, the closest in meaning), else the category closest in meaning
        to the title when close enough, else the phrase as read (a type the catalog may not have)."""
        phrase = title_type(title, brand)
        if phrase and (same_noun := lexical_matches(phrase, self._category_names_list())):
            return self._classify(f"{phrase} {title}", among=same_noun, threshold=-1.0), \
                f"the catalog's category for the title's '{phrase}'"
        if nearest := self._classify(title):
            return nearest, "nearest catalog category to the title"
        return ([phrase], "the title's head noun (not a catalog category)") if phrase else ([], "")

    def _category_names_list(self) -> list[str]:
        return sorted(self._categories.values())

    # -- one frame -------------------------------------------------------------------------------------
    def text_layer(self, frame: Frame) -> TextLayer | None:
        layer = self.text_layers(frame) if self.text_layers is not None else None
        return layer if layer is not None and layer.lines else None

    def read_frame(self, frame: Frame, interrupted: Callable[[], bool] | None = None) -> FrameReading:
        """``interrupted``: asked during OCR; when it says True, OcrInterrupted is raised (tools/perception/ocr.py)."""
        layer = self.text_layer(frame)
        if layer is not None:
            return self._with_catalog_names(read_visit(self.pages, [frame], [layer]))
        lines = self._ocr(frame, interrupted)
        return self.read_ocr_lines(frame.frame_id, lines, Path(frame.path))

    def read_text_layer(self, frame_id: str, layer: TextLayer) -> FrameReading:
        """One frame's text layer read as a page (what ``read_frame`` does when the frame has one)."""
        return self._with_catalog_names(read_visit(self.pages, [_bare_frame(frame_id)], [layer]))

    def read_ocr_lines(self, frame_id: str, lines: list[OcrLine], image: Path | bytes | None = None) -> FrameReading:
        """OCR lines read by the page rules for any shop (``tools.perception.page``), every field sourced "ocr";
        with the screenshot (``image``) the lines get the size, weight and roles its pixels show
        (``tools.perception.ocr_lines``)."""
        shared = screen_lines(lines, image if image is None or isinstance(image, bytes) or image.is_file() else None)
        reading = read_visit(self.pages, [_bare_frame(frame_id)], [TextLayer(lines=shared)])
        return self._with_catalog_names(self._with_ocr_trail(reading, shared))

    def _with_ocr_trail(self, reading: FrameReading, lines: list[ScreenLine]) -> FrameReading:
        """A product page whose trail OCR read without separators (so the page rules saw no trail): the first
        line near the top made of the catalog's category names after a root word (``vocabulary_trail``)."""
        if reading.kind != "product" or reading.category_path or not self._compact_keys:
            return reading
        for line in sorted(lines, key=lambda line: line.y0):
            if line.y0 > 400:
                break
            if trail := vocabulary_trail(line.text, self._compact_names, self._compact_keys):
                reading.category_path, reading.sources["category_path"] = trail, "ocr"
                break
        return reading

    def read_title(self, frame_id: str, title: str) -> FrameReading:
        """A product known only by its title (a weblog line, not a screen): the same brand, category and colour
        rules as a product page, so text-only and screenshot summaries differ only in what they were given."""
        brand = self._brand_of(title)
        return FrameReading(frame_id=frame_id, kind="product", title=title, brand=brand,
                            category_path=self._type_of(title, brand)[0], colours=parsing.find_colours(title))

    def _brand_of(self, title: str) -> str | None:
        """A catalog brand the title starts with (three words, then two, then one)."""
        first_words = title.split()
        for n in (3, 2, 1):
            if brand := self._brands.get(" ".join(first_words[:n]).casefold()):
                return brand
        return None

    def _with_catalog_names(self, reading: FrameReading) -> FrameReading:
        """A page's category trail in the catalog's names where they match (OCR slips and case forgiven); a page
        with no trail gets the catalog category closest in meaning to its title. Never the brand."""
        matched = [match_vocabulary(crumb, self._categories) for crumb in reading.category_path]
        if any(matched):
            reading.category_path = [name for name in matched if name]
        elif reading.kind == "product" and reading.title and reading.category_path:
            # A trail the catalog does not have is mapped to the catalog category nearest in meaning, and the
            # source says so (an answer can then say which category stood in for what the shopper saw).
            seen = reading.category_path[-1]
            nearest = self._classify(f"{seen} {reading.title}")
            if nearest:
                source = reading.sources.get("category_path") or reading.sources.get("title", "")
                reading.category_path = nearest
                reading.sources["category_path"] = f"{source}; nearest catalog category to '{seen}'"
        elif reading.kind == "product" and reading.title:
            # No trail: the type the title names, in the catalog's words where the catalog has that kind, else as
            # read (tools/recommend then finds products by meaning and says the type is not a catalog category).
            found, how = self._type_of(reading.title, reading.brand)
            if found:
                source = reading.sources.get("title", "")
                reading.category_path = found
                reading.sources["category_path"] = f"{source}; {how}" if source else how
        if reading.brand and reading.category_path and reading.category_path[-1].casefold() == reading.brand.casefold():
            reading.category_path = reading.category_path[:-1]
        return reading

    def read_visits(self, frames: list[Frame]) -> list[FrameReading]:
        """One reading per page visit: a visit whose frames all have a text layer is read as one page; so is a
        visit of imported screenshots (no address) that scroll through one page, by their OCR lines. Frames of
        any other visit are read alone, by OCR, and only the visit's first product counts."""
        readings = []
        for visit in page_visits([frame for frame in frames if frame.duplicate_of is None], self._scroll_shift):
            key = tuple(frame.frame_id for frame in visit.frames)
            if key not in self._visits:  # a live session re-reads only the visit that grew
                layers = [self.text_layer(frame) for frame in visit.frames]
                if all(layer is not None for layer in layers):
                    self._visits[key] = [self._with_catalog_names(read_visit(self.pages, visit.frames, layers))]
                else:
                    scrolled = len(visit.frames) > 1 and not any(layers) and not visit.frames[0].url
                    page = self._read_ocr_visit(visit) if scrolled else None
                    self._visits[key] = [page] if page is not None else \
                        _one_main_product([self.read_frame(frame) for frame in visit.frames])
                while len(self._visits) > VISIT_CACHE_SIZE:
                    self._visits.pop(next(iter(self._visits)))
            readings.extend(self._visits[key])
        return readings

    def _read_ocr_visit(self, visit: Visit) -> FrameReading | None:
        """Screenshots of one page (placed by their scroll shifts) read together by the page rules from their
        OCR lines; None when that finds no product (the frames are then read one by one)."""
        images = [Path(frame.path) if Path(frame.path).is_file() else None for frame in visit.frames]
        views = visit_lines([self._ocr(frame) for frame in visit.frames], images)
        reading = read_visit(self.pages, visit.frames, [TextLayer(lines=v) for v in views], offsets=visit.offsets)
        reading = self._with_catalog_names(self._with_ocr_trail(reading, views[0] if views else []))
        return reading if reading.kind == "product" else None

    def _ocr(self, frame: Frame, interrupted: Callable[[], bool] | None = None) -> list[OcrLine]:
        """A frame's OCR lines, kept in memory for the few frames read again soon (a scroll shift, then the page)."""
        key = frame.sha256 or frame.path
        if (known := self._ocr_memo.get(key)) is not None:
            self._ocr_memo.move_to_end(key)
            return known
        lines = self.ocr.read(Path(frame.path), sha256=frame.sha256, interrupted=interrupted)
        self._ocr_memo[key] = lines
        while len(self._ocr_memo) > OCR_MEMO_SIZE:
            self._ocr_memo.popitem(last=False)
        return lines

    def _scroll_shift(self, before: Frame, after: Frame) -> float | None:
        """Pixels the page moved up between two imported screenshots of it, or None (``ocr_lines.scroll_shift``)."""
        if (before.width, before.height) != (after.width, after.height):
            return None  # another window or device: not one page scrolled
        if not Path(before.path).is_file() or not Path(after.path).is_file():
            return None
        return scroll_shift(self._ocr(before), self._ocr(after), float(after.height) or None)

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

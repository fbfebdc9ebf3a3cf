"""The screen reader's older rules for one OCR'd screenshot, line by line (the demo shop's layout family).

They read a product page as: a category trail after "Home", the tallest amount below it as the price, the
tallest text between the two as the title; a listing as several card prices. Pages these rules do not know are
read by the general page reader (``tools.perception.page``), which ``OfflineScreenReader`` tries as well.
"""

from __future__ import annotations

import difflib
import re

from tools.perception import parsing
from tools.perception.ocr import OcrLine
from tools.perception.readings import FrameReading

_QUERY = re.compile(r"results?\s+for\s*[\"“'‘]?(.+?)[\"”'’]?\s*$", re.IGNORECASE)
# Where a product page shows no price, a notice like this sits in the price's place.
_UNAVAILABLE = re.compile(r"currently unavailable|out of stock|sold out|price not available", re.IGNORECASE)
_MAIN_PRICE_MIN_HEIGHT = 30  # px: a product page's price box is 34-38 px; a card price's 25-27 px
_SPEC_COLUMN_GAP = 40
_NO_CRUMB_MIN_PRICE_HEIGHT = 30  # px: the least box height of the main price on a page without a breadcrumb


def compact_text(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.casefold())


def match_vocabulary(text: str, vocabulary: dict[str, str], cutoff: float = 0.82) -> str | None:
    """The vocabulary entry closest to ``text`` (keys are case-folded), tolerating OCR slips."""
    key = text.casefold().strip()
    if key in vocabulary:
        return vocabulary[key]
    close = difflib.get_close_matches(key, list(vocabulary), n=1, cutoff=cutoff)
    return vocabulary[close[0]] if close else None


class OcrLineRules:
    """Mixin: needs ``_brands`` and ``_categories`` (case-folded name -> name), ``_compact_categories``,
    ``_compact_keys`` and ``_classify(title)``."""

    _brands: dict[str, str]
    _categories: dict[str, str]
    _compact_categories: dict[str, str]
    _compact_keys: list[str]

    def _classify(self, title: str) -> list[str]:
        raise NotImplementedError

    def _breadcrumb(self, text: str) -> list[str] | None:
        """Category names after 'Home'. OCR often drops the small '›' separators and even the spaces
        ('HomeWatchesWrist Watches'), so known category names are matched greedily, longest first, on the
        text with everything but letters and digits removed; unknown parts fall back to the separators."""
        compact = compact_text(text)
        if not compact.startswith("home") or compact in self._compact_categories or match_vocabulary(
            text, self._categories
        ):
            return None  # a category that starts with "Home" (a nav link: "Home Decor") is not a breadcrumb
        rest, found = compact[4:], []
        while rest:
            name = next((self._compact_categories[key] for key in self._compact_keys if rest.startswith(key)), None)
            if name is None:
                break
            found.append(name)
            rest = rest[len(compact_text(name)):]
        if found and not rest:
            return found
        parts = parsing.breadcrumb(text)
        if parts and len(parts) > 1:
            return [match_vocabulary(p, self._categories) or p for p in parts]
        return self._breadcrumb_words(text.split()[1:]) or found or None

    def _breadcrumb_words(self, words: list[str]) -> list[str]:
        """Greedy fuzzy match of known category names over words, for OCR slips ('Watchees')."""
        found: list[str] = []
        while words:
            for n in range(len(words), 0, -1):
                name = match_vocabulary(" ".join(words[:n]), self._categories)
                if name:
                    found.append(name)
                    words = words[n:]
                    break
            else:
                break
        return found

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
                brands.add(match_vocabulary(brand, self._brands) or brand)
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

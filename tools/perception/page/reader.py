"""Reading a product page on any shop from its lines: the main product's title, price, brand and category.

The rules are about how product pages are built everywhere, never about one shop's HTML or CSS:
* the **title** is the most prominent heading-like text (an ``h1``, else the largest multi-word text);
* the **price** is the prominent price-like text near the title and the buy button; a struck-through amount or
  one after "was"/"RRP"/"M.R.P." is the list price; unit prices, instalments, delivery charges and savings are
  not the price, nor are the prices of rows after a "customers also bought" heading; a number without its sign
  (OCR often drops a small one) is a price on a sale row or in a card grid (``tools.perception.page.mentions``);
* the **brand** comes from a "Brand: X" label, a "Visit the X Store" or "by X" byline, a short link near the
  title that the title contains, ``itemprop=brand``, then the catalog's brand names at the title's start;
* the **category** from a breadcrumb trail (a row of links with separators), never from a brand.
Page markup (``MarkupFacts``) is evidence beside what was seen; ``markup_policy`` says how the two are weighed
(``tools.perception.page.evidence``), and every field records which source gave it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from tools.lines import ScreenLine
from tools.perception.page.evidence import MarkupPolicy, weigh_markup
from tools.perception.page.fields import CHROME, read_brand, read_breadcrumb, read_rating
from tools.perception.page.layout import Segment, body_font_size, join_wrapped, segments, source_of
from tools.perception.page.markup import MarkupFacts
from tools.perception.page.mentions import PRICE_ITEMPROPS, grid_amounts, mentions_of, page_currency
from tools.perception.page.prices import PriceMention, find_price_mentions

_BUY = re.compile(r"\b(?:add to (?:cart|bag|basket|trolley)|buy now|buy it now|in den warenkorb|jetzt kaufen|"
                  r"ajouter au panier|acheter|aggiungi al carrello|compra ora|añadir a la cesta|añadir al carrito|"
                  r"comprar|adicionar ao carrinho|adaugă în coș|dodaj do koszyka|do košíku|kosárba|"
                  r"в корзину|купить|sepete ekle|in winkelwagen|lägg i varukorgen|læg i kurv|legg i handlekurv)\b",
                  re.IGNORECASE)
_RELATED = re.compile(r"(?:customers (?:who|also)|also (?:bought|viewed|like)|you (?:may|might) (?:also )?like|"
                      r"similar (?:items|products)|related (?:items|products)|frequently bought|recommended for you|"
                      r"sponsored|kunden kauften|das könnte|ähnliche|vous aimerez|produits similaires|"
                      r"te puede interesar|productos similares|potrebbe piacerti|prodotti simili|"
                      r"recently viewed|zuletzt angesehen|inspiration|consider these|related to this|"
                      # "(visitors were) also interested in", in a few more languages
                      r"also interested|interessierten sich auch|huvitatud ka|kiinnostuneita myös|"
                      r"ook interessant|także zainteresowani|också intresserade)", re.IGNORECASE)
# "Brand: Acme", "Colour: Coffee Brown", "• Material: cotton": a field of the page (a short key and value) or a
# bullet of a specification list, not the product's title, however large OCR measures it.
_FIELD = re.compile(r"^\W{0,2}[^\W\d_][\w'’.-]*(?:\s[\w'’.-]+)?\s?[:：]\s*\S+(?:\s+\S+){0,3}$")
_BULLET = re.compile(r"^\s*[•·▪◦●■►✓✔]\s*")
_TITLE_PREFIX = re.compile(r"^\s*(?:details about|über|détails sur|dettagli su|detalles de)\s+", re.IGNORECASE)

SCROLL_STEP = 680.0  # px a shopper scrolls between two views (85% of an 800 px viewport), when not told
TITLE_CANDIDATES = 6
ORDER_BONUS = 1.5
ALIGN_BONUS = 0.5
ALIGN_REACH = 200.0  # px below the title
BARE_PROMINENCE = 1.3  # a bare amount set this many times the body size may be a price
BARE_ABOVE = 20.0  # px: beside the title's last line


class _Page:
    """The views of one page in page coordinates, with the page-wide facts the scores use."""

    def __init__(self, views: list[list[Segment]], offsets: list[float]) -> None:
        self.views = views
        self.offsets = offsets + [offsets[-1] if offsets else 0.0] * (len(views) - len(offsets))
        self.body = body_font_size([s for view in views for s in view])
        self.buttons = [self.y(v, s) for v, view in enumerate(views) for s in view if _BUY.search(s.text)]
        self.related = [self.y(v, s) for v, view in enumerate(views) for s in view
                        if len(s.text) < 80 and _RELATED.search(s.text)]

    def y(self, view: int, segment: Segment) -> float:
        return self.offsets[view] + segment.y0


@dataclass
class PriceCandidate:
    mention: PriceMention
    segment: Segment
    view: int
    score: float = 0.0


@dataclass
class PageFacts:
    """The main product of a page (or None where the page did not show it), each field with its source."""

    kind: str = "other"  # product | listing | other
    title: str | None = None
    brand: str | None = None
    price: float | None = None
    currency: str | None = None
    list_price: float | None = None
    category_path: list[str] = field(default_factory=list)
    rating: float | None = None
    rating_count: int | None = None
    sources: dict[str, str] = field(default_factory=dict)
    card_prices: list[float] = field(default_factory=list)  # prices of a listing (no main product)


class PageReader:
    """Reads pages into ``PageFacts``. ``brands`` (the catalog's) only help to find a brand at a title's start;
    a brand the catalog does not know is still read from labels and bylines."""

    def __init__(self, brands: Sequence[str] = (), categories: Sequence[str] = (),
                 markup_policy: MarkupPolicy = "confirmed") -> None:
        self._brands = {b.casefold(): b for b in brands if b}
        self._categories = list(categories)
        self.markup_policy = markup_policy

    # -- one page, one or more views ---------------------------------------------------------------------
    def read_page(self, views: Sequence[Sequence[ScreenLine]], markup: MarkupFacts | None = None,
                  offsets: Sequence[float] | None = None) -> PageFacts:
        """``views``: the lines of each screenshot of one page, in browsing order; ``offsets``: each view's
        scroll position in page pixels (default: each view 85% of a viewport below the one before)."""
        segs = [segments(view) for view in views]
        if offsets is None:
            offsets = [k * SCROLL_STEP for k in range(len(segs))]
        page = _Page(segs, list(offsets))
        facts = PageFacts()
        titles = self._titles(page)
        candidates = self._price_candidates(page)
        title, main = self._title_and_price(page, titles, candidates)
        if title is not None:
            text = join_wrapped(page.views[title[0]], title[1])
            facts.title, facts.sources["title"] = _TITLE_PREFIX.sub("", text.strip()), source_of(title[1])
        if main is not None:
            facts.price, facts.currency = main.mention.amount, main.mention.currency
            facts.sources["price"] = source_of(main.segment)
            facts.list_price = self._list_price(candidates, main)
        facts.brand, brand_source = read_brand(self._brands, segs, title, facts.title)
        if facts.brand:
            facts.sources["brand"] = brand_source
        facts.category_path = read_breadcrumb(segs, facts.title, facts.brand)
        if facts.category_path:
            facts.sources["category_path"] = source_of(segs[0][0]) if segs and segs[0] else "text-layer"
        read_rating(segs, facts)
        if markup is not None:
            weigh_markup(facts, markup, candidates, segs, self.markup_policy)
        # A product page shows its title with a price, or as a heading with a brand or a category trail; a grid
        # of prices without one standing out (by size, or below the title beside a buy button) is a listing.
        headed = title is not None and "heading" in title[1].roles and bool(facts.brand or facts.category_path)
        if _is_listing(page, candidates, main, title):
            facts.kind = "listing"
            facts.card_prices = [c.mention.amount for c in candidates if c.score > -1]
            if not facts.category_path and facts.title:
                facts.category_path = [facts.title]
                facts.sources["category_path"] = facts.sources.get("title", "")
            facts.title = facts.price = facts.currency = facts.list_price = facts.brand = None
            facts.rating = facts.rating_count = None
            for name in ("title", "price", "brand", "rating", "rating_count"):
                facts.sources.pop(name, None)
        elif facts.title and (facts.price is not None or headed):
            facts.kind = "product"
        return facts

    # -- title ---------------------------------------------------------------------------------------------
    def _titles(self, page: _Page) -> list[tuple[float, int, Segment]]:
        """Title candidates (score, view, segment), best first."""
        found = []
        for v, view in enumerate(page.views):
            continued = _continuations(view)
            for s in view:
                if id(s) in continued:
                    continue  # the second line of a wrapped title is part of the first
                words = re.findall(r"[^\W\d_]{2,}", s.text)
                if not words or len(s.text) > 220 or find_price_mentions(s.text) or _BUY.search(s.text) \
                        or CHROME.search(s.text) or _RELATED.search(s.text):
                    continue
                score = s.font_size / page.body
                if "h1" in s.tags:
                    score += 3.0
                elif "heading" in s.roles:
                    score += 0.6
                if "name" in s.itemprops:
                    score += 2.0
                if s.font_weight >= 600:
                    score += 0.2
                if len(words) < 2 and "h1" not in s.tags:
                    score -= 0.8
                if (_FIELD.match(s.text) or _BULLET.match(s.text)) and "h1" not in s.tags:
                    score -= 1.0
                if "link" in s.roles and "h1" not in s.tags:
                    score -= 0.5
                score -= 0.03 * v  # the top of the page first, gently: unstyled pages are long
                if score >= 1.25:
                    found.append((score, v, s))
        found.sort(key=lambda item: (-item[0], item[1], item[2].y0))
        return found[:TITLE_CANDIDATES]

    def _title_and_price(self, page: _Page, titles: list[tuple[float, int, Segment]],
                         candidates: list[PriceCandidate]) -> tuple[tuple[int, Segment] | None, PriceCandidate | None]:
        """The title and main price that go best together: a prominent title with a prominent price just
        below it, near the buy button, wins over a bigger heading that stands alone."""
        best: tuple[float, tuple[int, Segment] | None, PriceCandidate | None] = (float("-inf"), None, None)
        for title_score, v, segment in titles or [(0.0, -1, None)]:
            title = (v, segment) if segment is not None else None
            order = self._order_after(page, candidates, title)
            priced = [(c.score + self._proximity(page, c, title) + order.get(id(c), 0.0), c)
                      for c in candidates if c.score > 0]
            price_score, price = max(priced, key=lambda item: (item[0], -item[1].view, -item[1].segment.y0),
                                     default=(0.0, None))
            total = title_score + max(0.0, price_score)
            if total > best[0]:
                best = (total, title, price if price_score > 0 else None)
        return best[1], best[2]

    # -- price ---------------------------------------------------------------------------------------------
    def _price_candidates(self, page: _Page) -> list[PriceCandidate]:
        currency = page_currency([m for view in page.views for s in view for m in find_price_mentions(s.text)])
        candidates: list[PriceCandidate] = []
        for v, view in enumerate(page.views):
            for s in view:
                for mention in mentions_of(s, view, currency):
                    c = PriceCandidate(mention, s, v)
                    c.score = self._price_score(c, page)
                    candidates.append(c)
            priced = [c.segment for c in candidates if c.view == v and c.score > -1]
            for s, mention in grid_amounts(view, priced, currency):
                c = PriceCandidate(mention, s, v)
                c.score = self._price_score(c, page)
                candidates.append(c)
        return candidates

    @staticmethod
    def _price_score(c: PriceCandidate, page: _Page) -> float:
        """How much a price looks like a product's main price, whatever the title (``_proximity`` adds that)."""
        m, s = c.mention, c.segment
        if m.list_price or s.line_through:
            return -1.0  # the list price, read separately
        if m.bare and s.font_size < BARE_PROMINENCE * page.body:
            return -2.0  # a number among others (a quantity, a count, a size), not a price
        score = 1.0 + min(3.0, 2.0 * max(0.0, s.font_size / page.body - 1.0))
        if s.font_weight >= 600:
            score += 0.4
        if any(p.casefold() in PRICE_ITEMPROPS for p in s.itemprops):
            score += 2.0
        if m.labelled:
            score += 1.0
        if m.unit_price or m.instalment or m.shipping or m.saving or m.threshold:
            score -= 3.0
        if len(s.text) > 60:  # a price inside a sentence ("free delivery over £50") is rarely the price
            score -= 1.0
        elif "link" in s.roles and len(re.findall(r"[^\W\d_]{3,}", s.text)) >= 2:
            score -= 1.0  # a link that names a price among words ("2 shirts for £20") leads elsewhere
        y = page.y(c.view, s)
        if any(abs(b - y) < 450 for b in page.buttons):
            score += 1.0
        return score

    @staticmethod
    def _proximity(page: _Page, c: PriceCandidate, title: tuple[int, Segment] | None) -> float:
        """The main price sits just below (or beside) its title, before any "customers also bought" row."""
        if title is None:
            return 0.0
        title_y = page.y(title[0], title[1]) + title[1].height
        dy = page.y(c.view, c.segment) - title_y
        if any(title_y < r < title_y + dy for r in page.related):
            return -3.0
        in_column = abs(c.segment.x0 - title[1].x0) < title[1].font_size
        if c.mention.bare and not (-BARE_ABOVE <= dy <= ALIGN_REACH and in_column):
            return -10.0  # a bare number is the price only right under the title, in its column
        if -60 <= dy <= 700:
            # A buy box sets its title and price in one column: the same left edge, just below it.
            aligned = ALIGN_BONUS if in_column and dy <= ALIGN_REACH else 0.0
            return 2.5 * (1 - max(0.0, dy) / 700) + aligned
        y = title_y + dy
        if dy < -60 and any(y - 600 < r < y for r in page.related):
            return -3.0  # above the title, in a "consider these items" row
        return -0.8 if dy < -60 else -min(2.0, dy / 2000)

    @staticmethod
    def _order_after(page: _Page, candidates: list[PriceCandidate], title: tuple[int, Segment] | None
                     ) -> dict[int, float]:
        """The first price-like amount after the title (before any "customers also bought" row) is the main
        price on most pages, however far below it sits (unstyled or long pages stretch the distance)."""
        if title is None:
            return {}
        title_y = page.y(title[0], title[1])
        after = sorted(((page.y(c.view, c.segment), c) for c in candidates
                        if c.score > 0 and not c.mention.bare and page.y(c.view, c.segment) >= title_y - 60),
                       key=lambda item: item[0])
        bonus: dict[int, float] = {}
        for y, c in after:
            if any(title_y < r < y for r in page.related):
                break
            amount_first = after[0][1].mention.amount
            if c.mention.amount == amount_first or not bonus:
                bonus[id(c)] = ORDER_BONUS
            else:
                break
        return bonus

    @staticmethod
    def _list_price(candidates: list[PriceCandidate], main: PriceCandidate) -> float | None:
        # The list price a discount's arithmetic tied to the main price wins over other struck text on its row
        # (OCR's "¥99910%" beside "₹899" and "off" is 999 and 10%, not 99,910).
        tied = [c.mention.amount for c in candidates if c.segment is main.segment and c.mention.list_price]
        if tied:
            return max(tied)
        near = [c.mention.amount for c in candidates
                if c.view == main.view and (c.mention.list_price or c.segment.line_through)
                and abs(c.segment.y_center - main.segment.y_center) < 120 and c.mention.amount > main.mention.amount]
        return max(near) if near else None


def _continuations(view: list[Segment]) -> set[int]:
    """Segments that continue a heading from the line above (same size and tags, left-aligned, just below)."""
    found: set[int] = set()
    for i, s in enumerate(view):
        if "heading" not in s.roles:
            continue
        for p in reversed(view[max(0, i - 3):i]):
            if p.tags == s.tags and abs(p.font_size - s.font_size) < 0.5 and 0 <= s.y0 - p.y1 < 0.8 * s.font_size \
                    and abs(p.x0 - s.x0) < 2 * s.font_size and p.text != s.text:
                found.add(id(s))
                break
    return found


def _is_listing(page: _Page, candidates: list[PriceCandidate], main: PriceCandidate | None,
                title: tuple[int, Segment] | None) -> bool:
    """Three or more prices side by side on one row (a grid of cards), and no main price that stands out."""
    rows: dict[tuple[int, int], set[int]] = {}
    for c in candidates:
        if c.score > -1:
            rows.setdefault((c.view, round(c.segment.y_center / 6)), set()).add(round(c.segment.x0 / 40))
    grids = [key for key, xs in rows.items() if len(xs) >= 3]
    if not grids:
        return False
    # Carousels under a "customers also bought" heading below the main price (or the title, when no price was
    # found) are not the page's own grid.
    anchor = (main.view, main.segment) if main is not None else title
    if anchor is not None:
        anchor_y, anchor_row = page.y(*anchor), (anchor[0], round(anchor[1].y_center / 6))
        if anchor_row not in grids and all(any(anchor_y < r < page.offsets[v] + 6 * row for r in page.related)
                                           for v, row in grids):
            return False
    if main is None:
        return True
    others = sorted(c.segment.font_size for c in candidates if c is not main and c.score > -1)
    if others and main.segment.font_size >= 1.25 * others[len(others) // 2]:
        return False
    y = page.y(main.view, main.segment)
    near_buy = any(abs(b - y) < 450 for b in page.buttons)
    below_title = title is not None and -60 <= y - page.y(title[0], title[1]) <= 700  # or beside it
    return not (near_buy and below_title)


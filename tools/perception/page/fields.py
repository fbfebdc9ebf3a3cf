"""The fields of a product page besides its title and price: brand, category trail and rating.

Read from labels, bylines and layout that shops everywhere use ("Brand: X", "Visit the X Store", "by X", a short
heading above the title, a row of links with separators), never from one shop's markup or wording.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from tools.perception.page.layout import Segment, same_row, source_of
from tools.perception.page.markup import PLACEHOLDER
from tools.perception.page.prices import find_price_mentions

if TYPE_CHECKING:
    from tools.perception.page.reader import PageFacts

_BRAND_WORDS = (r"(?:brand|brand name|marke|marque|marca|merk|märke|marka|značka|márka|бренд|"
                          r"производитель|manufacturer|hersteller|fabricant|fabricante|producent|výrobce|designer|"
                          r"gyártó|producător|proizvajalec|kaubamärk|tootja|valmistaja|merkki|品牌|ブランド|"
                          r"מותג|الماركة|brand/manufacturer)")
_BRAND_LABEL = re.compile(rf"^\s*{_BRAND_WORDS}\s*(?:[:：]\s*(?P<value>.*)|$)", re.IGNORECASE)
# A table cell that ends with the label ("... Read more Brand:"), its value in the next cell of the row.
_BRAND_LABEL_END = re.compile(rf"\s{_BRAND_WORDS}\s*[:：]\s*$", re.IGNORECASE)
# Site furniture that is set as a heading on many shops: never a product's title.
CHROME = re.compile(r"cookie|consent|privacy|datenschutz|menu|menü|navigation|sign in|log ?in|account|basket|"
                     r"\bcart\b|warenkorb|panier|newsletter|covid|product details|description|reviews|"
                     r"customer|shipping|delivery|my list|wishlist|search|categor|specifi|technische daten|"
                     r"produktinformation|technical details|additional information|about this item|"
                     r"product information|sparen|\bsave\b|skip to|free\b", re.IGNORECASE)
_STORE_BYLINE = re.compile(r"(?:visit the (?P<a>.+?) store|besuchen sie den (?P<b>.+?)-store|"
                           r"visitez la boutique (?P<c>.+)|visita lo store di (?P<d>.+)|"
                           r"visita la tienda de (?P<e>.+)|bezoek de (?P<f>.+?)-winkel)", re.IGNORECASE)
_BY_LINE = re.compile(r"^\s*(?:by|von|de|di|por|od)\s*(?P<value>[A-ZÀ-ÖØ-Þ0-9][^\n]{0,40})$")
_ALL_CAPS_WORD = re.compile(r"^[A-ZÀ-ÖØ-Þ][A-ZÀ-ÖØ-Þ&'.-]+$")
_SEPARATORS = {"›", ">", "/", "|", "»", "→", "\\", "•", "·", "-", "›› "}
_RATING = re.compile(r"(?<![\d.,])(?P<value>[0-5](?:[.,]\d)?)\s*(?:(?:out of|von|sur|de|su|z|из|/)\s*5(?!\d)|[★☆]|"
                     r"stars?\b|sterne|étoiles|estrellas|stelle|gwiazd)|[★☆]\s*(?P<after>[0-5](?:[.,]\d)?)(?!\d)",
                     re.IGNORECASE)
_RATING_COUNT = re.compile(r"(?P<count>\d{1,3}(?:[.,  ]\d{3})*|\d+)\s*(?:global\s+)?(?:ratings?|reviews?|"
                           r"bewertungen|rezensionen|avis|évaluations|valoraciones|opiniones|recensioni|"
                           r"valutazioni|opinii|recenzí|értékelés|отзыв\w*|оцен\w*)", re.IGNORECASE)
# A carousel's heading ("Others also viewed", "Similar items") above the title is no brand.
_ROW_HEADING = re.compile(r"\b(?:also|similar|related|recommended|viewed|bought)\b", re.IGNORECASE)
_GENERIC_LINKS = {"home", "shop", "back", "new", "sale", "more", "details", "reviews", "share", "help"}







def read_brand(brands: dict[str, str], views: list[list[Segment]], title: tuple[int, Segment] | None,
               title_text: str | None) -> tuple[str | None, str]:
    """The brand and the source it was read from."""
    for view in views:
        for i, s in enumerate(view):
            if (match := _STORE_BYLINE.search(s.text)) is not None:
                value = next(g for g in match.groups() if g)
                return _clean_brand(value), source_of(s)
            if "brand" in {p.casefold() for p in s.itemprops} and not _BRAND_LABEL.match(s.text) \
                    and not PLACEHOLDER.fullmatch(s.text.strip()):
                return _clean_brand(s.text), source_of(s)
            match = _BRAND_LABEL.match(s.text)
            if (match is not None and len(s.text) < 80) or _BRAND_LABEL_END.search(s.text):
                value = (match.group("value") or "").strip() if match is not None else ""
                if not value:  # the label alone: its value is beside it (or below it, in a table)
                    beside = [o for o in same_row(view, s) if o.x0 > s.x1 and o.x0 - s.x1 < 400]
                    below = [o for o in view[i + 1:i + 3] if 0 <= o.y0 - s.y1 < 2 * s.height
                             and {"cell", "term"} & s.roles]
                    value = (min(beside, key=lambda o: o.x0).text if beside
                             else below[0].text if below else "")
                if value and len(value) <= 40:
                    return _clean_brand(value), source_of(s)
    if title is not None:
        tv, ts = title
        view = views[tv]
        index = view.index(ts)
        for s in view[index + 1:index + 4]:
            if (match := _BY_LINE.match(s.text)) is not None:
                return _clean_brand(match.group("value")), source_of(s)
        near = [s for s in view if s is not ts and abs(s.y_center - ts.y_center) < 160 and "link" in s.roles
                and 1 <= len(s.text.split()) <= 4 and len(s.text) >= 2]
        for s in sorted(near, key=lambda s: abs(s.y_center - ts.y_center)):
            name = s.text.strip()
            if name.casefold() not in _GENERIC_LINKS and _contains_words(ts.text, name) \
                    and len(name.split()) <= 3 and _norm(name) != _norm(ts.text):
                return _clean_brand(name), source_of(s)
        # A short heading set just above the title names the brand on many fashion shops (a repeat of the
        # title in between is skipped).
        before = [s for s in view[max(0, index - 3):index] if _norm(s.text) != _norm(ts.text)][-1:]
        top = min((s.y0 for s in view if _norm(s.text) == _norm(ts.text)), default=ts.y0)
        above = [s for s in before if 0 <= top - s.y1 < 2.5 * ts.height
                 and "heading" in s.roles and "list-item" not in s.roles and 1 <= len(s.text.split()) <= 4
                 and not CHROME.search(s.text) and not re.search(r"[›>/|»→]", s.text)
                 and not _ROW_HEADING.search(s.text) and not find_price_mentions(s.text)
                 and s.text.strip().casefold() not in _GENERIC_LINKS]
        if above:
            return _clean_brand(above[-1].text), source_of(above[-1])
    if title_text:
        words = title_text.split()
        for n in (3, 2, 1):
            brand = brands.get(" ".join(words[:n]).casefold())
            if brand:
                return brand, source_of(title[1]) if title else "text-layer"
        for crumb in read_breadcrumb(views, title_text, None)[1:]:
            if crumb.split() and title_text.casefold().startswith(crumb.split()[0].casefold()) \
                    and len(crumb) <= 30:
                return crumb, source_of(title[1]) if title else "text-layer"
        if len(words) >= 2 and _ALL_CAPS_WORD.match(words[0]) \
                and any(re.search(r"[a-zà-ÿ]", w) for w in words[1:]):
            return words[0], source_of(title[1]) if title else "text-layer"
    return None, ""


def read_breadcrumb(views: list[list[Segment]], title: str | None, brand: str | None) -> list[str]:
    """The longest row of two or more links joined by separators, in the first views."""
    best: list[str] = []
    for view in views[:3]:
        rows: list[list[Segment]] = []
        for s in view:
            if rows and rows[-1][0].overlaps_row(s):
                rows[-1].append(s)
            else:
                rows.append([s])
        for row in rows:
            crumbs = _crumbs(row)
            if len(crumbs) >= 2 and len(crumbs) > len(best):
                best = crumbs
    if title:
        best = [c for c in best if c.casefold() != title.casefold()]
    if brand and best and best[-1].casefold() == brand.casefold():
        best = best[:-1]  # a trail that ends in the brand's page: the brand is not a type
    return best


def read_rating(views: list[list[Segment]], facts: PageFacts) -> None:
    for view in views:
        for s in view:
            if facts.rating is None and (match := _RATING.search(s.text)) is not None:
                facts.rating = float((match.group("value") or match.group("after")).replace(",", "."))
                facts.sources["rating"] = source_of(s)
            if facts.rating_count is None and (match := _RATING_COUNT.search(s.text)) is not None:
                facts.rating_count = int(re.sub(r"\D", "", match.group("count")))
                facts.sources["rating_count"] = source_of(s)


def _norm(text: str) -> str:
    return re.sub(r"\W+", " ", text.casefold()).strip()


def _clean_brand(value: str) -> str:
    value = re.sub(r"^(?:brand|marke|marque|marca)\s*[:：]\s*", "", value.strip(), flags=re.IGNORECASE)
    return value.strip(" :-–|,.").strip()


def _contains_words(text: str, part: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(part.casefold())}(?!\w)", text.casefold()) is not None


def _crumbs(row: list[Segment]) -> list[str]:
    """Link texts of a breadcrumb row: links with separators between them (as runs, or inside the text)."""
    texts = [s.text.strip() for s in row]
    if len(row) == 1:
        parts = [p.strip() for p in re.split(r"\s[›>/|»→]\s|›|»|→", texts[0]) if p.strip()]
        enough = 2 if "link" in row[0].roles else 3
        return parts if len(parts) >= enough and all(len(p) <= 40 for p in parts) else []
    links = [s for s in row if "link" in s.roles]
    separated = sum(t in _SEPARATORS or t[:1] in "›>/|»→" for t in texts)
    if len(links) < 2 or (separated == 0 and not any(re.search(r"[›>/|»→]", t) for t in texts)):
        return []
    crumbs = []
    for s in links:
        for part in re.split(r"[›>/|»→]", s.text):
            part = part.strip()
            if part and len(part) <= 40:
                crumbs.append(part)
    return crumbs

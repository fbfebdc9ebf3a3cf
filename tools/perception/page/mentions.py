"""The price mentions of one segment, with what its row says about them.

A segment's own currency-marked amounts come first (``prices.find_price_mentions``). A number written alone is
a price only when the page says so around it, as shops everywhere do: a currency beside it ("€" "119,01"), an
``itemprop=price``, a strike through it (a list price), or a sale price's row: a struck amount or a
percentage off beside it, or the discount's arithmetic ("589 699 16% off": 589 is 16% below 699). The currency
sign is often a small glyph or an icon that OCR drops; such an amount takes the currency the page's other
prices carry (or none when none does).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace

from tools.perception.page.layout import Segment, same_row
from tools.perception.page.prices import (
    PriceMention,
    bare_amount,
    currency_only,
    discount_of,
    find_price_mentions,
)

PRICE_ITEMPROPS = {"price", "lowprice", "offers", "saleprice"}
# Signs OCR confuses with one another ("₹" read as "¥"): on a page whose prices mostly carry one, a lone other is it.
LOOKALIKE = {"INR": ("JPY", "CNY"), "JPY": ("INR", "CNY"), "CNY": ("INR", "JPY")}
_STRAY_SIGN = re.compile(r"^[^\x00-\x7f\d\s]\s?(\d(?:[\d.,]*\d)?)$")  # one glyph outside ASCII, then a number
_ROW_REACH = 2.5  # font sizes: how far beside an amount its row's struck price or percentage may sit
_PERCENT_OFF = re.compile(r"^\s*[-–]?\s?\d{1,2}\s?%(?:\s*(?:off|rabatt|de r[ée]duction|descuento|sconto))?\s*$",
                          re.IGNORECASE)


def mentions_of(s: Segment, view: list[Segment], currency: str = "") -> list[PriceMention]:
    """The price mentions ``s`` holds; ``view``: the segments of its screenshot; ``currency``: the page's."""
    text = ocr_signs(s.text) if s.runs and s.runs[0].source == "ocr" else s.text
    mentions = [replace(m, currency=currency) if currency and m.currency in LOOKALIKE.get(currency, ()) else m
                for m in find_price_mentions(text)]
    amount = bare_amount(s.text)
    first = mentions[0].amount if mentions else amount
    own = discount_of(s.text)
    if own is None and first is not None and (row := discount_of(_row_text(s, view))) is not None \
            and row.price == first:
        own = row  # "479" (or "₹479") beside a struck "2,199" and "78% off" (or OCR's "2,19978%")
    if own is not None:
        # The sale price and the list price the discount is taken from, in the currency either was written in.
        sign = next((m.currency for m in mentions if m.currency), currency)
        return [PriceMention(amount=own.price, currency=sign, start=0, end=len(s.text)),
                PriceMention(amount=own.list_price, currency=sign, start=0, end=len(s.text), list_price=True)]
    if mentions:
        return mentions
    stray = _STRAY_SIGN.match(s.text) if amount is None else None
    if stray is not None:
        # "天8,999", "平699": OCR read the currency sign as another glyph; the number is still bare.
        amount = bare_amount(stray.group(1))
    if amount is None:
        return []
    beside = [o for o in same_row(view, s) if min(abs(o.x0 - s.x1), abs(s.x0 - o.x1)) < _ROW_REACH * s.font_size]
    sign = next((c for o in beside if abs(o.x1 - s.x0) < 2 * s.font_size or abs(s.x1 - o.x0) < 2 * s.font_size
                 if (c := currency_only(o.text))), None)
    if sign is not None or s.line_through or any(p.casefold() in PRICE_ITEMPROPS for p in s.itemprops):
        # A split price, an itemprop=price amount, or a struck amount (a list price: its sign is often set apart
        # or lost to OCR).
        return [PriceMention(amount=amount, currency=sign or (currency if s.line_through else ""), start=0,
                             end=len(s.text))]
    if not s.line_through and any(_sale_row_mark(o) for o in beside):
        return [PriceMention(amount=amount, currency=currency, start=0, end=len(s.text))]
    if stray is None:
        return []  # a number alone: a size, a count, a step, a logo's digits (measured: no page gained by them)
    # A sign misread: a price only where the reader finds it prominent and right under the title (``bare``).
    return [PriceMention(amount=amount, currency=currency, start=0, end=len(s.text), bare=True)]


def _sale_row_mark(o: Segment) -> bool:
    """A struck amount or a percentage off: what stands beside a sale price."""
    if _PERCENT_OFF.match(o.text):
        return True
    return o.line_through and (bare_amount(o.text) is not None or bool(find_price_mentions(o.text))
                               or discount_of(o.text) is not None or re.match(r"^\W{0,2}\d", o.text) is not None)


def _row_text(s: Segment, view: list[Segment]) -> str:
    """``s`` and the segments that follow it closely on its row, as one text (OCR boxes of one price block)."""
    texts, last = [s.text], s
    for o in sorted((o for o in same_row(view, s) if o.x0 >= s.x1 - 2), key=lambda o: o.x0)[:3]:
        if o.x0 - last.x1 > _ROW_REACH * s.font_size:
            break
        texts.append(o.text)
        last = o
    return " ".join(texts)


# OCR models without Cyrillic read "б.р." (Belarusian roubles) after an amount as "6.p."; nothing else is written so.
_BYN_READ = re.compile(r"(?<=\d)\s?6\.\s?p\.?(?!\w)")


def ocr_signs(text: str) -> str:
    """An OCR line with the Latin lookalikes of currency signs after an amount put back."""
    return _BYN_READ.sub(" б.р.", text)


def page_currency(mentions: list[PriceMention]) -> str:
    """The currency most of a page's currency-marked amounts carry (three in five or more), else ""."""
    counts = Counter(m.currency for m in mentions if m.currency)
    if not counts:
        return ""
    code, n = counts.most_common(1)[0]
    return code if n >= 0.6 * sum(counts.values()) else ""


GRID_MIN_CELLS = 3
_PITCH_SLACK = 0.06  # share of the pitch by which a card's left edge may miss its column


def grid_amounts(view: list[Segment], priced: list[Segment], currency: str = "") -> list[tuple[Segment, PriceMention]]:
    """Bare amounts that are card prices: on a row of three or more amounts (priced segments or bare numbers) set
    at a regular horizontal pitch, each under a name left-aligned with it (a grid of product cards, whose price
    signs OCR dropped). ``priced``: the segments of ``view`` that already hold a price."""
    found: list[tuple[Segment, PriceMention]] = []
    taken = {id(s) for s in priced}
    bare = [s for s in view if id(s) not in taken and not s.line_through and bare_amount(s.text) is not None]
    for anchor in bare:
        if any(anchor is s for s, _ in found):
            continue
        cells = [s for s in [*priced, *bare] if s is anchor or s.overlaps_row(anchor)]
        cells = sorted({id(s): s for s in cells if _named(s, view)}.values(), key=lambda s: s.x0)
        if len(cells) < GRID_MIN_CELLS or not _regular([s.x0 for s in cells]):
            continue
        found += [(s, PriceMention(amount=bare_amount(s.text) or 0.0, currency=currency, start=0, end=len(s.text)))
                  for s in cells if id(s) not in taken and bare_amount(s.text) is not None
                  and not any(s is f for f, _ in found)]
    return found


def _named(s: Segment, view: list[Segment]) -> bool:
    """A line of words just above ``s`` and left-aligned with it (the card's product name)."""
    return any(re.search(r"[^\W\d_]{3}", o.text) and abs(o.x0 - s.x0) < s.font_size and 0 <= s.y0 - o.y1 < 4 * s.height
               for o in view if o is not s)


def _regular(xs: list[float]) -> bool:
    """Left edges at one pitch (a missing card leaves a gap of whole pitches)."""
    steps = [b - a for a, b in zip(xs, xs[1:], strict=False)]
    pitch = min(steps)
    if pitch < 40:
        return False
    return all(abs(step / pitch - round(step / pitch)) * pitch <= _PITCH_SLACK * pitch for step in steps)

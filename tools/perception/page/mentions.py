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
_ROW_REACH = 2.5  # font sizes: how far beside an amount its row's struck price or percentage may sit
_PERCENT_OFF = re.compile(r"^\s*[-–]?\s?\d{1,2}\s?%(?:\s*(?:off|rabatt|de r[ée]duction|descuento|sconto))?\s*$",
                          re.IGNORECASE)


def mentions_of(s: Segment, view: list[Segment], currency: str = "") -> list[PriceMention]:
    """The price mentions ``s`` holds; ``view``: the segments of its screenshot; ``currency``: the page's."""
    mentions = [replace(m, currency=currency) if currency and m.currency in LOOKALIKE.get(currency, ()) else m
                for m in find_price_mentions(s.text)]
    own = discount_of(s.text)
    if mentions:
        # "₹589 ₹699 16% off" in one segment: the higher amount the discount is taken from is the list price.
        if own is not None and len(mentions) >= 2:
            return [replace(m, list_price=True) if m.amount == own.list_price and not m.list_price else m
                    for m in mentions]
        return mentions
    amount = bare_amount(s.text)
    if own is None and amount is not None and (row := discount_of(_row_text(s, view))) is not None \
            and row.price == amount:
        own = row  # "479" beside a struck "2,199" and "78% off" (or OCR's "2,19978%")
    if own is not None:
        return [PriceMention(amount=own.price, currency=currency, start=0, end=len(s.text)),
                PriceMention(amount=own.list_price, currency=currency, start=0, end=len(s.text), list_price=True)]
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
    return []


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


def page_currency(mentions: list[PriceMention]) -> str:
    """The currency most of a page's currency-marked amounts carry (three in five or more), else ""."""
    counts = Counter(m.currency for m in mentions if m.currency)
    if not counts:
        return ""
    code, n = counts.most_common(1)[0]
    return code if n >= 0.6 * sum(counts.values()) else ""

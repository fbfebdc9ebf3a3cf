"""Page markup weighed against what the shopper saw: which of the two gives each field of ``PageFacts``.

Markup (JSON-LD, microdata, OpenGraph) is the shop's own declaration; the screens are what the shopper read. Neither
overrides the other silently: whichever wins, a different value that was seen (or declared) is kept beside it in
``facts.sources``, and every field says which source gave it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from tools.perception.page.layout import Segment
from tools.perception.page.markup import MarkupFacts

MarkupPolicy = Literal["ignore", "fallback", "confirmed", "markup-first"]
_SAME = 0.005  # two amounts closer than this are the same price


def weigh_markup(facts: Any, markup: MarkupFacts, candidates: Sequence[Any], views: Sequence[Sequence[Segment]],
                 policy: MarkupPolicy) -> None:
    """``fallback``: markup fills what the screens did not show. ``confirmed``: also, where both have a value
    and they differ, markup's wins if the shopper saw it too (its price among the prices on screen, its brand
    in the text; the default: it ties ``markup-first`` on the frozen development split of real pages and the extra
    development pages, and does not put a declared value the page never shows over what the shopper saw,
    docs/reading-real-shops.md). ``markup-first``: the shop's declared price and brand win whenever present.
    Whichever wins, a different value that was seen is kept beside it (``price_seen``, ``brand_seen`` in ``sources``).
    ``candidates`` are the reader's price candidates (``mention.amount``, ``score``)."""
    if policy == "ignore":
        return
    first = policy == "markup-first"
    if markup.price is not None:
        _weigh_price(facts, markup, candidates, policy)
    if markup.brand:
        seen_text = " ".join(s.text for view in views for s in view).casefold()
        seen = markup.brand.casefold() in seen_text
        if facts.brand is None or first or (policy == "confirmed" and seen
                                            and facts.brand.casefold() != markup.brand.casefold()):
            if facts.brand and facts.brand.casefold() != markup.brand.casefold():
                facts.sources["brand_seen"] = facts.brand
            facts.brand = markup.brand
            facts.sources["brand"] = "markup" if not seen else "markup+seen"
    if markup.name and facts.title is None:
        facts.title, facts.sources["title"] = markup.name, "markup"
    if markup.category_path and not facts.category_path:
        facts.category_path, facts.sources["category_path"] = list(markup.category_path), "markup"
    if facts.rating is None and markup.rating is not None:
        facts.rating, facts.sources["rating"] = markup.rating, "markup"


def _weigh_price(facts: Any, markup: MarkupFacts, candidates: Sequence[Any], policy: MarkupPolicy) -> None:
    declared = markup.price
    same = [c for c in candidates if abs(c.mention.amount - declared) < _SAME]
    seen = bool(same)
    differs = facts.price is not None and abs(facts.price - declared) >= _SAME
    # The page itself shows the declared amount only as something else (a list price, an opening bid, a delivery
    # charge): what the shopper saw as the price wins, and the declared amount is kept.
    if differs and seen and all(c.score <= 0 for c in same):
        facts.sources["price_markup"] = f"{declared:g} {markup.currency or ''}".strip()
        return
    if facts.price is None or policy == "markup-first" or (policy == "confirmed" and seen and differs):
        if differs:  # keep both: say what was seen
            facts.sources["price_seen"] = f"{facts.price:g} {facts.currency or ''}".strip()
        facts.price, facts.currency = declared, markup.currency or facts.currency
        facts.sources["price"] = "markup" if not seen else "markup+seen"
    elif not differs:  # both say the same: the field names both sources
        facts.sources["price"] = "markup+seen"
    else:  # the seen price stays; the declared one, never shown on the page, is kept beside it
        facts.sources["price_markup"] = f"{declared:g} {markup.currency or ''}".strip()

"""What the shopper asked for in words, turn by turn, and how it changes the optimiser's Constraints.

``Asked`` records each term as said, with the message (turn) it came from, so explanations cite it "as you
said" and never as something viewed. ``apply_request`` applies one parsed message (tools/recommend/request.py)
on top of the current Constraints, reusing the refinement rules of tools/recommend/preferences.py for budget,
brands, rating, count, "more like #N" and "start over", and adding the rules for free text
(docs/chat-relevance.md, "From words to constraints"):

* a product type said is a hard category filter; a new type keeps the recipient, budget, excluded brands and
  rating, and drops the colours, materials, size and type-relative price band of the old one;
* colours, materials, the recipient's gender, occasion and size are kept here; retrieval turns colour, material
  and gender into filters when the catalog records them for the products in question, boosts otherwise;
* "more premium" = prices from the upper third of the type in the catalog (and from the median on show);
  "not too expensive" = up to the type's median; "cheap" = up to its lower third; "cheaper" as before.
"""

from __future__ import annotations

import statistics

from pydantic import BaseModel, Field

from catalog.models import Product
from tools.recommend.catalog_terms import CatalogTerms
from tools.recommend.explain import money
from tools.recommend.preferences import PreferenceError, PreferenceUpdate, apply_update
from tools.recommend.request import ParsedRequest, parse
from tools.schemas import Constraints, Recommendation

PREMIUM_FROM = 2 / 3  # "more premium": from this quantile of the type's prices
MODERATE_UP_TO = 0.5  # "not too expensive": up to the median
CHEAP_UP_TO = 1 / 3  # "cheap": up to the lower third


def said(turn: int) -> list[str]:
    """The provenance of a term the shopper typed (explain.py cites it "as you said")."""
    return [f"said:{turn}"]


def said_now(constraints: Constraints, turn: int) -> frozenset[str]:
    """The constraints the shopper set in message ``turn``: when wishes conflict, the latest one holds."""
    now = f"said:{turn}"
    proof = constraints.provenance
    names = {"max_price", "min_price"} if now in proof.get("price", []) else set()
    if now in proof.get("min_rating", []):
        names.add("min_rating")
    if any(now in proof.get(f"brand:{b.casefold()}", []) for b in constraints.include_brands):
        names.add("include_brands")
    return frozenset(names)


class Said(BaseModel):
    value: str
    turn: int
    words: str = ""  # the shopper's words for it, when they differ


class Asked(BaseModel):
    """Every term the shopper asked for in words and still in force."""

    product_type: Said | None = None
    colours: list[Said] = Field(default_factory=list)
    materials: list[Said] = Field(default_factory=list)
    gender: Said | None = None
    occasion: Said | None = None
    size: Said | None = None
    search_words: list[Said] = Field(default_factory=list)
    price_band: str | None = None  # "premium", "moderate", "low": type-relative, dropped with the type
    base_query: str = ""  # the search words before any said term (e.g. from browsing)

    def terms(self) -> list[str]:
        """The words retrieval searches for besides the type."""
        out = [c.value for c in self.colours] + [m.value for m in self.materials] + [w.value for w in self.search_words]
        if self.gender:
            out.append(self.gender.value)
        if self.occasion and self.occasion.value != "Gift":
            out.append(self.occasion.value)
        return out


def in_catalog_currency(parsed: ParsedRequest, catalog: str | None) -> tuple[ParsedRequest, str | None]:
    """An amount said in another currency than the catalog's sets no budget (no exchange rate is known offline);
    the note says so and how to say it."""
    if not (parsed.currency and catalog and parsed.currency != catalog and
            (parsed.max_price is not None or parsed.min_price is not None)):
        return parsed, None
    amount = parsed.max_price if parsed.max_price is not None else parsed.min_price
    note = (f"the catalog's prices are in {catalog} and I know no exchange rate offline, so {amount:g} "
            f"{parsed.currency} sets no budget: say it in {catalog} (e.g. 'under 2500')")
    return parsed.model_copy(update={"min_price": None, "max_price": None, "currency": None}), note


def _legacy_update(parsed: ParsedRequest) -> PreferenceUpdate:
    return PreferenceUpdate(
        max_price=parsed.max_price, min_price=parsed.min_price, cheaper=parsed.price_move == "cheaper",
        only_brands=parsed.only_brands, exclude_brands=parsed.exclude_brands, exclude_colours=parsed.not_colours,
        another_colour=parsed.another_colour, min_rating=parsed.min_rating, k=parsed.k, like_rank=parsed.like_rank,
        reset=parsed.reset, objective=parsed.objective,
    )


def _query(asked: Asked) -> str:
    head = asked.product_type.value if asked.product_type else asked.base_query
    return " ".join(dict.fromkeys([head, *asked.terms()])).strip()


def apply_request(
    current: Constraints, asked: Asked, parsed: ParsedRequest, *, base: Constraints | None,
    shown: list[Recommendation], brands: list[str], products: dict[str, Product], terms: CatalogTerms, turn: int,
) -> tuple[Constraints, Asked, list[str], list[str]]:
    """New constraints and record of what was asked, the changes in words, and notes on what could not be used."""
    changes: list[str] = []
    notes: list[str] = []
    asked = Asked() if parsed.reset else asked.model_copy(deep=True)
    if parsed.reset:  # back to what was browsed, or to nothing: the old search words go too
        asked.base_query = base.query if base else ""
    elif not asked.base_query:
        asked.base_query = current.query
    legacy = _legacy_update(parsed)
    new = current
    if legacy.model_dump(exclude_defaults=True):
        new, changes = apply_update(current, legacy, base=base, shown=shown, brands=brands, products=products)
    new = new.model_copy(deep=True)
    proof = new.provenance
    for brand in new.include_brands if parsed.only_brands else []:
        proof[f"brand:{brand.casefold()}"] = said(turn)
    if parsed.max_price is not None or parsed.min_price is not None or parsed.price_move == "cheaper":
        proof["price"] = said(turn)
        # "cheaper" is relative to what is on show, so it goes with the type; an amount stays
        asked.price_band = "cheaper" if parsed.price_move == "cheaper" and parsed.max_price is None else None
    if parsed.min_rating is not None:
        proof["min_rating"] = said(turn)
    if parsed.like_rank is not None and new.categories:
        # #N's title becomes the search; what the shopper said about it (colour, material, recipient) still holds
        asked = Asked(colours=asked.colours, materials=asked.materials, gender=asked.gender,
                      occasion=asked.occasion, size=asked.size, base_query=new.query)

    new_type = parsed.categories or (parsed.type_how == "unknown" and parsed.product_type)
    if new_type and (not asked.product_type or set(new.categories) != set(parsed.categories)):
        # a different product: what described the old one goes, who it is for and the budget stay
        asked.colours, asked.materials, asked.size, asked.search_words = [], [], None, []
        new.preferred_colours = [] if not parsed.colours else new.preferred_colours
    if new_type and asked.price_band and parsed.price_move not in ("premium", "moderate", "low", "cheaper"):
        # a band relative to a type ("more premium") holds for that search only; naming a type starts another
        new.min_price = new.max_price = None
        asked.price_band = None
    if parsed.categories:
        new.categories = list(parsed.categories)
        asked.product_type = Said(value=parsed.product_type or parsed.categories[0], turn=turn)
        proof["categories"] = said(turn)
        how = "" if parsed.type_how == "lexicon" else f" (taking '{parsed.product_type}' as that)"
        changes.insert(0, f"looking for {', '.join(parsed.categories[:4])}{how}")
    elif parsed.type_how == "unknown" and parsed.product_type:
        new.categories = []
        asked.product_type = Said(value=parsed.product_type, turn=turn)
        notes.append(f"the catalog has no category for '{parsed.product_type}' (nearest: "
                     f"{', '.join(parsed.nearest)}): I searched by meaning instead")
        changes.append(f"searching for '{parsed.product_type}' by meaning")

    if "colour" in parsed.clear:
        new.preferred_colours, new.exclude_colours, asked.colours = [], [], []
        changes.append("any colour")
    if parsed.colours:
        asked.colours = [Said(value=c, turn=turn) for c in parsed.colours]
        new.preferred_colours = list(parsed.colours)
        new.exclude_colours = [c for c in new.exclude_colours if c not in parsed.colours]
        for colour in parsed.colours:
            proof[f"colour:{colour.casefold()}"] = said(turn)
        changes.append(f"in {' or '.join(parsed.colours)}")
    if parsed.materials:
        asked.materials = [Said(value=m, turn=turn) for m in parsed.materials]
        changes.append(f"made of {' or '.join(parsed.materials).lower()}")
    if parsed.gender or parsed.recipient:
        if parsed.gender:
            asked.gender = Said(value=parsed.gender, turn=turn, words=f"for {parsed.recipient}"
                                if parsed.recipient else "")
            changes.append(f"for {parsed.gender}" + (f" (your {parsed.recipient})" if parsed.recipient and
                                                     parsed.recipient not in (parsed.gender, "him", "her") else ""))
        else:
            notes.append(f"'for {parsed.recipient}' says nothing the catalog records (no gender or age): not used")
    if parsed.occasion:
        asked.occasion = Said(value=parsed.occasion, turn=turn)
        changes.append(f"for {parsed.occasion.lower()}" if parsed.occasion != "Gift" else "as a gift")
        if parsed.occasion == "Gift":
            notes.append("the catalog records nothing about gifts, so 'gift' does not change the list")
    if parsed.size:
        asked.size = Said(value=parsed.size, turn=turn)
        changes.append(f"size {parsed.size}")
    if parsed.search_words:
        asked.search_words = [Said(value=w, turn=turn) for w in parsed.search_words]
        changes.append(f"also searching for '{' '.join(parsed.search_words)}'")
    if "brand" in parsed.clear:
        new.include_brands, new.exclude_brands = [], []
        changes.append("any brand")
    if "price" in parsed.clear:
        new.min_price = new.max_price = None
        asked.price_band = None
        changes.append("any price")
    if parsed.price_move in ("premium", "moderate", "low"):
        changes.append(_price_band(new, asked, parsed.price_move, shown, terms, turn, notes))

    if not changes:
        raise PreferenceError("no change was asked for")
    if parsed.like_rank is None:
        new.query = _query(asked) or new.query
    return new, asked, changes, notes


def _price_band(new: Constraints, asked: Asked, move: str, shown: list[Recommendation], terms: CatalogTerms,
                turn: int, notes: list[str]) -> str:
    """Set a price band relative to the type's prices in the catalog; the sentence that says so."""
    currency = shown[0].currency if shown else "INR"
    kind = ", ".join(new.categories[:2]) or "the catalog"
    scope = f"of {kind} in the catalog" if new.categories else "of the catalog"
    asked.price_band = move
    new.provenance["price"] = said(turn)
    if move == "premium":
        band = terms.band(new.categories, PREMIUM_FROM, 1.0)
        if band is None:
            raise PreferenceError(f"no prices are recorded for {kind}, so 'more premium' has no reference")
        prices = [r.price for r in shown if r.price is not None]
        low = max(band[0], statistics.median(prices)) if prices else band[0]
        if new.max_price is not None and new.max_price < low:
            notes.append(f"your budget of {money(new.max_price, currency)} is below the premium band of {kind}: "
                         "I dropped it")
            new.max_price = None
        new.min_price = round(low, 2)
        return f"more premium: from {money(low, currency)} (the upper third {scope})"
    quantile = MODERATE_UP_TO if move == "moderate" else CHEAP_UP_TO
    band = terms.band(new.categories, 0.0, quantile)
    if band is None:
        raise PreferenceError(f"no prices are recorded for {kind}, so a price band has no reference")
    high = band[1] if new.max_price is None else min(band[1], new.max_price)
    new.max_price, new.min_price = round(high, 2), None
    label = "not too expensive" if move == "moderate" else "cheap"
    share = "the median" if move == "moderate" else "the lower third"
    return f"{label}: up to {money(high, currency)} ({share} {scope})"


def read_update(update: PreferenceUpdate, terms: CatalogTerms) -> ParsedRequest:
    """One ParsedRequest from a tool call: the shopper's words (``request``) read by the parser, and any
    structured field a chat model filled in on top (a set field wins)."""
    words = [update.request or ""]
    if update.product_type:
        words.append(update.product_type)
    words += [f"made of {m}" for m in update.materials]
    if update.recipient:
        words.append(f"for {update.recipient}")
    parsed = parse(" , ".join(w for w in words if w.strip()), terms)
    if update.query:  # an explicit search: a type when the catalog has it, else searched by meaning
        match = terms.resolve_type(update.query)
        parsed.product_type, parsed.categories = update.query, match.categories
        parsed.type_how, parsed.nearest = match.how, match.nearest
    for name in ("max_price", "min_price", "min_rating", "k", "like_rank", "objective"):
        if getattr(update, name) is not None:
            setattr(parsed, name, getattr(update, name))
    for name, target in (("only_brands", "only_brands"), ("exclude_brands", "exclude_brands"),
                         ("exclude_colours", "not_colours")):
        values = getattr(update, name)
        if values:
            setattr(parsed, target, list(dict.fromkeys([*getattr(parsed, target), *values])))
    if update.prefer_colours:
        parsed.colours = [c.strip().title() for c in update.prefer_colours if c.strip()]
    if update.cheaper:
        parsed.price_move = "cheaper"
    parsed.another_colour = parsed.another_colour or update.another_colour
    parsed.reset = parsed.reset or update.reset
    return parsed

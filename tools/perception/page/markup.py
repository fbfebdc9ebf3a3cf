"""What a page's product markup says (schema.org JSON-LD and microdata, OpenGraph), as evidence.

The raw markup is recorded by the capture stage (``tools.capture.page.markup``). Here it becomes ``MarkupFacts``:
the main product's name, brand, price and currency, category trail and rating, each with the syntax it came
from. Markup is what the shop declares, not what the shopper saw; the reader weighs the two (``page_reader``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from price_parser import Price as ParsedPrice

PLACEHOLDER = re.compile(r"\$\{?\w+\}?\$?|\{\{.*\}\}|%\w+%|\[\[.*\]\]|<%.*%>")


@dataclass
class MarkupFacts:
    name: str | None = None
    brand: str | None = None
    price: float | None = None
    currency: str | None = None
    category_path: list[str] = field(default_factory=list)
    rating: float | None = None
    rating_count: int | None = None
    sources: dict[str, str] = field(default_factory=dict)  # field -> "json-ld" | "microdata" | "opengraph"

    @property
    def empty(self) -> bool:
        return not (self.name or self.brand or self.price is not None or self.category_path)


def _text(value: Any) -> str | None:
    """A string out of schema.org's many shapes: 'X', {'name': 'X'}, {'@value': 'X'}, ['X', ...]."""
    if isinstance(value, list):
        return next((t for t in map(_text, value) if t), None)
    if isinstance(value, dict):
        return _text(value.get("name") or value.get("@value") or value.get("value"))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        text = " ".join(value.split())
        # An unfilled template placeholder ("$metabrand", "{{ brand }}", "%BRAND%") is no value.
        return None if not text or PLACEHOLDER.fullmatch(text) else text
    return None


def _amount(value: Any) -> float | None:
    text = _text(value)
    if text is None:
        return None
    try:
        amount = float(text)
    except ValueError:
        amount = ParsedPrice.fromstring(text).amount_float
    return amount if amount is not None and 0 < amount < 10_000_000 else None


def _offer_price(offers: Any) -> tuple[float | None, str | None]:
    """The first priced offer: price, lowPrice, or a priceSpecification's price."""
    for offer in offers if isinstance(offers, list) else [offers]:
        if not isinstance(offer, dict):
            continue
        specification = offer.get("priceSpecification")
        specifications = specification if isinstance(specification, list) else [specification]
        candidates = [offer.get("price"), offer.get("lowPrice")] + [
            s.get("price") for s in specifications if isinstance(s, dict)]
        currency = _text(offer.get("priceCurrency")) or next(
            (_text(s.get("priceCurrency")) for s in specifications if isinstance(s, dict) and s.get("priceCurrency")),
            None)
        for candidate in candidates:
            if (amount := _amount(candidate)) is not None:
                return amount, currency
        nested = offer.get("offers")
        if nested:
            amount, nested_currency = _offer_price(nested)
            if amount is not None:
                return amount, nested_currency or currency
    return None, None


def _types(item: dict[str, Any]) -> set[str]:
    kind = item.get("@type")
    return {str(k).rsplit("/", 1)[-1].casefold() for k in (kind if isinstance(kind, list) else [kind]) if k}


def _breadcrumb(item: dict[str, Any]) -> list[str]:
    elements = item.get("itemListElement")
    names = []
    for element in elements if isinstance(elements, list) else []:
        if isinstance(element, dict):
            name = _text(element.get("name")) or _text(element.get("item"))
            if name and not name.startswith("http"):
                names.append(name)
    return names


def markup_facts(raw: dict[str, Any] | None) -> MarkupFacts:
    """The facts of the first Product of JSON-LD, then microdata, then OpenGraph; each field from the first
    syntax that has it."""
    facts = MarkupFacts()
    if not raw:
        return facts

    def put(name: str, value: Any, source: str) -> None:
        if value not in (None, "", []) and getattr(facts, name) in (None, []):
            setattr(facts, name, value)
            facts.sources[name] = source

    for syntax in ("json-ld", "microdata"):
        for item in raw.get(syntax) or []:
            kinds = _types(item)
            if "breadcrumblist" in kinds:
                put("category_path", _breadcrumb(item), syntax)
                continue
            if not kinds & {"product", "productgroup", "individualproduct", "productmodel", "offer",
                            "aggregateoffer", "book", "car", "vehicle"}:
                continue
            put("name", _text(item.get("name")), syntax)
            put("brand", _text(item.get("brand")) or _text(item.get("manufacturer")), syntax)
            amount, currency = _offer_price(item.get("offers") if "offers" in item else item)
            put("price", amount, syntax)
            put("currency", currency, syntax)
            category = _text(item.get("category"))
            if category:
                put("category_path", [p.strip() for p in category.replace(">", "/").split("/") if p.strip()],
                    syntax)
            rating = item.get("aggregateRating")
            if isinstance(rating, dict):
                put("rating", _amount(rating.get("ratingValue")), syntax)
                count = _amount(rating.get("reviewCount") or rating.get("ratingCount"))
                put("rating_count", int(count) if count is not None else None, syntax)
    og = raw.get("opengraph") or {}
    put("name", _text(og.get("og:title")) if og.get("og:type", "").startswith("product") else None, "opengraph")
    put("brand", _text(og.get("product:brand") or og.get("og:brand")), "opengraph")
    put("price", _amount(og.get("product:price:amount") or og.get("og:price:amount")), "opengraph")
    put("currency", _text(og.get("product:price:currency") or og.get("og:price:currency")), "opengraph")
    return facts

"""Parsers for text read off shop screens: prices, discounts, ratings, labelled fields, colours, breadcrumbs.

They take OCR output, so they tolerate what OCR does to e-commerce text: a missing currency sign, a struck
list price glued to the discount ("2,49948% off"), "Rs." for "₹", odd spacing around separators.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CURRENCY = {"₹": "INR", "rs": "INR", "inr": "INR", "$": "USD", "usd": "USD", "€": "EUR", "eur": "EUR",
             "£": "GBP", "gbp": "GBP"}
# Grouped amounts end in a group of three ('12,499'; Indian '1,24,999'; Western '1,249,999'); '12,99' is not one.
# At most 12 integer digits, so an amount is always finite (a run of 400 digits is no price).
_NUMBER = (r"\d{1,3}(?:,\d{3}){2,3}(?:\.\d{1,2})?|\d{1,3}(?:[,\s]\d{2}){0,4}[,\s]\d{3}(?:\.\d{1,2})?"
           r"|\d{1,12}(?:\.\d{1,2})?")
_PRICE = re.compile(
    rf"(?P<cur>₹|rs\.?|inr|\$|usd|€|eur|£|gbp)\s*(?P<num>{_NUMBER})", re.IGNORECASE
)
_DISCOUNT = re.compile(r"(\d{1,2})\s*%\s*off", re.IGNORECASE)
_RATING = re.compile(r"(?<![\d.])([0-4](?:\.\d)?|5(?:\.0)?)\s*[★☆*]")  # 0 to 5 stars
_RATING_COUNT = re.compile(rf"\(?\s*({_NUMBER})\s*(?:ratings?|reviews?)\b", re.IGNORECASE)
_BREADCRUMB_SPLIT = re.compile(r"\s*[›»>]\s*")

COLOURS = (
    "black", "white", "blue", "navy blue", "red", "green", "yellow", "pink", "purple", "grey", "gray",
    "brown", "beige", "orange", "gold", "silver", "maroon", "olive", "cream", "multicolor", "multicolour",
    "off white", "teal", "turquoise blue", "khaki", "charcoal", "peach", "lavender", "magenta", "rose gold",
    "copper", "tan", "coffee brown", "mustard", "steel", "transparent",
)
PROMOTION_WORDS = ("deal", "offer", "sale", "free delivery", "cashback", "bestseller", "limited time", "coupon")


@dataclass(frozen=True)
class Price:
    amount: float
    currency: str


def _number(text: str) -> float:
    return float(re.sub(r"[,\s]", "", text))


def find_prices(text: str) -> list[Price]:
    """Every currency-marked amount in ``text``, in reading order."""
    prices = []
    for match in _PRICE.finditer(text):
        currency = _CURRENCY[match.group("cur").lower().rstrip(".")]
        prices.append(Price(_number(match.group("num")), currency))
    return prices


# OCR often loses the rupee sign on bold prices or reads it as one of these glyphs.
_CURRENCY_LIKE = r"(?:₹|rs\.?|inr|¥|平|羊|天|\$|€|£)"
_BARE_AMOUNT = re.compile(rf"^\s*{_CURRENCY_LIKE}?\s*({_NUMBER})\s*$", re.IGNORECASE)
# A card's price ends at a space, a (misread) currency sign, or where a glued list price's comma group starts.
_LEADING_AMOUNT = re.compile(
    rf"^\s*{_CURRENCY_LIKE}?\s*(\d{{1,3}}(?:,\d{{2,3}}){{1,4}}|\d{{2,7}})(?=$|\s|₹|¥|平|羊|天|\d{{1,3}},\d{{2,3}})",
    re.IGNORECASE,
)


def bare_amount(text: str) -> float | None:
    """A line that is only an amount, with or without a (possibly misread) currency sign: '1,395', '¥595'."""
    match = _BARE_AMOUNT.match(text)
    if not match or re.fullmatch(r"[0-5]\.\d", match.group(1)):  # '4.2' is a rating, not a price
        return None
    return _number(match.group(1))


def card_price(text: str) -> float | None:
    """The amount a listing card's price line starts with: '593平6255%off' -> 593, '899 999 10% off' -> 899.
    When OCR drops both the list price's sign and the space, the list price's comma group marks where the
    selling price ends: '5951,29554% off' -> 595."""
    match = _LEADING_AMOUNT.match(text)
    return _number(match.group(1)) if match else None


_RANGE = re.compile(
    rf"(?P<c1>{_CURRENCY_LIKE})?\s*(?P<low>{_NUMBER})\s*(?:-|–|—|to)\s*(?P<c2>{_CURRENCY_LIKE})?\s*(?P<high>{_NUMBER})",
    re.IGNORECASE,
)


def find_price_range(text: str) -> tuple[float, float] | None:
    """'₹500 - ₹1,500', 'Rs. 500 to 1,500', '$20–$45' -> (low, high); a currency sign must mark the range."""
    match = _RANGE.search(text)
    if not match or not (match.group("c1") or match.group("c2")):
        return None
    low, high = _number(match.group("low")), _number(match.group("high"))
    return (low, high) if low < high else None


def find_discount(text: str) -> int | None:
    match = _DISCOUNT.search(text)
    if match is None:
        return None
    if len(match.group(1)) == 2 and leading_amount(text) is not None:
        head = text[: match.start()]
        if not re.match(rf"\s*{_CURRENCY_LIKE}?\s*({_NUMBER})\s*$", head, re.IGNORECASE):
            return int(match.group(1)[1])  # glued one-digit discount, see leading_amount
    return int(match.group(1))


def leading_amount(text: str) -> float | None:
    """An unmarked amount at the start of a line, as OCR reads a struck-through list price: '2,49948% off'."""
    discount = _DISCOUNT.search(text)
    # The leftmost 'NN% off' match already starts at the discount's own digits ('2,499|48% off'), so the head
    # is the amount even when the two are glued; trimming the discount's digits again would cut a real amount
    # that ends in them ('1,999 9% off' -> 199).
    head = text[: discount.start()] if discount else text
    amount = re.compile(rf"\s*{_CURRENCY_LIKE}?\s*({_NUMBER})\s*$", re.IGNORECASE)
    match = amount.match(head)
    if match is None and discount is not None and len(discount.group(1)) == 2 and head.strip():
        # '12,9994% off': the regex took '94' as the discount; a one-digit discount leaves a valid amount.
        match = amount.match(text[: discount.start() + 1])
    return _number(match.group(1)) if match else None


def find_rating(text: str) -> float | None:
    match = _RATING.search(text)
    return float(match.group(1)) if match else None


def find_rating_count(text: str) -> int | None:
    match = _RATING_COUNT.search(text)
    return int(_number(match.group(1))) if match else None


def labelled(text: str, label: str) -> str | None:
    """The value of 'Label: value' (OCR may drop the colon or add spaces)."""
    match = re.match(rf"\s*{re.escape(label)}\s*[:;]?\s+(.+)$", text, re.IGNORECASE) or re.match(
        rf"\s*{re.escape(label)}\s*[:;]\s*(.+)$", text, re.IGNORECASE
    )
    return match.group(1).strip() if match else None


def breadcrumb(text: str) -> list[str] | None:
    """'Home › Watches › Wrist Watches' -> ['Watches', 'Wrist Watches']."""
    parts = [p.strip() for p in _BREADCRUMB_SPLIT.split(text) if p.strip()]
    if len(parts) >= 2 and parts[0].casefold() == "home":
        return parts[1:]
    return None


def find_colours(text: str) -> list[str]:
    """Colour words in ``text``; multi-word colours win over their parts ('navy blue', not 'blue')."""
    lowered = f" {text.casefold()} "
    found: list[str] = []
    for colour in sorted(COLOURS, key=len, reverse=True):
        seen = re.search(rf"(?<![a-z]){re.escape(colour)}(?![a-z])", lowered)
        if seen and not any(colour in longer for longer in found):
            found.append(colour)
    return found


def find_promotions(text: str) -> list[str]:
    lowered = text.casefold()
    found = [word for word in PROMOTION_WORDS if re.search(rf"\b{re.escape(word)}s?\b", lowered)]
    discount = find_discount(text)
    if discount is not None:
        found.append(f"{discount}% off")
    return found

"""Price-like text on any shop: amounts with a currency symbol or code, in any of the usual number formats.

The amount and currency of a match are read by ``price-parser`` (thousands and decimal separators of either
kind, "1.299,00 €", "$1,299", "15,-"); this module only finds where a price is written and what it says
around it (a list price's "was"/"RRP"/"M.R.P.", a unit price's "/kg", an instalment's "/month").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from price_parser import Price as ParsedPrice

# Symbols and codes; letters-only codes need word boundaries so "EUR" in "EUROPE" is not a currency.
_SYMBOLS = (r"US\$|C\$|CA\$|A\$|AU\$|NZ\$|R\$|S\$|HK\$|NT\$|[$€£¥₹₽₺₴₩₪₫฿₸₾₱]|Rs\.?|zł|Kč|руб\.?|грн\.?|"
            r"лв\.?|тг|ر\.س|د\.إ|ج\.م|元|円|원")
_CODES = (r"USD|EUR|GBP|INR|CAD|AUD|NZD|CHF|SEK|NOK|DKK|PLN|CZK|HUF|RON|RUB|UAH|TRY|BRL|MXN|JPY|CNY|AED|SAR|"
          r"ZAR|SGD|HKD|BGN|lei|Lei|LEI|kr|Ft|RSD|HRK|ISK")
_CURRENCY = rf"(?:{_SYMBOLS}|\b(?:{_CODES})\b\.?)"
_NUMBER = r"\d{1,3}(?:[.,  ' ]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?"
_PRICE = re.compile(
    rf"(?P<before>{_CURRENCY})\s?(?P<num1>{_NUMBER})(?:,-|\.-)?"
    rf"|(?P<num2>{_NUMBER})(?:,-|\.-)?\s?(?P<after>{_CURRENCY})"
)
_LIST_WORDS = re.compile(
    r"\b(?:was|rrp|m\.?r\.?p|list price|regular|reg\.|before|originally|uvp|statt|vorher|avant|prix de r[ée]f"
    r"|prix conseill[ée]|era|antes|prima|invece di|precio anterior|pre[țt] vechi|typical price|strike)\b",
    re.IGNORECASE)
_UNIT_WORDS = re.compile(r"(?:/|\bper\s|\bpro\s|\bje\s|\bpar\s)\s*(?:\d+\s*)?(?:kg|g|l|ml|m|m²|m2|cl|st|stk|piece|"
                         r"unit|item|oz|lb|100\s*g|100\s*ml)\b", re.IGNORECASE)
_INSTALMENT_WORDS = re.compile(r"(?:/\s*(?:mo|month|mth|monat|mois|mes)\b|\bper month\b|\bmonthly\b|\bmtl\b|"
                               r"\bx\s*\d+\s*(?:months|monate|mois|meses|rate)\b|\binstal?ments?\b|\brate\b)",
                               re.IGNORECASE)
# Word starts, so compounds count too ("Versandkosten", "Lieferkosten", "shipping-cost").
_SHIPPING_WORDS = re.compile(r"\b(?:shipping|delivery|deliver|postage|versand|liefer|livraison|frais de port|"
                             r"env[ií]o|spedizione|frete|transport|dostaw|doprav|verzend)", re.IGNORECASE)
_SAVING_WORDS = re.compile(r"\b(?:save|you save|saving|off|discount|économisez|sparen|sie sparen|ahorra|"
                           r"risparmi|rabatt|coupon|cashback|points?)\b", re.IGNORECASE)
_CODE_OF_SYMBOL = {"$": "USD", "US$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR", "Rs": "INR",
                   "Rs.": "INR", "₽": "RUB", "руб": "RUB", "руб.": "RUB", "₺": "TRY", "₴": "UAH", "грн": "UAH",
                   "zł": "PLN", "Kč": "CZK", "C$": "CAD", "CA$": "CAD", "A$": "AUD", "AU$": "AUD", "R$": "BRL",
                   "lei": "RON", "Lei": "RON", "LEI": "RON", "Ft": "HUF", "лв": "BGN", "лв.": "BGN", "₩": "KRW",
                   "₪": "ILS", "฿": "THB", "₫": "VND", "₸": "KZT", "тг": "KZT", "ر.س": "SAR", "د.إ": "AED",
                   "ج.م": "EGP", "元": "CNY", "円": "JPY", "원": "KRW", "NT$": "TWD", "₾": "GEL", "₱": "PHP",
                   "грн.": "UAH"}
MAX_AMOUNT = 10_000_000


@dataclass(frozen=True)
class PriceMention:
    """One price written in a text: amount, currency (ISO code when known) and what the words around it say."""

    amount: float
    currency: str
    start: int
    end: int
    list_price: bool = False  # "was", "RRP", "M.R.P." before it
    unit_price: bool = False  # "/kg", "per 100 g" after it
    instalment: bool = False  # "/month"
    shipping: bool = False  # a delivery charge
    saving: bool = False  # "save £20", "20 € off"


def _currency_code(symbol: str) -> str:
    symbol = symbol.strip()
    return _CODE_OF_SYMBOL.get(symbol, symbol.upper().rstrip("."))


def find_price_mentions(text: str) -> list[PriceMention]:
    """Every currency-marked amount in ``text``, in reading order."""
    mentions: list[PriceMention] = []
    for match in _PRICE.finditer(text):
        number = match.group("num1") or match.group("num2")
        symbol = match.group("before") or match.group("after")
        parsed = ParsedPrice.fromstring(number.replace(" ", " ").replace(" ", " "),
                                        decimal_separator=_decimal_separator(number))
        amount = parsed.amount_float
        if amount is None or not 0 < amount < MAX_AMOUNT:
            continue
        # Words before a price belong to it only back to the previous price ("was £450 now £399").
        before = text[max(mentions[-1].end if mentions else 0, match.start() - 24):match.start()]
        after = text[match.end():match.end() + 24]
        around = before + " " + after
        mentions.append(PriceMention(
            amount=round(amount, 2), currency=_currency_code(symbol), start=match.start(), end=match.end(),
            list_price=bool(_LIST_WORDS.search(before)), unit_price=bool(_UNIT_WORDS.match(after.lstrip())),
            instalment=bool(_INSTALMENT_WORDS.search(after[:16]) or _INSTALMENT_WORDS.search(before[-12:])),
            shipping=bool(_SHIPPING_WORDS.search(around)), saving=bool(_SAVING_WORDS.search(around)),
        ))
    return mentions


def _decimal_separator(number: str) -> str | None:
    """The decimal separator of a written number, when its shape tells: the last separator followed by one or
    two digits ('1.299,00', '19.99', '15,5'); a last group of three is thousands ('1,299', '1.299')."""
    match = re.search(r"[.,](\d+)$", number)
    if match is None:
        return None
    return number[match.start()] if len(match.group(1)) <= 2 else ("," if number[match.start()] == "." else ".")


def bare_amount(text: str) -> float | None:
    """A text that is only a number with up to two decimals ('399', '1.299,00'), as a split price writes its
    amount apart from its currency."""
    stripped = text.strip()
    if not re.fullmatch(_NUMBER, stripped):
        return None
    amount = ParsedPrice.fromstring(stripped, decimal_separator=_decimal_separator(stripped)).amount_float
    return amount if amount is not None and 0 < amount < MAX_AMOUNT else None


def currency_only(text: str) -> str | None:
    """The currency code of a text that is only a currency symbol or code ('€', 'EUR', 'lei')."""
    stripped = text.strip()
    return _currency_code(stripped) if re.fullmatch(_CURRENCY, stripped) else None

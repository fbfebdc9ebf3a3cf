"""Price-like text on any shop: amounts with a currency symbol or code, in any of the usual number formats.

The amount and currency of a match are read by ``price-parser`` (thousands and decimal separators of either
kind, "1.299,00 €", "$1,299", "15,-"); this module only finds where a price is written and what it says
around it (a list price's "was"/"RRP"/"M.R.P.", a unit price's "/kg", an instalment's "/month").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from price_parser import Price as ParsedPrice

# Symbols and codes; a letters-only code must not touch other letters ("EUR" in "EUROPE" is not a currency), but
# may touch its digits ("AED44.00", "44.00EUR"), as shops often write it.
_SYMBOLS = (r"US\$|C\$|CA\$|A\$|AU\$|NZ\$|R\$|S\$|HK\$|NT\$|[$€£¥₹₽₺₴₩₪₫฿₸₾₱]|Rs\.?|zł|Kč|руб\.?|грн\.?|"
            r"лв\.?|тг|б\.\s?р\.|ر\.س|د\.إ|ج\.م|元|円|원")
_CODES = (r"USD|EUR|GBP|INR|CAD|AUD|NZD|CHF|SEK|NOK|DKK|PLN|CZK|HUF|RON|RUB|UAH|TRY|BRL|MXN|JPY|CNY|AED|SAR|"
          r"ZAR|SGD|HKD|BGN|BYN|lei|Lei|LEI|kr|Ft|RSD|HRK|ISK")
_CURRENCY = rf"(?:{_SYMBOLS}|(?<![^\W\d_])(?:{_CODES})(?![^\W\d_])\.?)"
_NUMBER = r"\d{1,3}(?:[.,\u00a0\u202f' ]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?"
_PRICE = re.compile(
    rf"(?P<before>{_CURRENCY})\s?(?P<num1>{_NUMBER})(?:,-|\.-)?"
    rf"|(?<![^\W_])(?P<num2>{_NUMBER})(?:,-|\.-)?\s?(?P<after>{_CURRENCY})"  # not a word's end ("dummy1$")
)
_LIST_WORDS = re.compile(
    r"\b(?:was|rrp|m\.?r\.?p|list price|regular|reg\.|before|originally|uvp|statt|vorher|avant|prix de r[ée]f"
    r"|prix conseill[ée]|era|antes|prima|invece di|precio anterior|pre[țt] vechi|typical price|strike)\b"
    r"|原價|原价|定價|定价|市價|市价|定価|参考価格|希望小売価格|정가|소비자가",  # CJK "original price", no \b
    re.IGNORECASE)
_UNIT_WORDS = re.compile(r"(?:/|\bper\s|\bpro\s|\bje\s|\bpar\s)\s*(?:\d+\s*)?(?:kg|g|l|ml|m|m²|m2|cl|st|stk|szt|piece|"
                         r"unit|item|oz|lb|100\s*g|100\s*ml)\b", re.IGNORECASE)
_INSTALMENT_WORDS = re.compile(r"(?:/\s*(?:mo|month|mth|monat|mois|mes|mese)\b|\bper month\b|\bmonthly\b|\bmtl\b|"
                               r"\bx\s*\d+\s*(?:months|monate|mois|meses|rate)\b|\binstal?ments?\b|\brate\b)",
                               re.IGNORECASE)
# Word starts, so compounds count too ("Versandkosten", "Lieferkosten", "shipping-cost").
_SHIPPING_WORDS = re.compile(r"\b(?:shipping|delivery|deliver|postage|versand|liefer|livraison|frais de port|"
                             r"env[ií]o|spedizione|frete|transport|dostaw|doprav|verzend|доставк)|배송|運費|运费|送料|配送",
                             re.IGNORECASE)
# "Free delivery over £30", "Gifts under $100", "무료배송 9,800원 이상": a threshold, not a price.
_THRESHOLD_BEFORE = re.compile(r"\b(?:under|over|above|below|up to|less than|more than|orders? of|spend|min\.?|"
                               r"minimum|à moins de|moins de|plus de|dès|unter|über|bis zu|ab einem|hasta|más de|"
                               r"menos de|fino a|sotto i|oltre|sopra|до|powyżej|poniżej|nad|pod)\s*$", re.IGNORECASE)
_THRESHOLD_AFTER = re.compile(r"^\s*(?:or more|and (?:up|over|above)|und mehr|et plus|o más|e oltre|"
                              r"이상|以上|以下|이하)", re.IGNORECASE)
_FREE_WORDS = re.compile(r"\b(?:free|gratuit|gratuite|gratis|kostenlos|gratuito|gratuita|darmowa|zdarma|ingyenes|"
                         r"бесплатн\w*)|무료|免運|免运|送料無料", re.IGNORECASE)
# An auction's estimate and opening bid are not what the lot sells for; its current bid is ("$200 2 bids").
_ESTIMATE_WORDS = re.compile(r"\b(?:estimate[ds]?|estimation|starting (?:bid|price)|opening bid|start(?:ing)? at|"
                             r"schätz(?:preis|wert|ung)|startpreis|mindestgebot|mise à prix|prix de départ|stima|"
                             r"base d'asta|precio de salida|valor estimado)\b", re.IGNORECASE)
_BID_AFTER = re.compile(r"^\s*(?:\(?\d+\s*(?:bids?|gebote?|enchères?|ofertas|offerte|pujas)\b)", re.IGNORECASE)
# "Price: $87.11", "Preis 19,99 €": the page says which amount is the price.
_PRICE_LABEL = re.compile(r"(?:\b(?:price|our price|sale price|now|preis|unser preis|jetzt|prix|precio|prezzo|"
                          r"preço|cena|цена|pris|hinta|fiyat|ár|pret|preț|offer price|deal price)"
                          r"|價格|价格|価格|販売価格|售價|售价|특가|판매가|가격)\s*[:：]?\s*$", re.IGNORECASE)
_SAVING_WORDS = re.compile(r"\b(?:save|you save|saving|off|discount|économisez|sparen|sie sparen|ahorra|"
                           r"risparmi|rabatt|coupon|cashback|points?|gift card|geschenkkarte|gutschein|carte cadeau|"
                           r"tarjeta regalo|buono regalo)\b", re.IGNORECASE)
# "Total price: £116.94", "Prezzo totale": the sum of a "frequently bought together" bundle, not this product's.
_TOTAL_WORDS = re.compile(r"\b(?:total price|price for (?:all|both)|prezzo totale|gesamtpreis|prix total|"
                          r"precio total|totaalprijs)\b", re.IGNORECASE)
# "GBP 2.00 (approx. C $3.46)": the same amount in the shopper's currency; the words after it are the first's too.
_APPROX_BEFORE = re.compile(r"\(?\s*(?:approx\.?|approximately|ca\.|circa|environ|≈|~)\s*(?:[A-Z]{1,3}\s?)?$",
                            re.IGNORECASE)
_CODE_OF_SYMBOL = {"$": "USD", "US$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR", "Rs": "INR",
                   "Rs.": "INR", "₽": "RUB", "руб": "RUB", "руб.": "RUB", "₺": "TRY", "₴": "UAH", "грн": "UAH",
                   "zł": "PLN", "Kč": "CZK", "C$": "CAD", "CA$": "CAD", "A$": "AUD", "AU$": "AUD", "R$": "BRL",
                   "lei": "RON", "Lei": "RON", "LEI": "RON", "Ft": "HUF", "лв": "BGN", "лв.": "BGN", "₩": "KRW",
                   "₪": "ILS", "฿": "THB", "₫": "VND", "₸": "KZT", "тг": "KZT", "ر.س": "SAR", "د.إ": "AED",
                   "ج.م": "EGP", "元": "CNY", "円": "JPY", "원": "KRW", "NT$": "TWD", "₾": "GEL", "₱": "PHP",
                   "грн.": "UAH", "б.р.": "BYN", "б. р.": "BYN"}
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
    threshold: bool = False  # "free delivery over £30", "gifts under $100"
    labelled: bool = False  # "Price: $87.11"
    range_low: bool = False  # the first amount of a range ("352,00 – 376,45 б.р.")
    bare: bool = False  # a number alone, without a currency or anything else that marks it as a price


def _currency_code(symbol: str) -> str:
    symbol = symbol.strip()
    return _CODE_OF_SYMBOL.get(symbol, symbol.upper().rstrip("."))


def find_price_mentions(text: str) -> list[PriceMention]:
    """Every currency-marked amount in ``text``, in reading order (a range's first amount included)."""
    found: list[tuple[int, int, float, str]] = []  # start, end, amount, currency
    for match in _PRICE.finditer(text):
        number = match.group("num1") or match.group("num2")
        symbol = match.group("before") or match.group("after")
        amount = _parse(number)
        if amount is None:
            continue
        if match.group("num2") and (low := _RANGE_LOW.search(text[:match.start()])) is not None \
                and (low_amount := _parse(low.group("num"))) is not None and low_amount < amount:
            found.append((low.start("num"), low.end("num"), low_amount, "range"))
        found.append((match.start(), match.end(), amount, _currency_code(symbol)))
    mentions: list[PriceMention] = []
    for k, (start, end, amount, currency) in enumerate(found):
        range_low = currency == "range"
        if range_low:
            currency = found[k + 1][3]
        # Words around a price belong to it only up to the neighbouring prices ("was £450 now £399",
        # "$87.11 + $99.23 Shipping").
        before = text[max(found[k - 1][1] if k else 0, start - 24):start]
        after = text[end:min(found[k + 1][0] if k + 1 < len(found) else len(text), end + 24)]
        # "$19.99 FREE Shipping" is a price with free delivery, not a delivery charge.
        free_after = (m := _FREE_WORDS.search(after)) is not None and not _SHIPPING_WORDS.search(after[:m.start()])
        shipping = bool(_SHIPPING_WORDS.search(before)) or (bool(_SHIPPING_WORDS.search(after)) and not free_after)
        mentions.append(PriceMention(
            amount=round(amount, 2), currency=currency, start=start, end=end,
            list_price=bool(_LIST_WORDS.search(before)), unit_price=bool(_UNIT_WORDS.match(after.lstrip())),
            instalment=bool(_INSTALMENT_WORDS.search(after[:16]) or _INSTALMENT_WORDS.search(before[-20:])),
            shipping=shipping, saving=bool(_SAVING_WORDS.search(before + " " + after) or _TOTAL_WORDS.search(before)),
            threshold=bool(_THRESHOLD_BEFORE.search(before) or _THRESHOLD_AFTER.match(after)
                           or _ESTIMATE_WORDS.search(text[max(0, start - 24):start])
                           or (_FREE_WORDS.search(before) and not _PRICE_LABEL.search(before))),
            labelled=bool(_PRICE_LABEL.search(before) or _BID_AFTER.match(after)), range_low=range_low,
        ))
    for k in range(len(mentions) - 1, 0, -1):  # a conversion's flags are its original's
        nxt = mentions[k]
        if _APPROX_BEFORE.search(text[mentions[k - 1].end:nxt.start]):
            mentions[k - 1] = replace(mentions[k - 1], shipping=mentions[k - 1].shipping or nxt.shipping,
                                      unit_price=mentions[k - 1].unit_price or nxt.unit_price,
                                      instalment=mentions[k - 1].instalment or nxt.instalment)
    return mentions


_RANGE_LOW = re.compile(rf"(?P<num>{_NUMBER})\s?[–—-]\s?$")


def _parse(number: str) -> float | None:
    parsed = ParsedPrice.fromstring(number.replace("\u202f", " ").replace("\xa0", " "),
                                    decimal_separator=_decimal_separator(number))
    amount = parsed.amount_float
    return amount if amount is not None and 0 < amount < MAX_AMOUNT else None


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


# -- a sale price, its list price and the discount between them, written as bare numbers ------------------------
# Many shops set "₹589 ₹699 16% off" or "-16% 589 699" with the currency as a small glyph or an icon that OCR
# drops, and the detector glues the three into one box ("5491,09950% off"). The discount's arithmetic tells which
# digits are which: the pair whose reduction rounds to the percentage shown.
_PERCENT = re.compile(r"(\d)\s?%")
_CHUNK = re.compile(r"\d(?:[\d.,]*\d)?")
# Between the numbers: spaces and at most a currency or two stray glyphs (a misread sign, "平" for "₹").
_GAP = re.compile(rf"\s*(?:{_CURRENCY}|[^\s\d]{{0,2}})\s*")
_AFTER_PERCENT = re.compile(r"^\s*(?:off|rabatt|de r[ée]duction|descuento|sconto|korting|indirim|скидка|"
                            r"OFF|Off|\)|$)", re.IGNORECASE)
_STRICT_NUMBER = re.compile(r"[1-9]\d{0,2}(?:,\d{3})+(?:\.\d{1,2})?|[1-9]\d{0,2}(?:\.\d{3})+(?:,\d{1,2})?|"
                            r"[1-9]\d*(?:[.,]\d{1,2})?")
DISCOUNT_TOLERANCE = 1.0  # percentage points: shops round or cut the percentage they print


@dataclass(frozen=True)
class Discount:
    price: float
    list_price: float
    percent: int


def _strict(number: str) -> float | None:
    return _parse(number) if _STRICT_NUMBER.fullmatch(number) else None


def _agrees(price: float, list_price: float, percent: int) -> bool:
    return 0 < price < list_price and abs(100 * (1 - price / list_price) - percent) <= DISCOUNT_TOLERANCE


def discount_of(text: str) -> Discount | None:
    """A text made only of a sale price, a higher list price and the percentage off between them, with or without
    their currency and with any of the three glued together by OCR ("99 209 53% off", "5491,09950% off",
    "1,2394,99975% off"). None unless the numbers agree with the percentage in exactly one way."""
    match = _PERCENT.search(text)
    if match is None or not _AFTER_PERCENT.match(text[match.end():]):
        return None
    head = text[:match.end(1)]
    chunks = list(_CHUNK.finditer(head))
    if not chunks or len(chunks) > 3 or not _GAP.fullmatch(head[:chunks[0].start()]):
        return None
    if any(not _GAP.fullmatch(head[a.end():b.start()]) for a, b in zip(chunks, chunks[1:], strict=False)):
        return None
    words = [c.group() for c in chunks]
    found: set[tuple[float, float, int]] = set()
    for digits in (1, 2):
        last = words[-1]
        if len(last) < digits or not last[-digits:].isdigit():
            continue
        percent = int(last[-digits:])
        numbers = words[:-1] + ([last[:-digits]] if len(last) > digits else [])
        for a, b in _pairs(numbers, glued_last=len(last) > digits):
            if (price := _strict(a)) is not None and (high := _strict(b)) is not None and _agrees(price, high, percent):
                found.add((price, high, percent))
    if len(found) != 1:
        return None
    price, high, percent = found.pop()
    return Discount(price=round(price, 2), list_price=round(high, 2), percent=percent)


def _pairs(numbers: list[str], glued_last: bool) -> list[tuple[str, str]]:
    """The (price, list price) strings the numbers before a percentage can make: two apart as they are, or one
    string cut in two where OCR glued them."""
    if len(numbers) == 2:
        return [(numbers[0], numbers[1])]
    if len(numbers) == 1 and glued_last:
        word = numbers[0]
        return [(word[:i], word[i:]) for i in range(1, len(word)) if word[i - 1].isdigit() and word[i].isdigit()]
    return []

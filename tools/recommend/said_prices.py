"""Prices in a shopper's message: amounts ("under 1500", "2k", "between 500 and 900", "around ₹300"), the
currency said with them, and price moves in words ("cheaper", "not too expensive"). The request parser
(tools/recommend/request.py) consumes what these match."""

from __future__ import annotations

import re
from typing import Literal

PriceMove = Literal["cheaper", "premium", "moderate", "low"]

# An amount with the currency it may be said in: the catalog's own, or another one, which is named back to the
# shopper rather than read as the catalog's (no exchange rate is known offline).
AMOUNT = (r"(?:₹|rs\.?|inr|rupees?|us\$|\$|usd|€|eur|£|gbp)?\s*(\d[\d,]*(?:\.\d+)?)\s*"
           r"(k\b|thousand\b|lakhs?\b)?\s*(?:rupees?\b|rs\b\.?|inr\b|/-|dollars?\b|bucks\b|usd\b|euros?\b|"
           r"eur\b|gbp\b|quid\b)?")
CURRENCIES = {"USD": r"us\$|\$|\busd\b|\bdollars?\b|\bbucks\b", "EUR": r"€|\beur\b|\beuros?\b",
               "GBP": r"£|\bgbp\b|\bquid\b", "INR": r"₹|\brs\b|\binr\b|\brupees?\b"}
NOT_STARS = r"(?!\s*(?:stars?\b|\+|or more stars|products|options|items|results))"
BETWEEN = re.compile(rf"\b(?:between|from)\s+{AMOUNT}\s*(?:and|to|-)\s*{AMOUNT}{NOT_STARS}"
                      rf"|(?:₹|rs\.?\s?)(\d[\d,]*)\s*(?:-|to)\s*(?:₹|rs\.?\s?)?(\d[\d,]*)\b"
                      rf"|\b(\d{{3,}})\s*(?:-|to)\s*(\d{{3,}})\b{NOT_STARS}")
AROUND = re.compile(rf"\b(?:around|about|approx(?:imately)?|roughly|close to|near|somewhere around)\s*{AMOUNT}"
                     rf"{NOT_STARS}|~\s*{AMOUNT}")
MAX = re.compile(rf"\b(?:under|below|less than|cheaper than|up ?to|at most|max(?:imum)?|no more than|not more than|"
                  rf"within|budget(?: is)?(?: now)?(?: of)?(?: is)?|for less than|not over|not above|less then)\s*:?\s*"
                  rf"{AMOUNT}{NOT_STARS}|{AMOUNT}\s*(?:or less|max\b|or below|or under|at most|tops)")
MIN = re.compile(rf"\b(?:over|above|more than|at least|min(?:imum)?|starting (?:at|from)|upwards of|from)\s*"
                  rf"{AMOUNT}{NOT_STARS}|{AMOUNT}\s*(?:or more|and above|and up|plus)\b(?!\s*stars?)")
CURRENCY_ONLY = re.compile(r"(?:₹|\brs\.?\s?|\binr\s?|us\$|\$|€|£)(\d[\d,]*(?:\.\d+)?)\s*(k\b)?"
                            r"|\b(\d[\d,]*)\s*(?:rupees|/-|dollars|bucks|euros)\b")

MOVES: list[tuple[PriceMove, re.Pattern]] = [
    ("moderate", re.compile(r"\bnot (?:too|very|that|so|super|overly) (?:expensive|pricey|costly|dear)\b|"
                            r"\b(?:affordable|reasonabl[ey](?: priced)?|mid[- ]range|moderately priced|inexpensive|"
                            r"budget[- ]friendly|economical|value for money|pocket[- ]friendly)\b")),
    ("cheaper", re.compile(r"\b(?:cheaper|less expensive|lower[- ]priced?|too (?:expensive|pricey|costly)|more "
                           r"affordable|lower (?:budget|price)|less pricey|less costly|a bit less)\b")),
    ("premium", re.compile(r"\b(?:more premium|premium|pricier|more expensive|high[- ]end|luxury|luxurious|"
                           r"upmarket|up-market|fancier|classier|top[- ]end|splurge|higher[- ]end|costlier|"
                           r"better quality|more upscale|upscale)\b")),
    ("low", re.compile(r"\b(?:cheap|cheapest|lowest price|least expensive|budget)\b")),
]


def amount(number: str | None, unit: str | None) -> float | None:
    if not number:
        return None
    value = float(number.replace(",", ""))
    unit = (unit or "").casefold()
    return value * (100000 if unit.startswith("lakh") else 1000 if unit in ("k", "thousand") else 1)


def first_amount(m: re.Match) -> float | None:
    groups = m.groups()
    for i in range(0, len(groups) - 1, 2):
        if groups[i]:
            return amount(groups[i], groups[i + 1])
    return None


def said_currency(amounts: list[re.Match]) -> str | None:
    """The currency the shopper named with an amount, if any ("30 dollars" -> USD, "₹500" -> INR)."""
    for m in amounts:
        for code, pattern in CURRENCIES.items():
            if re.search(pattern, m.group(0)):
                return code
    return None

"""Text, number and CSV helpers shared by the demo-catalog source parsers (:mod:`catalog.sources.demo`)."""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path


def collapse_ws(text: str) -> str:
    """Collapse every run of whitespace (tabs, newlines, NBSP, U+2028 ...) to one space and strip."""
    return re.sub(r"\s+", " ", text.replace("\xa0", " ")).strip()


def cut_at_word(text: str, limit: int) -> str:
    """Cut ``text`` to at most ``limit`` characters at a word boundary, marking the cut with '...'."""
    if len(text) <= limit:
        return text
    head = text[: limit - 3]
    space = head.rfind(" ")
    if space > limit // 2:
        head = head[:space]
    return head.rstrip(" ,;:-") + "..."


def parse_number(text: str) -> float | None:
    """'1,299' / '₹1,299' / '899.0' -> float; anything else (empty, 'No rating available') -> None."""
    cleaned = text.replace("₹", "").replace(",", "").strip()
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))

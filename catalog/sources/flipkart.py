"""Flipkart rows for the demo catalog: category paths, the brand facet, specifications and descriptions.

Every Flipkart product that has a photo becomes one catalog row (``fk-<12 hex of uniq_id>``); see
``catalog/README.md`` for provenance and every derived field. Used by :mod:`catalog.sources.demo`.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from pathlib import Path

from catalog.sources.common import collapse_ws, cut_at_word, parse_number, read_csv

FLIPKART_DIR = "flipkart-products-1050"
FLIPKART_CSV = "flipkart_com-ecommerce_sample_1050.csv"

DESCRIPTION_MAX = 600
MAX_SPECS = 12
MAX_CATEGORY_LEVELS = 3

# A spec entry is {"key"=>"...", "value"=>"..."}; values may contain backslash-escaped quotes (2\" wide).
SPEC_RE = re.compile(r'\{"key"=>"((?:[^"\\]|\\.)*)", "value"=>"((?:[^"\\]|\\.)*)"\}')

# Flipkart's fixed shop boilerplate, removed from descriptions (it says nothing about the product).
FLIPKART_BOILERPLATE = (
    " at best prices with FREE shipping & cash on delivery",
    " Only Genuine Products. 30 Day Replacement Guarantee.",
    " Only Genuine Products. Free Shipping. Cash On Delivery!",
)


def parse_specifications(raw: str) -> list[tuple[str, str]]:
    """All (key, value) pairs of a Flipkart spec string, in source order, unescaped and whitespace-cleaned.
    Value-only entries (no key) and empty keys/values are dropped."""
    pairs = []
    for key, value in SPEC_RE.findall(raw):
        key = collapse_ws(key.replace('\\"', '"'))
        value = collapse_ws(value.replace('\\"', '"'))
        if key and value:
            pairs.append((key, value))
    return pairs


def parse_flipkart_categories(tree: str, title: str) -> list[str]:
    """``["A >> B >> C >> Brand C >> Product name..."]`` -> at most 3 generic levels, e.g. [A, B, C].

    1. The last level is dropped when it is the (often truncated) product name: it ends with '...', or it
       equals / is a prefix of / starts with the title.
    2. The path is cut before the first brand facet: a level made of a prefix plus its parent level's
       name, where the title starts with that prefix ("Titan Wrist Watches" under "Wrist Watches" for
       "Titan 1639SL03 Analog Watch", "JMD Home Furnishing" under "Home Furnishing"). "Wrist Watches"
       under "Watches" is kept: the title does not start with "Wrist".
    3. At most 3 levels are kept.
    """
    inner = tree.strip()
    if inner.startswith("[") and inner.endswith("]"):
        inner = inner[1:-1].strip()
    inner = inner.strip('"')
    levels = [collapse_ws(part) for part in inner.split(">>")]
    levels = [level for level in levels if level]
    if len(levels) > 1:
        last = levels[-1]
        stem = last[:-3].rstrip() if last.endswith("...") else last
        if last.endswith("...") or last == title or title.startswith(stem) or last.startswith(title):
            levels = levels[:-1]
    kept = levels[:1]
    for level in levels[1:]:
        parent = kept[-1]
        suffix = " " + parent.lower()
        if level.lower().endswith(suffix):
            prefix = level[: -len(suffix)].strip().lower()
            if prefix and (title.lower() + " ").startswith(prefix + " "):
                break
        kept.append(level)
    return kept[:MAX_CATEGORY_LEVELS]


def flipkart_facet_brand(tree: str, title: str) -> str | None:
    """The brand named by a brand facet of the category tree ("Maxima Wrist Watches" under "Wrist Watches"
    for "Maxima 26512PPGN Analog Watch"), in the title's spelling; None when the tree has no such facet."""
    inner = tree.strip().strip("[]").strip().strip('"')
    levels = [collapse_ws(part) for part in inner.split(">>") if collapse_ws(part)]
    for parent, level in itertools.pairwise(levels):
        suffix = " " + parent.lower()
        if level.lower().endswith(suffix):
            prefix = level[: -len(suffix)].strip()
            if prefix and (title.lower() + " ").startswith(prefix.lower() + " "):
                return title[: len(prefix)]
    return None


def clean_flipkart_description(text: str) -> str:
    text = collapse_ws(text)
    for phrase in FLIPKART_BOILERPLATE:
        text = text.replace(phrase.strip(), "").replace("  ", " ")
    text = collapse_ws(text.replace(" .", "."))
    return cut_at_word(text, DESCRIPTION_MAX)


def flipkart_products(shared: Path, stats: Counter) -> list[tuple[dict, Path]]:
    base = shared / FLIPKART_DIR
    rows = []
    for row in read_csv(base / FLIPKART_CSV):
        photo = base / "images" / row["image"].strip()
        if not row["image"].strip() or not photo.is_file():
            stats["flipkart_skipped_no_photo"] += 1
            continue
        pid = "fk-" + row["uniq_id"].strip().lower()[:12]
        title = collapse_ws(row["product_name"])
        specs_all = parse_specifications(row["product_specifications"])
        derived: list[str] = []

        brand = collapse_ws(row["brand"]) or None
        if brand is None:
            spec_brand = next((v for k, v in specs_all if k.lower() == "brand"), None)
            first_word = title.split(" ", 1)[0]
            facet_brand = flipkart_facet_brand(row["product_category_tree"], title)
            if spec_brand is not None and spec_brand == first_word:
                brand = spec_brand
                derived.append("brand")
            elif facet_brand is not None:
                brand = facet_brand
                derived.append("brand")
                stats["flipkart_brand_from_facet"] += 1
            else:
                stats["flipkart_brand_unknown"] += 1

        colour = next((v for k, v in specs_all if k.lower() in ("color", "colour")), None)

        specifications: dict[str, str] = {}
        for key, value in specs_all:
            if key not in specifications and len(specifications) < MAX_SPECS:
                specifications[key] = value

        price = parse_number(row["discounted_price"])
        list_price = parse_number(row["retail_price"])
        if price is None:
            stats["flipkart_price_missing"] += 1
        rating = parse_number(row["product_rating"])
        if rating is not None and not 0 <= rating <= 5:
            rating = None

        record = {
            "id": pid,
            "title": title,
            "brand": brand,
            "category_path": parse_flipkart_categories(row["product_category_tree"], title),
            "price": price,
            "list_price": list_price,
            "currency": "INR",
            "rating": rating,
            "rating_count": None,
            "description": clean_flipkart_description(row["description"]),
            "specifications": specifications,
            "colour": colour,
            "image": f"{pid}.jpg",
            "source": "flipkart",
            "derived_fields": derived,
        }
        rows.append((record, photo))
    return rows

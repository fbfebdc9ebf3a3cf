"""Build a large catalog file (100,000 products by default) from the shared data, for scale tests and benchmarks.

Usage::

    interarec catalog build-large --out large.jsonl [--count 100000] [--shared DIR]
    python -m catalog.sources.large --out large.jsonl

Rows, in this order (see ``catalog/README.md``, "The large catalog"):

* every Myntra product with a title (44,400 or so; ``my-<id>``), mapped as in the demo catalog, prices derived
  by the same Amazon.in quantile rule, no photo;
* every Amazon.in 2023 listing once per ASIN (about 10,800; ``az-<ASIN>``): title, ``main_category >
  sub_category``, discount and list price, rating and rating count as listed; the brand is the title's first
  word (derived);
* colour variants of those base products until ``count`` is reached (``<base id>-v<n>``): the same product in
  another colour of a fixed palette, the title naming the new colour, the price moved by a hash-based factor
  in [0.85, 1.15]; ``colour`` and ``price`` are flagged as derived. Variants are dealt round-robin over the base
  products, so each gets about the same number.

Everything is a pure function of the input files: two builds give byte-identical output.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from catalog.models import Product
from catalog.shared_data import shared_data_root
from catalog.sources.common import collapse_ws, cut_at_word, parse_number, read_csv
from catalog.sources.myntra import (
    MYNTRA_CSV,
    MYNTRA_DIR,
    known,
    myntra_brand_resolver,
    myntra_description,
    myntra_path,
    myntra_specifications,
)
from catalog.sources.myntra_prices import (
    AMAZON_CSV,
    AMAZON_DIR,
    PriceTable,
    amazon_sub_category,
    hash_quantile,
    retail_round,
)

DEFAULT_COUNT = 100_000
VARIANT_COLOURS = ("Black", "White", "Navy Blue", "Grey", "Red", "Green", "Blue", "Brown", "Beige", "Maroon",
                   "Pink", "Olive", "Yellow", "Purple", "Silver", "Gold")
_ASIN = re.compile(r"/dp/([A-Z0-9]{10})")
TITLE_MAX = 300


class LargeCatalogError(ValueError):
    """The shared data needed for the large catalog is missing."""


def myntra_rows(shared: Path, prices: PriceTable, stats: Counter) -> Iterator[dict]:
    rows = read_csv(shared / MYNTRA_DIR / MYNTRA_CSV)
    brand_of = myntra_brand_resolver(collapse_ws(r["productDisplayName"]) for r in rows)
    for row in sorted(rows, key=lambda r: int(r["id"])):
        title = known(row["productDisplayName"])
        if not title or row["masterCategory"].strip() == "Free Items":
            stats["myntra skipped (no title or a free item)"] += 1
            continue
        pid = f"my-{row['id'].strip()}"
        price, list_price = prices.pick(amazon_sub_category(row), hash_quantile(pid))
        stats["myntra"] += 1
        yield {"id": pid, "title": cut_at_word(title, TITLE_MAX), "brand": brand_of(title),
               "category_path": myntra_path(row), "price": price, "list_price": list_price,
               "description": myntra_description(row), "specifications": myntra_specifications(row),
               "colour": known(row["baseColour"]), "source": "myntra",
               "derived_fields": ["brand", "price"] + (["list_price"] if list_price is not None else [])}


def amazon_rows(shared: Path, stats: Counter) -> Iterator[dict]:
    seen: set[str] = set()
    for row in read_csv(shared / AMAZON_DIR / AMAZON_CSV):
        match = _ASIN.search(row["link"])
        title = collapse_ws(row["name"])
        if not match or not title:
            stats["amazon.in skipped (no ASIN or title)"] += 1
            continue
        if match.group(1) in seen:  # the same listing under a second sub-category
            stats["amazon.in duplicate ASIN"] += 1
            continue
        seen.add(match.group(1))
        price, list_price = parse_number(row["discount_price"]), parse_number(row["actual_price"])
        if price is None and list_price is not None:
            price = list_price
        if list_price is not None and price is not None and list_price < price:
            list_price = None
        rating, count = parse_number(row["ratings"]), parse_number(row["no_of_ratings"])
        stats["amazon.in"] += 1
        yield {"id": f"az-{match.group(1)}", "title": cut_at_word(title, TITLE_MAX), "brand": title.split()[0],
               "category_path": [collapse_ws(row["main_category"]).title(), collapse_ws(row["sub_category"])],
               "price": price, "list_price": list_price,
               "rating": rating if rating is not None and 0 <= rating <= 5 else None,
               "rating_count": int(count) if count is not None and count >= 0 else None,
               "source": "amazon-in", "derived_fields": ["brand"]}


def variant(base: dict, number: int) -> dict:
    """The base product in another colour: the ``number``-th colour of the palette that is not its own."""
    own = (base.get("colour") or "").casefold()
    palette = [c for c in VARIANT_COLOURS if c.casefold() != own]
    colour = palette[(number - 1 + int(hash_quantile(base["id"]) * len(palette))) % len(palette)]
    vid = f"{base['id']}-v{number}"
    title = base["title"]
    if own and re.search(rf"\b{re.escape(own)}\b", title, flags=re.IGNORECASE):
        title = re.sub(rf"\b{re.escape(own)}\b", colour, title, count=1, flags=re.IGNORECASE)
    else:
        title = f"{cut_at_word(title, TITLE_MAX - len(colour) - 3)} - {colour}"
    factor = 0.85 + 0.30 * hash_quantile(vid)
    price = retail_round(base["price"] * factor) if base.get("price") else base.get("price")
    list_price = base.get("list_price")
    if list_price is not None and price is not None and list_price < price:
        list_price = price
    derived = sorted(set(base.get("derived_fields", [])) | {"colour", "price"})
    return {**base, "id": vid, "title": title, "colour": colour, "price": price, "list_price": list_price,
            "source": f"{base['source']}-variant", "derived_fields": derived}


def large_catalog(shared: Path, count: int = DEFAULT_COUNT, stats: Counter | None = None) -> Iterator[Product]:
    """``count`` products: the real rows first, then colour variants of them round-robin."""
    for folder in (MYNTRA_DIR, AMAZON_DIR):
        if not (shared / folder).is_dir():
            raise LargeCatalogError(f"missing shared data folder: {shared / folder}")
    stats = Counter() if stats is None else stats
    prices = PriceTable.load(shared / AMAZON_DIR / AMAZON_CSV)
    bases: list[dict] = []
    for record in [*myntra_rows(shared, prices, stats), *amazon_rows(shared, stats)]:
        if len(bases) >= count:
            return
        bases.append(record)
        yield Product.model_validate(record)
    made, number = len(bases), 1
    while made < count:
        for base in bases:
            if made >= count:
                break
            yield Product.model_validate(variant(base, number))
            made += 1
            stats["colour variants"] += 1
        number += 1


def write_large_catalog(shared: Path, out: Path, count: int = DEFAULT_COUNT) -> Counter:
    """Write the products as JSON Lines to ``out`` (via a temporary file, so an interrupted build leaves no
    half file) and return the counts per source."""
    stats: Counter = Counter()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        for product in large_catalog(shared, count, stats):
            handle.write(product.model_dump_json(exclude_defaults=True) + "\n")
    tmp.replace(out)
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="the JSON Lines file to write")
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT)
    parser.add_argument("--shared", type=Path, help="the shared data folder (default: found beside the checkout)")
    args = parser.parse_args(argv)
    shared = args.shared or shared_data_root()
    if shared is None:
        print("no shared data folder found: pass --shared DIR", file=sys.stderr)
        return 2
    stats = write_large_catalog(shared, args.out, args.count)
    print(f"wrote {args.count:,} products to {args.out}: " + ", ".join(f"{k} {v:,}" for k, v in sorted(stats.items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

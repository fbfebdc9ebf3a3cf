"""Build the shipped demo catalog (``catalog/data/demo``) from the third-party data in ``shared/data``.

Usage (from the repository root)::

    python -m catalog.build_demo --shared /work/shared/data --out catalog/data/demo

``--shared`` defaults to ``<parent of the repo>/shared/data`` (the layout CI uses: ``../shared`` beside the
clone); ``--out`` defaults to this package's ``data/demo`` directory.

What it writes:

* ``products.jsonl``: one :class:`catalog.models.Product` per line, sorted by id.
* ``images/<id>.jpg``: the product photo, re-encoded (RGB, longest side <= 320 px, JPEG q78, optimised,
  no EXIF/ICC metadata).
* ``build_info.json``: counts and the Pillow / libjpeg-turbo versions that encoded the images.

Sources (see ``catalog/README.md`` for provenance, licences and every derived field):

* every Flipkart product that has a photo (``fk-<12 hex of uniq_id>``);
* about 600 Myntra products with a photo, picked round-robin across ``articleType`` (``my-<id>``);
  Myntra has no prices, so price/list price are drawn from the Amazon.in 2023 price distribution of the
  matching sub-category by a hash-based quantile rule (flagged in ``derived_fields``).

The build is deterministic: the same inputs and the same Pillow version give byte-identical output.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import itertools
import json
import math
import os
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, features

from catalog.models import Product

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SHARED = REPO_ROOT.parent / "shared" / "data"
DEFAULT_OUT = Path(__file__).resolve().parent / "data" / "demo"

FLIPKART_DIR = "flipkart-products-1050"
FLIPKART_CSV = "flipkart_com-ecommerce_sample_1050.csv"
MYNTRA_DIR = "myntra-fashion-products"
MYNTRA_CSV = "styles_with_names.csv"
AMAZON_DIR = "amazon-in-products-2023"
AMAZON_CSV = "Amazon-Products.csv"

IMAGE_MAX_SIDE = 320
IMAGE_QUALITY = 78
MYNTRA_COUNT = 600
DESCRIPTION_MAX = 600
MAX_SPECS = 12
MAX_CATEGORY_LEVELS = 3
SIZE_BUDGET_BYTES = 25_000_000  # the whole catalog/ directory, as measured by `du -sb`


# --------------------------------------------------------------------------------------------- helpers


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


def retail_round(value: float) -> float:
    """Round to a retail-looking price: the nearest multiple of 10, minus 1 (1,304 -> 1,299; 4 -> 9)."""
    tens = max(1, int(value / 10 + 0.5))
    return float(tens * 10 - 1)


def hash_quantile(key: str) -> float:
    """A stable pseudo-random quantile in (0, 1) from a string: (sha256 first 8 hex % 1000 + 0.5) / 1000."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    return (int(digest[:8], 16) % 1000 + 0.5) / 1000


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def tree_size(path: Path) -> int:
    """Apparent size of a directory tree in bytes (files + directory entries), like ``du -sb``."""
    total = path.lstat().st_size
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            total += (Path(root) / name).lstat().st_size
    return total


# ---------------------------------------------------------------------------------------------- images


def encode_image(src: Path) -> bytes:
    """Re-encode one photo: upright, RGB (transparency flattened on white), longest side <= 320 px,
    JPEG quality 78 with optimised Huffman tables, and no EXIF/ICC/comment metadata."""
    with Image.open(src) as opened:
        image = ImageOps.exif_transpose(opened)
        if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
            rgba = image.convert("RGBA")
            flat = Image.new("RGB", rgba.size, (255, 255, 255))
            flat.paste(rgba, mask=rgba.getchannel("A"))
            image = flat
        else:
            image = image.convert("RGB")
        if max(image.size) > IMAGE_MAX_SIDE:
            image.thumbnail((IMAGE_MAX_SIDE, IMAGE_MAX_SIDE), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=IMAGE_QUALITY, optimize=True)
    return buffer.getvalue()


def write_if_changed(path: Path, data: bytes) -> None:
    if path.exists() and path.read_bytes() == data:
        return
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


# -------------------------------------------------------------------------------------------- Flipkart

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


# ---------------------------------------------------------------------------------------------- Myntra

# Brands whose name is more than one word, as they appear at the start of Myntra titles (found by
# counting the words before the gender word across all 44,446 titles). Spelling variants map to one
# canonical name. Titles not starting with one of these take their first word as the brand.
MYNTRA_MULTIWORD_BRANDS = {
    "United Colors of Benetton": ["United Colors of Benetton"],
    "Undercolors of Benetton": ["Undercolors of Benetton"],
    "Lino Perros": ["Lino Perros"],
    "Gini and Jony": ["Gini and Jony", "Gini & Jony", "Gini Jony"],
    "French Connection": ["French Connection"],
    "Jealous 21": ["Jealous 21"],
    "Flying Machine": ["Flying Machine"],
    "Mark Taylor": ["Mark Taylor"],
    "Peter England": ["Peter England"],
    "Indigo Nation": ["Indigo Nation"],
    "U.S. Polo Assn.": ["U.S. Polo Assn.", "U.S.Polo Assn."],
    "Mother Earth": ["Mother Earth"],
    "Reid & Taylor": ["Reid & Taylor"],
    "Red Tape": ["Red Tape"],
    "Red Chief": ["Red Chief"],
    "Red Rose": ["Red Rose"],
    "John Miller": ["John Miller"],
    "John Players": ["John Players"],
    "Numero Uno": ["Numero Uno"],
    "Carlton London": ["Carlton London"],
    "Park Avenue": ["Park Avenue"],
    "Franco Leone": ["Franco Leone"],
    "Classic Polo": ["Classic Polo"],
    "Allen Solly": ["Allen Solly"],
    "Lee Cooper": ["Lee Cooper"],
    "SDL by Sweet Dreams": ["SDL by Sweet Dreams"],
    "Status Quo": ["Status Quo"],
    "Urban Yoga": ["Urban Yoga"],
    "Palm Tree": ["Palm Tree"],
    "Wills Lifestyle": ["Wills Lifestyle"],
    "American Tourister": ["American Tourister"],
    "Spice Art": ["Spice Art"],
    "Warner Bros": ["Warner Bros"],
    "Forever New": ["Forever New"],
    "Manchester United": ["Manchester United"],
    "Latin Quarters": ["Latin Quarters"],
    "Tokyo Talkies": ["Tokyo Talkies"],
    "Ed Hardy": ["Ed Hardy"],
    "Van Heusen": ["Van Heusen"],
    "Little Miss": ["Little Miss"],
    "New Hide": ["New Hide"],
    "Miami Blues": ["Miami Blues"],
    "Mumbai Slang": ["Mumbai Slang"],
    "Vero Moda": ["Vero Moda"],
    "Do u speak green": ["Do u speak green"],
    "Louis Philippe": ["Louis Philippe"],
    "Be For Bag": ["Be For Bag"],
    "Angry Birds": ["Angry Birds"],
    "Pepe Jeans": ["Pepe Jeans"],
    "Ivory Tag": ["Ivory Tag"],
    "Chhota Bheem": ["Chhota Bheem"],
    "Peri Peri": ["Peri Peri"],
    "Just Natural": ["Just Natural"],
    "Inc 5": ["Inc 5", "Inc. 5"],
    "Indian Terrain": ["Indian Terrain"],
    "Global Desi": ["Global Desi"],
    "Rocky S": ["Rocky S"],
    "Kraus Jeans": ["Kraus Jeans"],
    "Free Authority": ["Free Authority"],
    "Calvin Klein": ["Calvin Klein"],
    "Force 10": ["Force 10"],
    "Hush Puppies": ["Hush Puppies"],
    "Deni Yo": ["Deni Yo"],
    "Estd. 1977": ["Estd. 1977"],
    "Celine Dion": ["Celine Dion"],
    "Jack & Jones": ["Jack & Jones"],
    "Black Coffee": ["Black Coffee"],
    "Happy Socks": ["Happy Socks"],
    "DC Comics": ["DC Comics"],
    "Jungle Book": ["Jungle Book"],
    "Fusion Beats": ["Fusion Beats"],
    "Vital Gear": ["Vital Gear"],
    "Colour Me": ["Colour Me"],
    "Being Human": ["Being Human"],
    "Fruit of the Loom": ["Fruit of the Loom"],
    "Ben 10": ["Ben 10"],
    "Taylor of London": ["Taylor of London"],
    "Tommy Hilfiger": ["Tommy Hilfiger"],
    "Kenneth Cole": ["Kenneth Cole"],
    "Pal Zileri": ["Pal Zileri"],
    "Hugo Boss": ["Hugo Boss"],
    "Heart 2 Heart": ["Heart 2 Heart"],
    "David Beckham": ["David Beckham"],
    "Estee Lauder": ["Estee Lauder"],
    "Sher Singh": ["Sher Singh"],
    "Satya Paul": ["Satya Paul"],
    "Kama Sutra": ["Kama Sutra"],
    "Just Cavalli": ["Just Cavalli"],
    "Tonino Lamborghini": ["Tonino Lamborghini"],
    "Swiss Army": ["Swiss Army"],
    "Paris Hilton": ["Paris Hilton"],
    "Perry Ellis": ["Perry Ellis"],
    "Wild Stone": ["Wild Stone"],
    "M tv": ["M tv"],
    "Hop Scotch": ["Hop Scotch"],
}

# Myntra articleType -> Amazon.in 2023 sub_category whose prices stand in for the missing Myntra price.
# Chosen as the closest sub-category by product kind; see catalog/README.md.
ARTICLE_TO_AMAZON = {
    # bags and small accessories
    "Backpacks": "Backpacks",
    "Rucksacks": "Rucksacks",
    "Duffel Bag": "Travel Duffles",
    "Handbags": "Handbags & Clutches",
    "Clutches": "Handbags & Clutches",
    "Laptop Bag": "Bags & Luggage",
    "Messenger Bag": "Bags & Luggage",
    "Mobile Pouch": "Bags & Luggage",
    "Travel Accessory": "Travel Accessories",
    "Waist Pouch": "Travel Accessories",
    "Wallets": "Wallets",
    "Watches": "Watches",
    "Sunglasses": "Sunglasses",
    "Bracelet": "Fashion & Silver Jewellery",
    "Necklace and Chains": "Fashion & Silver Jewellery",
    # clothing
    "Tshirts": "T-shirts & Polos",
    "Shirts": "Shirts",
    "Jeans": "Jeans",
    "Trousers": "Jeans",
    "Track Pants": "Sportswear",
    "Tracksuits": "Sportswear",
    "Shorts": "Sportswear",
    "Sweatshirts": "Sportswear",
    "Tops": "Western Wear",
    "Dresses": "Western Wear",
    "Tunics": "Western Wear",
    "Skirts": "Western Wear",
    "Capris": "Western Wear",
    "Leggings": "Western Wear",
    "Stockings": "Western Wear",
    "Tights": "Western Wear",
    "Shrug": "Western Wear",
    "Kurtas": "Ethnic Wear",
    "Kurtis": "Ethnic Wear",
    "Kurta Sets": "Ethnic Wear",
    "Churidar": "Ethnic Wear",
    "Dupatta": "Ethnic Wear",
    "Sarees": "Ethnic Wear",
    "Briefs": "Innerwear",
    "Boxers": "Innerwear",
    "Trunk": "Innerwear",
    "Innerwear Vests": "Innerwear",
    "Bra": "Lingerie & Nightwear",
    "Lounge Pants": "Lingerie & Nightwear",
    "Lounge Shorts": "Lingerie & Nightwear",
    # footwear
    "Casual Shoes": "Casual Shoes",
    "Sports Shoes": "Sports Shoes",
    "Formal Shoes": "Formal Shoes",
    "Flats": "Ballerinas",
    "Heels": "Fashion Sandals",
    "Sandals": "Fashion Sandals",
    "Sports Sandals": "Fashion Sandals",
    "Flip Flops": "Shoes",  # Amazon's women's "Shoes" listing is mostly slippers and flip-flops
    # personal care and sport
    "Deodorant": "Beauty & Grooming",
    "Perfume and Body Mist": "Luxury Beauty",
    "Fragrance Gift Set": "Luxury Beauty",
    "Footballs": "Football",
}

# Applied before ARTICLE_TO_AMAZON for women's items whose Amazon match is a men's listing.
WOMEN_OVERRIDES = {
    "Tshirts": "Western Wear",
    "Shirts": "Western Wear",
    "Trousers": "Western Wear",
    "Shorts": "Western Wear",
    "Casual Shoes": "Shoes",
    "Briefs": "Lingerie & Nightwear",
    "Innerwear Vests": "Lingerie & Nightwear",
}

# Applied first for Boys/Girls, keyed by masterCategory (or articleType for the two listed types).
KIDS_BY_ARTICLE = {"Watches": "Kids' Watches", "Backpacks": "School Bags"}
KIDS_BY_MASTER = {"Apparel": "Kids' Clothing", "Footwear": "Kids' Shoes"}

# Everything not matched above (belts, caps, socks, ties, scarves, jackets, sweaters, gift sets ...).
FALLBACK_BY_GENDER = {
    "Men": "Men's Fashion",
    "Boys": "Men's Fashion",
    "Women": "Women's Fashion",
    "Girls": "Women's Fashion",
}
FALLBACK_DEFAULT = "Amazon Fashion"

GENDER_WORDS = {"Men": "Men's", "Women": "Women's", "Boys": "Boys'", "Girls": "Girls'", "Unisex": "Unisex"}
USAGE_WORDS = {
    "Casual": "casual wear",
    "Formal": "formal wear",
    "Sports": "sportswear",
    "Ethnic": "ethnic wear",
    "Travel": "travel wear",
    "Party": "party wear",
    "Smart Casual": "smart casual wear",
    "Home": "home wear",
}


def known(value: str) -> str | None:
    value = collapse_ws(value)
    return None if value in ("", "NA", "nan") else value


def amazon_sub_category(row: dict[str, str]) -> str:
    article, gender, master = row["articleType"], row["gender"], row["masterCategory"]
    if gender in ("Boys", "Girls"):
        if article in KIDS_BY_ARTICLE:
            return KIDS_BY_ARTICLE[article]
        if master in KIDS_BY_MASTER:
            return KIDS_BY_MASTER[master]
    if gender in ("Women", "Girls") and article in WOMEN_OVERRIDES:
        return WOMEN_OVERRIDES[article]
    if article in ARTICLE_TO_AMAZON:
        return ARTICLE_TO_AMAZON[article]
    return FALLBACK_BY_GENDER.get(gender, FALLBACK_DEFAULT)


# Gold/silver bullion (bars and coins sold by weight) is listed inside Amazon.in's fashion sub-categories
# (e.g. a ₹64,649 gold bar in "Men's Fashion"). It is not a fashion price, so such rows are left out.
BULLION_METAL_RE = re.compile(r"\b(gold|silver)\b", re.IGNORECASE)
BULLION_FORM_RE = re.compile(r"\b(bars?|coins?)\b", re.IGNORECASE)
BULLION_PURITY_RE = re.compile(r"\b(999(\.9)?|995|916)\b|\b2[24]\s?kt?\b", re.IGNORECASE)


def is_bullion(name: str) -> bool:
    patterns = (BULLION_METAL_RE, BULLION_FORM_RE, BULLION_PURITY_RE)
    return all(pattern.search(name) for pattern in patterns)


@dataclass(frozen=True)
class PriceTable:
    """Per Amazon.in sub-category: (discount price, actual price) pairs sorted by discount price."""

    pairs: dict[str, list[tuple[float, float | None]]]

    @classmethod
    def load(cls, path: Path) -> PriceTable:
        pairs: dict[str, list[tuple[float, float | None]]] = defaultdict(list)
        for row in read_csv(path):
            discount = parse_number(row["discount_price"])
            if discount is None or discount <= 0 or is_bullion(row["name"]):
                continue
            actual = parse_number(row["actual_price"])
            if actual is not None and actual < discount:
                actual = None
            pairs[collapse_ws(row["sub_category"])].append((discount, actual))
        return cls({key: sorted(value, key=lambda p: (p[0], p[1] or 0.0)) for key, value in pairs.items()})

    def pick(self, sub_category: str, q: float) -> tuple[float, float | None]:
        """The empirical q-quantile row (inverse CDF: index floor(q*n)), rounded to retail prices."""
        values = self.pairs[sub_category]
        discount, actual = values[min(len(values) - 1, int(q * len(values)))]
        price = retail_round(discount)
        list_price = retail_round(actual) if actual is not None else None
        if list_price is not None and list_price < price:
            list_price = price
        return price, list_price


def myntra_brand_resolver(all_titles: Iterable[str]):
    """Return brand(title): canonical multi-word brand if the title starts with one, else the first word
    with its casing unified to the most frequent spelling of that word at the start of any Myntra title."""
    spelling: dict[str, Counter] = defaultdict(Counter)
    for title in all_titles:
        words = title.split()
        if words:
            spelling[words[0].lower()][words[0]] += 1
    canonical_first = {
        low: min(counter.items(), key=lambda kv: (-kv[1], kv[0]))[0] for low, counter in spelling.items()
    }
    variants = sorted(
        ((variant.lower().split(), name) for name, vs in MYNTRA_MULTIWORD_BRANDS.items() for variant in vs),
        key=lambda item: -len(item[0]),
    )

    def brand(title: str) -> str | None:
        words = title.split()
        if not words:
            return None
        lowered = [w.lower() for w in words]
        for variant_words, name in variants:
            if lowered[: len(variant_words)] == variant_words:
                return name
        return canonical_first.get(lowered[0], words[0])

    return brand


def select_myntra(rows: list[dict[str, str]], image_dir: Path, count: int) -> list[dict[str, str]]:
    """Round-robin over articleTypes (alphabetical), taking each type's rows in ascending numeric id."""
    groups: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        if row.get("image_file_included", "").strip() != "yes":
            continue
        if row["masterCategory"].strip() == "Free Items":
            continue
        if not known(row["productDisplayName"]) or not (image_dir / f"{row['id'].strip()}.jpg").is_file():
            continue
        groups[row["articleType"].strip()].append(row)
    for members in groups.values():
        members.sort(key=lambda r: int(r["id"]))
    chosen: list[dict[str, str]] = []
    order = sorted(groups)
    depth = 0
    while len(chosen) < count and any(len(groups[t]) > depth for t in order):
        for article in order:
            if len(chosen) >= count:
                break
            if len(groups[article]) > depth:
                chosen.append(groups[article][depth])
        depth += 1
    return chosen


def myntra_description(row: dict[str, str]) -> str:
    gender = GENDER_WORDS.get(row["gender"].strip(), known(row["gender"]) or "")
    usage = known(row["usage"])
    usage_text = USAGE_WORDS.get(usage, f"{usage.lower()} wear") if usage else "wear"
    head = f"{gender} {usage_text}".strip()
    season, year = known(row["season"]), known(row["year"])
    if year and year.endswith(".0"):
        year = year[:-2]
    when = " ".join(part for part in (season.lower() if season else None, year) if part)
    text = f"{head}, {when} collection." if when else f"{head}."
    return text[0].upper() + text[1:]


def myntra_products(shared: Path, prices: PriceTable, count: int, stats: Counter) -> list[tuple[dict, Path]]:
    base = shared / MYNTRA_DIR
    all_rows = read_csv(base / MYNTRA_CSV)
    brand_of = myntra_brand_resolver(collapse_ws(r["productDisplayName"]) for r in all_rows)
    out = []
    for row in select_myntra(all_rows, base / "images", count):
        raw_id = row["id"].strip()
        pid = f"my-{raw_id}"
        title = collapse_ws(row["productDisplayName"])
        sub_category = amazon_sub_category(row)
        stats[f"myntra_price_from::{sub_category}"] += 1
        price, list_price = prices.pick(sub_category, hash_quantile(pid))
        derived = ["brand", "price"] + (["list_price"] if list_price is not None else [])
        levels = [known(row["masterCategory"]), known(row["subCategory"]), known(row["articleType"])]
        path: list[str] = []
        for level in levels:
            if level and (not path or path[-1] != level):
                path.append(level)
        specifications = {}
        for key, column in (("Gender", "gender"), ("Usage", "usage"), ("Season", "season"), ("Year", "year")):
            value = known(row[column])
            if value:
                specifications[key] = value
        record = {
            "id": pid,
            "title": title,
            "brand": brand_of(title),
            "category_path": path,
            "price": price,
            "list_price": list_price,
            "currency": "INR",
            "rating": None,
            "rating_count": None,
            "description": myntra_description(row),
            "specifications": specifications,
            "colour": known(row["baseColour"]),
            "image": f"{pid}.jpg",
            "source": "myntra",
            "derived_fields": derived,
        }
        out.append((record, base / "images" / f"{raw_id}.jpg"))
    return out


# ----------------------------------------------------------------------------------------------- build


def collect_items(
    shared: Path, myntra_count: int = MYNTRA_COUNT, stats: Counter | None = None
) -> list[tuple[dict, Path]]:
    """All catalog rows as (record dict, source photo path), sorted by id. Nothing is written."""
    for sub in (FLIPKART_DIR, MYNTRA_DIR, AMAZON_DIR):
        if not (shared / sub).is_dir():
            raise FileNotFoundError(f"missing shared data folder: {shared / sub}")
    stats = Counter() if stats is None else stats
    prices = PriceTable.load(shared / AMAZON_DIR / AMAZON_CSV)
    items = flipkart_products(shared, stats) + myntra_products(shared, prices, myntra_count, stats)
    items.sort(key=lambda item: item[0]["id"])
    return items


def encoder_info() -> dict[str, str | int | None]:
    """The JPEG encoder and settings; identical output bytes are only promised when these match."""
    return {
        "pillow": Image.__version__,
        "libjpeg_turbo": features.version("libjpeg_turbo"),
        "max_side": IMAGE_MAX_SIDE,
        "quality": IMAGE_QUALITY,
    }


def build(
    shared: Path,
    out: Path,
    myntra_count: int = MYNTRA_COUNT,
    max_images: int | None = None,
    quiet: bool = False,
) -> dict:
    """Build products.jsonl, images/ and build_info.json under ``out``. Returns a summary dict.

    ``max_images`` (for tests) re-encodes only the first N images in id order; the JSONL is always
    complete. A full build (``max_images=None``) also removes stale ``*.jpg`` files from ``out/images``.
    """
    started = time.perf_counter()
    stats: Counter = Counter()
    items = collect_items(shared, myntra_count, stats)

    products: list[Product] = []
    seen: set[str] = set()
    for record, _ in items:
        product = Product.model_validate(record)
        if product.id in seen:
            raise ValueError(f"duplicate product id {product.id}")
        seen.add(product.id)
        products.append(product)

    image_dir = out / "images"
    image_dir.mkdir(parents=True, exist_ok=True)
    lines = "".join(p.model_dump_json(exclude_defaults=False) + "\n" for p in products)
    write_if_changed(out / "products.jsonl", lines.encode("utf-8"))

    to_encode = items if max_images is None else items[:max_images]
    for record, photo in to_encode:
        write_if_changed(image_dir / record["image"], encode_image(photo))
    if max_images is None:
        wanted = {record["image"] for record, _ in items}
        for stale in sorted(image_dir.glob("*.jpg")):
            if stale.name not in wanted:
                stale.unlink()
        info = {
            "products": len(products),
            "by_source": dict(sorted(Counter(p.source for p in products).items())),
            "encoder": encoder_info(),
        }
        write_if_changed(out / "build_info.json", (json.dumps(info, indent=2) + "\n").encode("utf-8"))

    summary = {
        "products": len(products),
        "by_source": dict(sorted(Counter(p.source for p in products).items())),
        "by_top_category": dict(
            sorted(Counter(f"{p.source}: {p.category}" for p in products).items())
        ),
        "images_written": len(to_encode),
        "out_bytes": tree_size(out),
        "seconds": round(time.perf_counter() - started, 1),
        "notes": {key: value for key, value in sorted(stats.items())},
    }
    if not quiet:
        print_summary(summary, out)
    return summary


def print_summary(summary: dict, out: Path) -> None:
    print(f"wrote {summary['products']} products to {out / 'products.jsonl'}")
    for source, n in summary["by_source"].items():
        print(f"  {source:10s} {n:5d}")
    print("per source and top category:")
    for key, n in summary["by_top_category"].items():
        print(f"  {key:50s} {n:5d}")
    print("notes:")
    for key, n in summary["notes"].items():
        print(f"  {key:50s} {n:5d}")
    print(f"images re-encoded: {summary['images_written']}")
    print(f"size of {out}: {summary['out_bytes']:,} bytes ({summary['out_bytes'] / 1e6:.2f} MB)")
    catalog_dir = Path(__file__).resolve().parent
    try:
        out.resolve().relative_to(catalog_dir)
    except ValueError:
        pass
    else:
        size = tree_size(catalog_dir)
        flag = "OK" if size <= SIZE_BUDGET_BYTES else "OVER BUDGET"
        print(f"size of {catalog_dir}: {size:,} bytes ({size / 1e6:.2f} MB, budget 25 MB: {flag})")
    print(f"build time: {summary['seconds']} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help=f"default: {DEFAULT_SHARED}")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"default: {DEFAULT_OUT}")
    parser.add_argument("--myntra-count", type=int, default=MYNTRA_COUNT)
    parser.add_argument(
        "--max-images", type=int, default=None, help="re-encode only the first N images (for tests)"
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args(argv)
    summary = build(args.shared, args.out, args.myntra_count, args.max_images, quiet=args.json)
    if args.json:
        json.dump(summary, sys.stdout, indent=2)
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

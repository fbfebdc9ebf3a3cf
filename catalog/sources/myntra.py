"""Myntra rows for the demo catalog: the round-robin subset, brands from titles, categories, descriptions.

About 600 Myntra products with a photo, picked round-robin across ``articleType`` (``my-<id>``). Myntra has
no prices; they come from :mod:`catalog.sources.myntra_prices` (flagged in ``derived_fields``). See
``catalog/README.md``. Used by :mod:`catalog.sources.demo`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path

from catalog.sources.common import collapse_ws, read_csv
from catalog.sources.myntra_prices import PriceTable, amazon_sub_category, hash_quantile

MYNTRA_DIR = "myntra-fashion-products"
MYNTRA_CSV = "styles_with_names.csv"
MYNTRA_COUNT = 600

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


def myntra_path(row: dict[str, str]) -> list[str]:
    """master category > sub category > article type, repeats and unknowns left out."""
    path: list[str] = []
    for level in (known(row["masterCategory"]), known(row["subCategory"]), known(row["articleType"])):
        if level and (not path or path[-1] != level):
            path.append(level)
    return path


def myntra_specifications(row: dict[str, str]) -> dict[str, str]:
    columns = (("Gender", "gender"), ("Usage", "usage"), ("Season", "season"), ("Year", "year"))
    return {key: value for key, column in columns if (value := known(row[column]))}


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
        path, specifications = myntra_path(row), myntra_specifications(row)
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

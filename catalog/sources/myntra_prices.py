"""The derived-price rule for Myntra rows, which have no prices of their own.

Each Myntra ``articleType`` (with gender / master category) maps to the closest Amazon.in 2023 sub-category;
price and list price are that sub-category's empirical quantile at a hash-based position
(:func:`hash_quantile` of the product id), rounded to retail prices. Bullion rows are left out of the
Amazon.in distribution. See ``catalog/README.md``. Used by :mod:`catalog.sources.myntra`.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from catalog.sources.common import collapse_ws, parse_number, read_csv

AMAZON_DIR = "amazon-in-products-2023"
AMAZON_CSV = "Amazon-Products.csv"


def retail_round(value: float) -> float:
    """Round to a retail-looking price: the nearest multiple of 10, minus 1 (1,304 -> 1,299; 4 -> 9)."""
    tens = max(1, int(value / 10 + 0.5))
    return float(tens * 10 - 1)


def hash_quantile(key: str) -> float:
    """A stable pseudo-random quantile in (0, 1) from a string: (sha256 first 8 hex % 1000 + 0.5) / 1000."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    return (int(digest[:8], 16) % 1000 + 0.5) / 1000


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

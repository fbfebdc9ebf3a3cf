"""The catalogs the relevance scenarios are written against, each in its own Chroma store under a cache folder
(built on first use, reused after: products that did not change are not embedded again).

* ``demo``: the shipped demo catalog (catalog/data/demo): the demo shop's products, 1,047 from
  flipkart-products-1050 and 600 from myntra-fashion-products;
* ``amazon-in``: listings of amazon-in-products-2023, read as the large catalog reads them
  (catalog/sources/large.py: title, ``main > sub`` category, prices, rating; brand = the title's first word), the
  first ``AMAZON_PER_SUB`` listings of each sub-category in file order, so the store stays small enough to embed
  in under a minute on two cores.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import platformdirs

from catalog.files import load_products
from catalog.models import Product
from catalog.shared_data import shared_data_root
from catalog.sources.large import amazon_rows

AMAZON_PER_SUB = 25
CATALOGS = ("demo", "amazon-in")
DATA = {"demo": "catalog/data/demo (flipkart-products-1050, myntra-fashion-products)",
        "amazon-in": f"amazon-in-products-2023, first {AMAZON_PER_SUB} listings per sub-category"}


def default_cache() -> Path:
    return Path(platformdirs.user_cache_dir("interarec")) / "relevance"


class CatalogMissing(RuntimeError):
    """The shared data a catalog is read from is not on this machine."""


def products(name: str) -> list[Product]:
    if name == "demo":
        return load_products()
    if name == "amazon-in":
        shared = shared_data_root()
        if shared is None or not (shared / "amazon-in-products-2023").is_dir():
            raise CatalogMissing("amazon-in-products-2023 is not in the shared data (set INTERAREC_SHARED_DATA)")
        per_sub: Counter = Counter()
        out = []
        for row in amazon_rows(shared, Counter()):
            key = tuple(row["category_path"])
            if per_sub[key] < AMAZON_PER_SUB:
                per_sub[key] += 1
                out.append(Product.model_validate(row))
        return out
    raise ValueError(f"unknown catalog {name!r}; known: {', '.join(CATALOGS)}")

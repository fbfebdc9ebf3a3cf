"""Where the shipped demo catalog lives, and reading a products JSONL file that is known to be valid."""

from __future__ import annotations

import json
from pathlib import Path

from catalog.models import Product

DEMO_DIR = Path(__file__).parent / "data" / "demo"
DEMO_PRODUCTS = DEMO_DIR / "products.jsonl"
DEMO_IMAGES = DEMO_DIR / "images"


def load_products(path: Path = DEMO_PRODUCTS) -> list[Product]:
    """Read a JSONL file of products, one per line. Raises on the first bad row.

    For user files with possibly bad rows use :mod:`catalog.ingest`, which reports and skips them.
    """
    products = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                products.append(Product.model_validate(json.loads(line)))
    return products

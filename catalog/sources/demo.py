"""Build the shipped demo catalog (``catalog/data/demo``) from the third-party data in ``shared/data``.

Usage (from the repository root)::

    python -m catalog.sources.demo --shared /work/shared/data --out catalog/data/demo

``--shared`` defaults to ``<parent of the repo>/shared/data`` (the layout CI uses: ``../shared`` beside the
clone); ``--out`` defaults to this package's ``data/demo`` directory.

What it writes:

* ``products.jsonl``: one :class:`catalog.models.Product` per line, sorted by id.
* ``images/<id>.jpg``: the product photo, re-encoded (RGB, longest side <= 320 px, JPEG q78, optimised,
  no EXIF/ICC metadata).
* ``build_info.json``: counts and the Pillow / libjpeg-turbo versions that encoded the images.

This module is the CLI and the orchestration: it collects the rows, re-encodes the images, writes the files
and prints the summary. Sources (see ``catalog/README.md`` for provenance, licences and every derived field):

* :mod:`catalog.sources.flipkart`: every Flipkart product that has a photo (``fk-<12 hex of uniq_id>``);
* :mod:`catalog.sources.myntra`: about 600 Myntra products with a photo, picked round-robin across
  ``articleType`` (``my-<id>``); Myntra has no prices, so price/list price are drawn from the Amazon.in 2023
  price distribution of the matching sub-category by a hash-based quantile rule
  (:mod:`catalog.sources.myntra_prices`; flagged in ``derived_fields``).

The build is deterministic: the same inputs and the same Pillow version give byte-identical output.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

from PIL import Image, ImageOps, features

from catalog.models import Product
from catalog.sources.flipkart import FLIPKART_DIR, flipkart_products
from catalog.sources.myntra import MYNTRA_COUNT, MYNTRA_DIR, myntra_products
from catalog.sources.myntra_prices import AMAZON_CSV, AMAZON_DIR, PriceTable

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SHARED = REPO_ROOT.parent / "shared" / "data"
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "data" / "demo"

IMAGE_MAX_SIDE = 320
IMAGE_QUALITY = 78
SIZE_BUDGET_BYTES = 25_000_000  # the whole catalog/ directory, as measured by `du -sb`


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
    catalog_dir = Path(__file__).resolve().parents[1]
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

"""Extra development material for the page reader beside the Zyte pages: the saved Amazon.ae product pages of
``<shared data>/product-pages-amazon-ae`` (9 pages of one marketplace the frozen split does not hold), browsed and
scored exactly as ``evals.reader.zyte`` does (same views, cache format, reader and scoring).

    python -m evals.reader.zyte_extra [--sources markup,text-layer,text-layer+markup] [--out DIR]

Labels: written here by us from each page's HTML (not the folder README's convenience table, which takes the
first price on the page): the price is the buy box's amount (the ``corePrice`` block's screen-reader text), the
brand the byline's ("Brand: X", "Visit the X Store"). The two pages whose product is unavailable (no buy-box
price; the README's price is another product's) have no price label, so a price read on them counts against
precision. Only for development: too few pages, of one shop, to report as a held-out figure.
"""

from __future__ import annotations

import argparse
import gzip
import tempfile
from pathlib import Path
from typing import Any

from evals.reader.scoring import DEFAULT_OUT
from evals.reader.zyte import catalog_vocabulary, make_reader
from evals.reader.zyte_scoring import PageCase, format_table, result_rows, run_source
from evals.reader.zyte_views import ViewCache, ViewSettings

DATASET = "product-pages-amazon-ae"
LABELS: dict[str, dict[str, Any]] = {
    "B00008XVAE": {"price": None, "brand": ["WMF"]},  # currently unavailable
    "B00LAYVPOU": {"price": ["330.00"], "brand": ["Versuni"]},
    "B08CZDYNF7": {"price": ["26.00"], "brand": ["Ultrean"]},
    "B0CCJPGYC2": {"price": ["29.99"], "brand": ["JETech"]},
    "B0D37RC231": {"price": None, "brand": ["Bosch"]},  # out of stock
    "B0D4163L94": {"price": ["127.16"], "brand": ["MIUQAOKL"]},
    "B0D5M12FB2": {"price": ["44.00"], "brand": ["ESR"]},
    "B0D83GHDW2": {"price": ["55.00"], "brand": ["UGREEN"]},
    "B0DBZPXJRH": {"price": ["30.99"], "brand": ["JETech"]},
}


def run(sources: list[str], cache_root: Path) -> list[dict[str, Any]]:
    from catalog.shared_data import shared_data_root
    from tools.perception.page.markup import markup_facts

    root = shared_data_root()
    folder = root / DATASET if root else None
    if folder is None or not folder.is_dir():
        return []
    ids = [i for i in LABELS if (folder / f"{i}.html").exists()]
    truth = {i: {**LABELS[i], "url": f"https://www.amazon.ae/dp/{i}"} for i in ids}
    with tempfile.TemporaryDirectory() as tmp:  # the view cache reads gzipped pages, as the Zyte data ships
        for i in ids:
            (Path(tmp) / f"{i}.html.gz").write_bytes(gzip.compress((folder / f"{i}.html").read_bytes()))
        pages = ViewCache(cache_root, ViewSettings()).ensure([(i, truth[i]["url"]) for i in ids],
                                                             lambda i: Path(tmp) / f"{i}.html.gz")
    brands, categories = catalog_vocabulary()
    reader, problem = make_reader(brands, categories)
    if reader is None:
        raise SystemExit(problem)
    items: dict[str, list[dict[str, Any]]] = {}
    for source in sources:
        with_markup = source != "text-layer"
        cases = [PageCase(i, truth[i], views=pages[i].text_layer(),
                          markup=markup_facts(pages[i].markup()) if with_markup else None,
                          screen=pages[i].text_layer(), error=pages[i].error) for i in ids]
        read = (lambda views, markup: markup) if source == "markup" else reader.read_page
        items[source] = run_source(cases, read, source)
    return result_rows(items, {"amazon-ae": ids}) + [{"items": items}]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", default="markup,text-layer,text-layer+markup")
    parser.add_argument("--cache", type=Path, default=DEFAULT_OUT / "amazon-ae-cache")
    args = parser.parse_args(argv)
    rows = run(args.sources.split(","), args.cache)
    if not rows:
        print(f"{DATASET} not found: skipped")
        return 0
    items = rows.pop()["items"]
    print(format_table(rows))
    for source, found in items.items():
        for item in found:
            print(source, item["page_id"], "read", item["read"]["price"], item["read"]["brand"],
                  "expected", item["expected"]["price"], item["expected"]["brand"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

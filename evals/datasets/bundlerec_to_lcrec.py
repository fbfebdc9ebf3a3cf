"""``python -m evals.datasets.bundlerec_to_lcrec DOMAIN_DIR OUT_DIR``: one domain of sessions-bundlerec-amazon
(the shared data's real Amazon purchase logs, SIGIR 2022; research use, see its README) written as an LC-Rec
folder, so the real-shopper eval can be run on a folder it was not built on (issue 19: "the same command works
unchanged on another LC-Rec folder"). Users' items are ordered by time (ties in file order); only titled items
are kept; users left with fewer than 3 items are dropped. The data has no brand field: none is made up.
"""

from __future__ import annotations

import csv
import json
import sys
from collections import defaultdict
from pathlib import Path


def _rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))[1:]


def _path(raw: str) -> str:
    """'[[Electronics,Computers & Accessories,...]]' -> 'Electronics,Computers & Accessories,...' (LC-Rec's form)."""
    first = raw.strip().removeprefix("[[").split("]")[0]
    return ",".join(part.strip() for part in first.split(",") if part.strip())


def convert(domain: Path, out: Path) -> tuple[int, int]:
    titles = {item: title for item, title in _rows(domain / "item_titles.csv")}
    categories = {item: _path(raw) for item, raw in _rows(domain / "item_categories.csv")}
    bought: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
    for order, (user, item, stamp) in enumerate(_rows(domain / "user_item.csv")):
        if item in titles:
            bought[user].append((int(stamp), order, item))
    sequences = {user: [item for _, _, item in sorted(rows)] for user, rows in bought.items() if len(rows) >= 3}
    used = sorted({item for seq in sequences.values() for item in seq}, key=int)
    items = {item: {"title": titles[item], "description": "", "brand": "", "categories": categories.get(item, "")}
             for item in used}
    out.mkdir(parents=True, exist_ok=True)
    name = domain.name.capitalize()
    (out / f"{name}.item.json").write_text(json.dumps(items, indent=1), encoding="utf-8")
    (out / f"{name}.inter.json").write_text(json.dumps(sequences), encoding="utf-8")
    return len(items), len(sequences)


if __name__ == "__main__":
    if len(sys.argv) != 3 or not (Path(sys.argv[1]) / "user_item.csv").is_file():
        print("usage: python -m evals.datasets.bundlerec_to_lcrec DOMAIN_DIR OUT_DIR "
              "(DOMAIN_DIR: a domain folder of sessions-bundlerec-amazon)", file=sys.stderr)
        sys.exit(2)
    n_items, n_users = convert(Path(sys.argv[1]), Path(sys.argv[2]))
    print(f"{n_items} items, {n_users} users -> {sys.argv[2]}")

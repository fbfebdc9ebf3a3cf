"""Real Amazon shopping sessions (BundleRec, SIGIR 2022) as eval cases: the titled items become a catalog the
demo shop serves, and each held-out session is replayed in the browser as a persona.

Data: ``<shared data>/sessions-bundlerec-amazon/<domain>/*.csv`` (see its README). Rules:

- Catalog: every item of ``item_titles.csv`` with a non-empty title (whitespace collapsed, cut to 300 characters)
  becomes ``Product(id="az-<domain>-<item ID>")``; its category path is the first non-empty path of the
  ``[[A,B,C],[D,E]]`` string, else ``[<Domain>]``. No prices, brands or images exist in the data.
- Order within a session: ``session_item.csv`` has none, so items are ordered by the session user's
  ``user_item.csv`` timestamp for the item (the one nearest the session's own timestamp, as a user can buy an
  item in several sessions; the session's timestamp when the pair is missing), ties by item ID (numeric).
  Timestamps have day resolution and, in this snapshot, every item of a session carries the session's own
  day, so the order is in effect by item ID: "last item" means "highest item ID", not "bought last".
- Items without a title are dropped from sessions (they cannot be shown); sessions without a timestamp
  (``user_session.csv`` lacks 213 clothing sessions) or with fewer than 2 titled items are dropped. All counted.
- Split: sessions sorted by timestamp, ties by session ID; the last ``test_fraction`` are test, the rest train.
- Cases: leave-one-out on each test session: the last item (by the order above) is the target, the others
  are viewed in order.
"""

from __future__ import annotations

import csv
import html
import json
import random
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from catalog.models import Product
from catalog.shared_data import shared_data_root
from evals.cases import EvalCase
from tools.capture.personas import Persona, Step

DOMAINS = ("electronic", "clothing", "food")
DATASET_DIR = "sessions-bundlerec-amazon"
SOURCE = "amazon-bundlerec"
MAX_TITLE = 300  # Product.title's limit


@dataclass(frozen=True)
class Session:
    session_id: str
    user_id: str
    timestamp: int
    items: tuple[str, ...]  # dataset item IDs, titled only, in the documented order


class DataMissing(FileNotFoundError):
    """The shared dataset is not on this machine."""


def data_dir(root: Path | str | None = None) -> Path:
    """The directory holding the domain folders: ``root`` if given, else ``$INTERAREC_SHARED_DATA`` (the shared
    data root) or ``<repo>/../shared/data``, plus ``sessions-bundlerec-amazon``."""
    if root is not None:
        return Path(root)
    shared = shared_data_root()
    if shared is None or not (shared / DATASET_DIR).is_dir():
        raise DataMissing(f"the BundleRec Amazon sessions are not here ({shared or 'no shared/data folder found'}); "
                          "set INTERAREC_SHARED_DATA to the folder that holds sessions-bundlerec-amazon")
    return shared / DATASET_DIR


def catalog_id(domain: str, item_id: str) -> str:
    return f"az-{domain}-{item_id}"


def _id_key(value: str) -> tuple[int, int, str]:
    # IDs are integers in the data; compare them as numbers so "3500" < "10675".
    return (0, int(value), "") if value.isdigit() else (1, 0, value)


def _rows(domain: str, name: str, root: Path | str | None) -> list[dict[str, str]]:
    if domain not in DOMAINS:
        raise ValueError(f"unknown domain {domain!r}; use one of {', '.join(DOMAINS)}")
    with open(data_dir(root) / domain / f"{name}.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def clean_title(raw: str) -> str:
    """Whitespace collapsed, HTML entities decoded (the titles carry '&quot;' and '&amp;'), cut to MAX_TITLE."""
    return " ".join(html.unescape(raw).split())[:MAX_TITLE].rstrip()


def parse_categories(raw: str) -> list[str]:
    """The first non-empty path of ``[[A,B,C],[D,E]]``. Names may hold ", " ("Clothing, Shoes & Jewelry") while
    the separator is a bare ",", so split only on commas not followed by whitespace."""
    inner = raw.strip().removeprefix("[[").removesuffix("]]")
    for path in inner.split("],["):
        parts = [part.strip() for part in re.split(r",(?!\s)", path) if part.strip()]
        if parts:
            return parts
    return []


def load_catalog(domain: str, root: Path | str | None = None) -> tuple[list[Product], dict[str, int]]:
    """The titled items as Products (in item ID order) and counts: ``titled``, ``session_items`` (distinct items in
    sessions) and ``untitled`` (of those, the ones without a title, which the catalog cannot hold)."""
    categories = {row["item ID"]: parse_categories(row["categories"]) for row in _rows(domain, "item_categories", root)}
    fallback = [domain.title()]
    products = []
    for row in sorted(_rows(domain, "item_titles", root), key=lambda r: _id_key(r["item ID"])):
        title = clean_title(row["titles"])
        if title:
            path = categories.get(row["item ID"]) or fallback
            products.append(Product(id=catalog_id(domain, row["item ID"]), title=title, category_path=path,
                                    source=SOURCE, currency="USD"))
    titled = {p.id for p in products}
    in_sessions = {row["item ID"] for row in _rows(domain, "session_item", root)}
    untitled = sum(catalog_id(domain, item) not in titled for item in in_sessions)
    return products, {"titled": len(products), "session_items": len(in_sessions), "untitled": untitled}


def catalog_products(domain: str, root: Path | str | None = None) -> list[Product]:
    return load_catalog(domain, root)[0]


def write_catalog(domain: str, path: Path | str, root: Path | str | None = None) -> int:
    """Write the catalog as JSONL (one Product per line, the format ``catalog.ingest.parse_file`` reads), so
    ``interarec shop serve --catalog PATH`` serves it. Returns the number of products."""
    products = catalog_products(domain, root)
    with open(path, "w", encoding="utf-8") as handle:
        for product in products:
            handle.write(product.model_dump_json(exclude_defaults=True) + "\n")
    return len(products)


def load_sessions(domain: str, root: Path | str | None = None) -> tuple[list[Session], dict[str, int]]:
    """Sessions of at least 2 titled items, in time order (timestamp, then session ID), with drop counts."""
    titled = {row["item ID"] for row in _rows(domain, "item_titles", root) if clean_title(row["titles"])}
    owner = {row["session ID"]: (row["user ID"], int(row["timestamp"])) for row in _rows(domain, "user_session", root)}
    bought: dict[tuple[str, str], list[int]] = defaultdict(list)
    for row in _rows(domain, "user_item", root):
        bought[row["user ID"], row["item ID"]].append(int(row["timestamp"]))
    members: dict[str, list[str]] = defaultdict(list)
    for row in _rows(domain, "session_item", root):
        members[row["session ID"]].append(row["item ID"])

    stats = {"sessions_total": len(members), "sessions_no_timestamp": 0, "sessions_too_short": 0,
             "untitled_dropped": 0}
    sessions = []
    for session_id, items in members.items():
        if session_id not in owner:
            stats["sessions_no_timestamp"] += 1
            continue
        user, when = owner[session_id]
        unique = list(dict.fromkeys(items))
        kept = [item for item in unique if item in titled]
        stats["untitled_dropped"] += len(unique) - len(kept)
        if len(kept) < 2:
            stats["sessions_too_short"] += 1
            continue

        def item_time(item: str, user: str = user, when: int = when) -> int:
            times = bought.get((user, item))
            return min(times, key=lambda t: (abs(t - when), t)) if times else when

        kept.sort(key=lambda item: (item_time(item), _id_key(item)))
        sessions.append(Session(session_id, user, when, tuple(kept)))
    sessions.sort(key=lambda s: (s.timestamp, _id_key(s.session_id)))
    stats["sessions_kept"] = len(sessions)
    return sessions, stats


def split_sessions(sessions: list[Session], test_fraction: float = 0.2) -> tuple[list[Session], list[Session]]:
    """Train and test by time: the last ``test_fraction`` of the time-ordered sessions are test."""
    ordered = sorted(sessions, key=lambda s: (s.timestamp, _id_key(s.session_id)))
    n_test = round(len(ordered) * test_fraction)
    return ordered[: len(ordered) - n_test], ordered[len(ordered) - n_test:]


def session_case(domain: str, session: Session, titles: dict[str, str], seed: int = 0) -> EvalCase:
    """Leave-one-out: one item is the target, the rest are viewed (and replayed) in order. The data has no order
    inside a session (every item carries the session's day), so "the last item" would only mean "the highest
    id"; the held-out item is drawn instead, seeded by the session id, so every method gets the same one."""
    ids = [catalog_id(domain, item) for item in session.items]
    held = random.Random(f"{seed}:{domain}:{session.session_id}").randrange(len(ids))
    viewed, target = ids[:held] + ids[held + 1:], ids[held]
    name = f"amazon-{domain}-{session.session_id}"
    steps = []
    for pid in viewed:  # the top of the page holds what these pages have (title, category); a short dwell
        steps += [Step(action="goto", text=f"/p/{pid}"), Step(action="dwell", amount=0.5)]
    persona = Persona(
        name=name, steps=steps,
        description=f"Replays Amazon {domain} session {session.session_id}: opens its {len(viewed)} viewed "
                    "products in order; the held-out item is the target.",
    )
    return EvalCase(
        case_id=name, dataset=f"amazon-{domain}", viewed_ids=tuple(viewed), targets=frozenset({target}),
        persona=persona, viewed_titles=tuple(titles[pid] for pid in viewed),
    )


def build_cases(
    domain: str, limit: int | None = None, seed: int = 0, root: Path | str | None = None, test_fraction: float = 0.2,
) -> tuple[list[list[str]], list[EvalCase], dict[str, float]]:
    """Train sessions (catalog ids, for the weblog baselines), the test cases (a seeded sample of ``limit`` test
    sessions, kept in time order, if ``limit``) and counts."""
    products, stats = load_catalog(domain, root)
    sessions, session_stats = load_sessions(domain, root)
    train, test = split_sessions(sessions, test_fraction)
    if limit is not None and limit < len(test):
        picked = set(random.Random(seed).sample(range(len(test)), limit))
        test = [s for i, s in enumerate(test) if i in picked]
    titles = {p.id: p.title for p in products}
    cases = [session_case(domain, s, titles, seed) for s in test]
    train_sessions = [[catalog_id(domain, item) for item in s.items] for s in train]
    lengths = [len(s.items) for s in sessions]
    stats.update(session_stats)
    stats.update(
        train=len(train), test=len(split_sessions(sessions, test_fraction)[1]), cases=len(cases),
        mean_length=round(sum(lengths) / len(lengths), 3) if lengths else 0.0,
        mean_case_length=round(sum(c.length for c in cases) / len(cases), 3) if cases else 0.0,
    )
    return train_sessions, cases, stats


if __name__ == "__main__":
    for name in DOMAINS:
        print(name, json.dumps(build_cases(name)[2]))

"""Any LC-Rec dataset folder (the convention of LC-Rec, P5 and their successors) as eval cases on real shoppers.

A folder holds exactly one ``NAME.item.json`` (``{item_id: {title, description, brand, categories}}``,
``categories`` a comma-joined browse path) and one ``NAME.inter.json`` (``{user_id: [item_id, ...]}``, oldest
first). Rules (the protocol is in docs/real-shoppers.md):

- Catalog: every item becomes ``Product(id="lc-<item id>")`` with its title (whitespace collapsed, cut to 300
  characters; an item without a title takes its description's first 80 characters, else its id), brand,
  category path (split on commas not followed by a space, so "Shoes, Boots" stays one name; an item without a
  path gets the folder's most common top-level category, counted) and description. The data has no price,
  rating or image, and none is made up: the shop shows the price as unavailable.
- Leave-last-out per user: for the ``test`` split the last item is the target and everything before it is the
  history; for the ``valid`` split the item before the last is the target, the last is dropped (it is never
  seen). The training sequences of a split are every user's history of that split, so no method learns from a
  target it is scored on.
- Users are sampled with ``random.Random(seed)`` from the users whose history is not empty, in file order.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from catalog.models import Product
from evals.cases import EvalCase
from tools.capture.personas import Persona, Step

MAX_TITLE = 300  # Product.title's limit
PREFIX = "lc-"
SPLITS = ("valid", "test")
_ID_OK = re.compile(r"^[A-Za-z0-9_.-]{1,120}$")


class LcrecError(ValueError):
    """The folder is not a usable LC-Rec dataset; the message says why in one line."""


@dataclass(frozen=True)
class LcrecData:
    name: str  # NAME of NAME.item.json
    folder: Path
    items: dict[str, dict[str, str]]  # item id -> the raw fields (strings)
    sequences: dict[str, list[str]]  # user id -> item ids, oldest first
    digest: str  # sha256 of both files' bytes: names the run's catalog store and page cache


def _one(folder: Path, suffix: str) -> Path:
    found = sorted(folder.glob(f"*{suffix}"))
    if len(found) != 1:
        what = "no" if not found else f"{len(found)}"
        raise LcrecError(f"{folder} has {what} *{suffix} file(s); an LC-Rec folder holds exactly one")
    return found[0]


def _json(path: Path) -> object:
    try:
        return json.loads(path.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LcrecError(f"{path.name} is not valid JSON: {str(exc).splitlines()[0]}") from None


def _text(value: object) -> str:
    if isinstance(value, list):  # some exports keep lists (several descriptions, a category list)
        value = " ".join(str(v) for v in value if v is not None)
    return " ".join(str(value).split()) if value is not None else ""


def load(path: Path | str) -> LcrecData:
    """Read and check an LC-Rec folder. Raises LcrecError for a missing folder, missing or duplicate files,
    malformed JSON, sequences naming unknown items, and empty sequences."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise LcrecError(f"{folder} is not a folder")
    item_path, inter_path = _one(folder, ".item.json"), _one(folder, ".inter.json")
    raw_items, raw_inter = _json(item_path), _json(inter_path)
    if not isinstance(raw_items, dict) or not raw_items:
        raise LcrecError(f"{item_path.name} must be a non-empty JSON object of item id -> fields")
    if not isinstance(raw_inter, dict) or not raw_inter:
        raise LcrecError(f"{inter_path.name} must be a non-empty JSON object of user id -> item ids")
    items: dict[str, dict[str, str]] = {}
    for item_id, fields in raw_items.items():
        if not isinstance(fields, dict):
            raise LcrecError(f"{item_path.name}: item {item_id!r} is not an object of fields")
        items[str(item_id)] = {k: _text(fields.get(k)) for k in ("title", "description", "brand", "categories")}
    sequences: dict[str, list[str]] = {}
    for user, seq in raw_inter.items():
        if not isinstance(seq, list):
            raise LcrecError(f"{inter_path.name}: user {user!r} has no list of item ids")
        if not seq:
            raise LcrecError(f"{inter_path.name}: user {user!r} has an empty sequence")
        ids = [str(i) for i in seq]
        unknown = [i for i in ids if i not in items]
        if unknown:
            raise LcrecError(f"{inter_path.name}: user {user!r} names item {unknown[0]!r}, which "
                             f"{item_path.name} does not have ({len(unknown)} unknown in this sequence)")
        sequences[str(user)] = ids
    digest = hashlib.sha256(item_path.read_bytes() + b"\0" + inter_path.read_bytes()).hexdigest()
    return LcrecData(item_path.name.removesuffix(".item.json"), folder, items, sequences, digest)


def catalog_id(item_id: str) -> str:
    """A store-safe id: the item id itself when it is plain, else a short hash of it."""
    if _ID_OK.match(item_id):
        return PREFIX + item_id
    return PREFIX + "h" + hashlib.sha1(item_id.encode()).hexdigest()[:16]


def split_path(raw: str) -> list[str]:
    return [part.strip() for part in re.split(r",(?!\s)", raw) if part.strip()]


def products(data: LcrecData) -> tuple[list[Product], dict[str, int]]:
    """The catalog (in item-file order) and counts of the fallbacks used."""
    paths = {item: split_path(fields["categories"]) for item, fields in data.items.items()}
    tops = Counter(path[0] for path in paths.values() if path)
    fallback = [tops.most_common(1)[0][0]] if tops else [data.name]
    stats = {"items": len(data.items), "no_category": 0, "no_title": 0, "no_brand": 0}
    out = []
    for item, fields in data.items.items():
        title = fields["title"] or fields["description"][:80] or f"Item {item}"
        stats["no_title"] += not fields["title"]
        stats["no_category"] += not paths[item]
        stats["no_brand"] += not fields["brand"]
        out.append(Product(id=catalog_id(item), title=title[:MAX_TITLE].rstrip(), brand=fields["brand"] or None,
                           category_path=paths[item] or fallback, description=fields["description"],
                           source=f"lcrec:{data.name}", currency="USD"))
    return out, stats


def split(data: LcrecData, which: str) -> dict[str, tuple[list[str], str]]:
    """user -> (history, target) in catalog ids, for users whose history is not empty."""
    if which not in SPLITS:
        raise LcrecError(f"unknown split {which!r}; use one of {', '.join(SPLITS)}")
    cut = 1 if which == "test" else 2
    out = {}
    for user, seq in data.sequences.items():
        ids = [catalog_id(i) for i in seq]
        if len(ids) > cut:
            out[user] = (ids[:len(ids) - cut], ids[len(ids) - cut])
    return out


def train_sequences(data: LcrecData, which: str) -> list[list[str]]:
    """Every user's history of the split: what the trained baselines and the session model learn from."""
    return [history for history, _ in split(data, which).values()]


def sample_users(data: LcrecData, which: str, n: int | None, seed: int = 0) -> list[str]:
    users = list(split(data, which))
    if n is None or n >= len(users):
        return users
    picked = set(random.Random(seed).sample(range(len(users)), n))
    return [u for i, u in enumerate(users) if i in picked]


def cases(data: LcrecData, which: str, users: list[str], titles: dict[str, str], pages: int = 5) -> list[EvalCase]:
    """The users' cases. ``pages`` is how many of the history's last items InteraRec browses (the persona); the
    whole history is what every method excludes from its ranking and what the id-based methods read."""
    parts = split(data, which)
    out = []
    for user in users:
        history, target = parts[user]
        shown = history[-pages:] if pages > 0 else history[-1:]
        persona = Persona(name=f"lcrec-{data.name}-{user}", steps=[Step(action="goto", text=f"/p/{pid}")
                                                                  for pid in shown],
                          description=f"Opens the product pages of the last {len(shown)} items of user {user}.")
        out.append(EvalCase(case_id=f"{data.name}-{user}", dataset=f"lcrec-{data.name}", viewed_ids=tuple(history),
                            targets=frozenset({target}), persona=persona,
                            viewed_titles=tuple(titles[pid] for pid in history), length=len(history) + 1))
    return out

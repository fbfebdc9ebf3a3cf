"""A session split in RecBole's atomic-file format, and back; torch-free, so the main venv's tests import it.

One ``<name>.inter`` file, tab-separated, header ``session_id:token  item_id:token  timestamp:float``:
every train session and every test session, one row per view. A session's token carries its side
(``train_<id>`` / ``test_<id>``), so the RecBole side can split by session exactly as our split does, and
the timestamp keeps the view order: ``day * 86400 + position`` (the sessions' times are days), so a session's
views sort in their order and train sessions (dated before the split) sort before test sessions. RecBole's
sequential augmentation of a test session of n views gives its n - 1 (prefix, next item) cases, which are
exactly our test cases (``tools.sessions.data.next_item_cases``).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

HEADER = ("session_id:token", "item_id:token", "timestamp:float")
TRAIN_PREFIX, TEST_PREFIX = "train_", "test_"
SECONDS_PER_DAY = 86400


@dataclass(frozen=True)
class AtomicRow:
    session: str
    item: str
    timestamp: float


def _check_token(value: str, what: str) -> str:
    if not value or any(c in value for c in "\t\n\r "):
        raise ValueError(f"{what} {value!r} cannot be a RecBole token (empty, or has a tab, space or newline)")
    return value


def session_rows(sessions: Sequence, prefix: str) -> list[AtomicRow]:
    """Rows for sessions (``tools.sessions.data.Session``: session_id, items, time in days)."""
    rows = []
    for s in sessions:
        if len(s.items) >= SECONDS_PER_DAY:
            raise ValueError(f"session {s.session_id} has too many views for the day * 86400 + position timestamp")
        token = _check_token(prefix + str(s.session_id), "session id")
        for position, item in enumerate(s.items):
            rows.append(AtomicRow(token, _check_token(str(item), "item id"),
                                  float(s.time) * SECONDS_PER_DAY + position))
    return rows


def atomic_rows(dataset) -> list[AtomicRow]:
    """Train sessions then test sessions (``SessionDataset.train`` and ``.test``), each in their order."""
    rows = session_rows(dataset.train, TRAIN_PREFIX) + session_rows(dataset.test, TEST_PREFIX)
    tokens = [r.session for r in rows]
    runs = sum(1 for i, t in enumerate(tokens) if i == 0 or t != tokens[i - 1])
    if runs != len(set(tokens)):
        raise ValueError("a session id occurs twice on the same side of the split")
    return rows


def write_atomic(dataset, folder: Path | str, name: str) -> Path:
    """``<folder>/<name>/<name>.inter`` (RecBole's ``data_path`` / ``dataset`` layout); returns the file."""
    out = Path(folder) / name / f"{name}.inter"
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(HEADER)
        for row in atomic_rows(dataset):
            writer.writerow((row.session, row.item, repr(row.timestamp)))
    return out


def read_atomic(path: Path | str) -> list[AtomicRow]:
    with Path(path).open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle, delimiter="\t")
        header = tuple(next(reader))
        if header != HEADER:
            raise ValueError(f"{path}: header {header}, expected {HEADER}")
        return [AtomicRow(s, i, float(t)) for s, i, t in reader]


def sessions_from_rows(rows: Sequence[AtomicRow]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(train, test): session id (side prefix removed) -> items ordered by timestamp, as RecBole orders them."""
    grouped: dict[str, list[AtomicRow]] = {}
    for row in rows:
        grouped.setdefault(row.session, []).append(row)
    train: dict[str, list[str]] = {}
    test: dict[str, list[str]] = {}
    for token, views in grouped.items():
        items = [r.item for r in sorted(views, key=lambda r: r.timestamp)]
        if token.startswith(TRAIN_PREFIX):
            train[token[len(TRAIN_PREFIX):]] = items
        elif token.startswith(TEST_PREFIX):
            test[token[len(TEST_PREFIX):]] = items
        else:
            raise ValueError(f"session token {token!r} is on neither side")
    return train, test


def augment(sessions: Sequence[Sequence[str]]) -> list[tuple[tuple[str, ...], str]]:
    """RecBole's sequential data augmentation (``SequentialDataset.data_augmentation``, no length cap): every
    prefix of a session and its next item, in session order."""
    return [(tuple(items[:i]), items[i]) for items in sessions for i in range(1, len(items))]

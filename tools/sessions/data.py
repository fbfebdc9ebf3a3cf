"""Item-id session data for the session models: the Diginetica sample read and split as SR-GNN does, and a
generic ``SessionDataset`` (train sessions + next-item test cases) other session sources can be turned into.

Diginetica preprocessing, following SR-GNN's ``datasets/preprocess.py`` (Wu et al., AAAI 2019):
1. a session's views are ordered by ``timeframe`` (ties keep file order); its date is the ``eventdate`` of its
   last row in the file, as SR-GNN takes it (only 2 sample sessions span two dates: then it may not be the latest);
2. sessions of length 1 are dropped; then items seen fewer than 5 times (views, counted over the remaining
   sessions, once) are removed from every session, and sessions left shorter than 2 are dropped;
3. split by time: with ``max`` the latest session date, train = sessions dated before ``max - 7 days``, test =
   sessions dated after it. SR-GNN's inequalities are both strict, so sessions dated exactly ``max - 7 days``
   are in neither (counted in ``stats["boundary_sessions"]``);
4. test items never seen in train are removed and test sessions left shorter than 2 are dropped;
5. every test session of length n gives n - 1 cases (prefix, next item), SR-GNN's sequence augmentation.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from catalog.shared_data import shared_data_root

DIGINETICA_DIR = "sessions-diginetica-sample"
DIGINETICA_FILE = "sample_train-item-views.csv"
_COLUMNS = ("session_id", "item_id", "timeframe", "eventdate")

Case = tuple[tuple[str, ...], str]  # (the items viewed so far, the next item)


class SessionDataError(ValueError):
    """A session file that is missing or not in the expected format."""


@dataclass(frozen=True)
class Session:
    session_id: str
    items: tuple[str, ...]
    time: float  # in days (Diginetica: the date's proleptic ordinal); STAN's recency decay uses this unit


@dataclass
class SessionDataset:
    name: str
    train: list[Session]
    test_cases: list[Case]
    test: list[Session] = field(default_factory=list)
    stats: dict[str, object] = field(default_factory=dict)


def load_diginetica(path: Path | str) -> list[Session]:
    """Sessions in order of first appearance, each with its views ordered by timeframe (stable)."""
    path = Path(path)
    rows: dict[str, list[tuple[int, str]]] = {}
    dates: dict[str, str] = {}
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle, delimiter=";")
            missing = [c for c in _COLUMNS if c not in (reader.fieldnames or ())]
            if missing:
                raise SessionDataError(f"{path}: not a Diginetica item-views file (missing {', '.join(missing)})")
            for line, row in enumerate(reader, start=2):
                try:
                    sid, frame, date = row["session_id"], int(row["timeframe"]), row["eventdate"]
                    dt.date.fromisoformat(date)
                except (TypeError, ValueError) as exc:
                    raise SessionDataError(f"{path}:{line}: bad timeframe or eventdate ({exc})") from None
                rows.setdefault(sid, []).append((frame, row["item_id"]))
                dates[sid] = date  # the last row's date, as SR-GNN
    except OSError as exc:
        raise SessionDataError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise SessionDataError(f"{path}: not a readable CSV file ({exc})") from None
    return [Session(sid, tuple(item for _, item in sorted(views, key=lambda v: v[0])),
                    float(dt.date.fromisoformat(dates[sid]).toordinal())) for sid, views in rows.items()]


def preprocess(sessions: Iterable[Session], min_item_support: int = 5, min_length: int = 2) -> list[Session]:
    """SR-GNN's filter: drop short sessions, then rare items (one counting pass), then sessions made short."""
    kept = [s for s in sessions if len(s.items) >= min_length]
    support = Counter(item for s in kept for item in s.items)
    out = []
    for s in kept:
        items = tuple(i for i in s.items if support[i] >= min_item_support)
        if len(items) >= min_length:
            out.append(Session(s.session_id, items, s.time))
    return out


def split_by_time(sessions: Sequence[Session], test_days: float = 7) -> tuple[list[Session], list[Session]]:
    """(train, test), each sorted by time (stable). Sessions exactly on the split date go to neither (SR-GNN)."""
    if not sessions:
        return [], []
    split = max(s.time for s in sessions) - test_days
    train = sorted((s for s in sessions if s.time < split), key=lambda s: s.time)
    test = sorted((s for s in sessions if s.time > split), key=lambda s: s.time)
    return train, test


def next_item_cases(sessions: Iterable[Session | Sequence[str]]) -> list[Case]:
    """Every (prefix, next item) of every session, in SR-GNN's order (the last target of a session first)."""
    cases = []
    for s in sessions:
        items = tuple(s.items if isinstance(s, Session) else s)
        cases.extend((items[:-i], items[-i]) for i in range(1, len(items)))
    return cases


def build_dataset(name: str, train: Sequence[Session], test: Sequence[Session], min_length: int = 2,
                  **stats: object) -> SessionDataset:
    """A dataset from an already split train/test: test items unseen in train are removed (a model cannot
    recommend them), test sessions left shorter than ``min_length`` dropped, then the test cases built."""
    known = {item for s in train for item in s.items}
    kept = []
    for s in test:
        items = tuple(i for i in s.items if i in known)
        if len(items) >= min_length:
            kept.append(Session(s.session_id, items, s.time))
    cases = next_item_cases(kept)
    stats.update(train_sessions=len(train), test_sessions=len(kept), test_sessions_dropped=len(test) - len(kept),
                 train_items=len(known), train_events=sum(len(s.items) for s in train),
                 train_cases=sum(len(s.items) - 1 for s in train), test_cases=len(cases))
    return SessionDataset(name, list(train), cases, kept, stats)


def _day(ordinal: float) -> str:
    return dt.date.fromordinal(int(ordinal)).isoformat()


def diginetica_path() -> Path:
    """``$INTERAREC_SHARED_DATA`` (the shared data root) or ``<repo>/../shared/data``, plus the sample's file."""
    shared = shared_data_root() or Path("shared") / "data"  # a relative path gives a clear "cannot read" error
    return shared / DIGINETICA_DIR / DIGINETICA_FILE


def diginetica_split(path: Path | str | None = None, test_days: float = 7, min_item_support: int = 5,
                     name: str = "diginetica") -> SessionDataset:
    """The Diginetica sample split exactly as documented at the top of this module (the split every session
    model comparison uses)."""
    raw = load_diginetica(path or diginetica_path())
    sessions = preprocess(raw, min_item_support=min_item_support)
    train, test = split_by_time(sessions, test_days)
    split = max(s.time for s in sessions) - test_days if sessions else 0.0
    return build_dataset(
        name, train, test,
        raw_sessions=len(raw), raw_events=sum(len(s.items) for s in raw),
        raw_items=len({i for s in raw for i in s.items}), sessions=len(sessions),
        items=len({i for s in sessions for i in s.items}),
        boundary_sessions=sum(s.time == split for s in sessions),
        split_date=_day(split) if sessions else None,
        first_date=_day(min(s.time for s in sessions)) if sessions else None,
        last_date=_day(max(s.time for s in sessions)) if sessions else None,
    )

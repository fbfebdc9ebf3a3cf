"""What the service keeps per shopper besides the frames: which frame-store session holds their frames, and the
latest results (summary, ranked list, how far the frames were processed). One SQLite database in WAL mode
(``DATA_DIR/service.sqlite``), shared by the API and the workers of one machine.

A worker commits a result in one transaction that also moves ``processed_upto``; only then is its job
acknowledged, so a worker killed before the commit leaves the frame to be processed again, and one killed after
it leaves a job that finds its frame already covered."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS shoppers (
    shop TEXT NOT NULL,
    shopper TEXT NOT NULL,
    session_id TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (shop, shopper)
);
CREATE TABLE IF NOT EXISTS results (
    shop TEXT NOT NULL,
    shopper TEXT NOT NULL,
    version INTEGER NOT NULL,
    processed_upto INTEGER NOT NULL,
    summary TEXT NOT NULL,
    recommendations TEXT NOT NULL,
    unmet TEXT NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (shop, shopper)
);
"""


@dataclass(frozen=True)
class Shopper:
    shop: str
    shopper: str
    session_id: str
    created_at: float


@dataclass(frozen=True)
class Result:
    version: int  # 1 for the first result, one more at every commit that changed the recommendations
    processed_upto: int  # the frame-store sequence of the newest frame this result covers
    summary: dict[str, Any]
    recommendations: list[dict[str, Any]]
    unmet: list[str]
    updated_at: float


class ServiceStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=10000")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def ping(self) -> None:
        with self._lock:
            self._db.execute("SELECT COUNT(*) FROM shoppers").fetchone()

    def shopper(self, shop: str, shopper: str) -> Shopper | None:
        with self._lock:
            row = self._db.execute("SELECT shop, shopper, session_id, created_at FROM shoppers WHERE shop = ? AND "
                                   "shopper = ?", (shop, shopper)).fetchone()
        return Shopper(*row) if row else None

    def add_shopper(self, shop: str, shopper: str, session_id: str) -> Shopper:
        """The shopper's row; when another request created it first, that one (its session wins)."""
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO shoppers (shop, shopper, session_id, created_at) VALUES "
                             "(?, ?, ?, ?)", (shop, shopper, session_id, time.time()))
        found = self.shopper(shop, shopper)
        assert found is not None
        return found

    def result(self, shop: str, shopper: str) -> Result | None:
        with self._lock:
            row = self._db.execute("SELECT version, processed_upto, summary, recommendations, unmet, updated_at "
                                   "FROM results WHERE shop = ? AND shopper = ?", (shop, shopper)).fetchone()
        if row is None:
            return None
        return Result(row[0], row[1], json.loads(row[2]), json.loads(row[3]), json.loads(row[4]), row[5])

    def processed_upto(self, shop: str, shopper: str) -> int:
        result = self.result(shop, shopper)
        return -1 if result is None else result.processed_upto

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write transaction under the store's lock (BEGIN IMMEDIATE: writers wait for each other, not fail):
        committed when the block ends unless the block rolled back itself, rolled back on any error."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            if self._db.in_transaction:
                self._db.execute("COMMIT")

    def commit(self, shop: str, shopper: str, session_id: str, upto: int, summary: dict[str, Any],
               recommendations: list[dict[str, Any]], unmet: list[str]) -> Result | None:
        """Store a result covering frames up to ``upto``; the version moves only when the ranked list or the
        summary changed. None (nothing stored) when the shopper was erased or re-created meanwhile, or a result
        as new is already there."""
        with self._transaction():
            owner = self._db.execute("SELECT session_id FROM shoppers WHERE shop = ? AND shopper = ?",
                                     (shop, shopper)).fetchone()
            row = self._db.execute("SELECT version, processed_upto, summary, recommendations FROM results "
                                   "WHERE shop = ? AND shopper = ?", (shop, shopper)).fetchone()
            if owner is None or owner[0] != session_id or (row is not None and row[1] >= upto):
                self._db.execute("ROLLBACK")
                return None
            summary_text, recs_text = json.dumps(summary, sort_keys=True), json.dumps(recommendations)
            changed = row is None or row[2] != summary_text or row[3] != recs_text
            version = 1 if row is None else row[0] + int(changed)
            now = time.time()
            self._db.execute("INSERT OR REPLACE INTO results (shop, shopper, version, processed_upto, summary, "
                             "recommendations, unmet, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                             (shop, shopper, version, upto, summary_text, recs_text, json.dumps(unmet), now))
        return Result(version, upto, summary, recommendations, unmet, now)

    def erase(self, shop: str, shopper: str) -> dict[str, bool]:
        """Remove the shopper's rows; says which there were."""
        with self._transaction():
            had_result = self._db.execute("DELETE FROM results WHERE shop = ? AND shopper = ?",
                                          (shop, shopper)).rowcount > 0
            had_shopper = self._db.execute("DELETE FROM shoppers WHERE shop = ? AND shopper = ?",
                                           (shop, shopper)).rowcount > 0
        return {"shopper": had_shopper, "summary_and_recommendations": had_result}

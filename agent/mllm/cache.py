"""What the MLLM summariser remembers so that no frame is paid for twice: validated answers keyed by
(model, prompt, image hashes), the image hashes each summary has covered, and each endpoint's structured-output
mode and whether it takes image parts. One small SQLite database; without a path it lives in memory for the
summariser's lifetime only.

A cache must never break a run: a file that cannot be opened or written is logged and replaced by memory.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS capabilities (
    endpoint TEXT NOT NULL, model TEXT NOT NULL, mode TEXT NOT NULL, probed_at REAL NOT NULL,
    PRIMARY KEY (endpoint, model)
);
CREATE TABLE IF NOT EXISTS image_input (
    endpoint TEXT NOT NULL, model TEXT NOT NULL, accepted INTEGER NOT NULL, reason TEXT NOT NULL,
    probed_at REAL NOT NULL, PRIMARY KEY (endpoint, model)
);
CREATE TABLE IF NOT EXISTS answers (
    key TEXT PRIMARY KEY, model TEXT NOT NULL, answer TEXT NOT NULL, labels TEXT NOT NULL, created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS covered (
    summary TEXT PRIMARY KEY, images TEXT NOT NULL, created_at REAL NOT NULL
);
"""


def digest(*parts: object) -> str:
    """A stable sha256 over JSON-serialisable parts."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class SummaryCache:
    """Thread-safe; ``path=None`` keeps everything in memory."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self._lock = threading.Lock()
        self._db = self._open(self.path)

    @staticmethod
    def _open(path: Path | None) -> sqlite3.Connection:
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(path, timeout=5, check_same_thread=False)
                db.executescript(_SCHEMA)
                return db
            except (OSError, sqlite3.Error) as exc:
                log.warning("MLLM cache %s is unusable (%s): keeping this run's cache in memory", path, exc)
        db = sqlite3.connect(":memory:", check_same_thread=False)
        db.executescript(_SCHEMA)
        return db

    def _read(self, sql: str, args: tuple) -> tuple | None:
        with self._lock:
            try:
                return self._db.execute(sql, args).fetchone()
            except sqlite3.Error as exc:
                log.warning("MLLM cache read failed (%s): treated as a miss", exc)
                return None

    def _write(self, sql: str, args: tuple) -> None:
        with self._lock:
            try:
                with self._db:
                    self._db.execute(sql, args)
            except sqlite3.Error as exc:
                log.warning("MLLM cache write failed (%s): not cached", exc)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # structured-output mode per endpoint and model

    def capability(self, endpoint: str, model: str) -> str | None:
        row = self._read("SELECT mode FROM capabilities WHERE endpoint = ? AND model = ?", (endpoint, model))
        return row[0] if row else None

    def remember_capability(self, endpoint: str, model: str, mode: str) -> None:
        self._write("INSERT OR REPLACE INTO capabilities VALUES (?, ?, ?, ?)", (endpoint, model, mode, time.time()))

    def forget_capability(self, endpoint: str, model: str) -> None:
        self._write("DELETE FROM capabilities WHERE endpoint = ? AND model = ?", (endpoint, model))

    # whether the endpoint's model takes image parts (a text-only model refuses them): None = not known yet

    def images(self, endpoint: str, model: str) -> tuple[bool, str] | None:
        row = self._read("SELECT accepted, reason FROM image_input WHERE endpoint = ? AND model = ?",
                         (endpoint, model))
        return (bool(row[0]), row[1]) if row else None

    def remember_images(self, endpoint: str, model: str, accepted: bool, reason: str = "") -> None:
        self._write("INSERT OR REPLACE INTO image_input VALUES (?, ?, ?, ?, ?)",
                    (endpoint, model, int(accepted), reason, time.time()))

    # answers: the model's validated JSON, with the frame label -> image sha256 it was asked with

    def answer(self, key: str) -> tuple[dict, dict[str, str]] | None:
        row = self._read("SELECT answer, labels FROM answers WHERE key = ?", (key,))
        if row is None:
            return None
        try:
            return json.loads(row[0]), json.loads(row[1])
        except json.JSONDecodeError:
            return None

    def remember_answer(self, key: str, model: str, answer: dict, labels: dict[str, str]) -> None:
        self._write("INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?, ?)",
                    (key, model, json.dumps(answer, separators=(",", ":")), json.dumps(labels), time.time()))

    # which screenshots (by sha256) a summary has covered, keyed by the summary's digest

    def covered(self, summary_digest: str) -> set[str] | None:
        row = self._read("SELECT images FROM covered WHERE summary = ?", (summary_digest,))
        return set(json.loads(row[0])) if row else None

    def remember_covered(self, summary_digest: str, images: Iterable[str]) -> None:
        self._write("INSERT OR REPLACE INTO covered VALUES (?, ?, ?)",
                    (summary_digest, json.dumps(sorted(set(images))), time.time()))


def cited_frame_ids(value: Any) -> set[str]:
    """Every screenshot id a summary (as JSON) cites in its evidence."""
    if isinstance(value, dict):
        ids = set(value.get("frame_ids") or [])
        if isinstance(value.get("frame_id"), str):
            ids.add(value["frame_id"])
        return ids.union(*(cited_frame_ids(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(cited_frame_ids(v) for v in value))
    return set()


def relabel(value: Any, mapping: dict[str, str]) -> Any:
    """A cached answer with its screenshot ids replaced by the ids of the frames asked about now (the same
    images can come back under other ids, e.g. in another session)."""
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            if key == "frame_ids" and isinstance(item, list):
                result[key] = [mapping.get(i, i) for i in item]
            elif key == "frame_id" and isinstance(item, str):
                result[key] = mapping.get(item, item)
            else:
                result[key] = relabel(item, mapping)
        return result
    if isinstance(value, list):
        return [relabel(item, mapping) for item in value]
    return value

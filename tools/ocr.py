"""Optical character recognition of screenshots with RapidOCR (models ship in the wheel; nothing downloads)."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OcrLine:
    """One line of text and its box in screenshot pixels."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    score: float

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    @property
    def y_center(self) -> float:
        return (self.y0 + self.y1) / 2


# Changes when the engine or its settings change, so cached lines from another configuration are not reused.
ENGINE_KEY = "rapidocr-3/pp-ocrv6-small/no-cls"


class RapidOcrReader:
    """Thread-safe wrapper: the engine is built once, on first use (about 1 s)."""

    name = "RapidOCR (PP-OCR, onnxruntime)"

    def __init__(self, cache_path: Path | None = None) -> None:
        self._engine = None
        self._lock = threading.Lock()
        self._cache = OcrCache(cache_path) if cache_path else None
        self.calls = 0  # OCR runs (cache hits excluded)

    def _get_engine(self):
        if self._engine is None:
            # RapidOCR logs every model path at INFO on its own handler; keep the CLI's stderr for progress.
            logging.getLogger("RapidOCR").setLevel(logging.WARNING)
            from rapidocr import RapidOCR

            # Screens have no rotated text, so the angle classifier is skipped.
            self._engine = RapidOCR(params={"Global.use_cls": False, "Global.log_level": "warning"})
            logging.getLogger("RapidOCR").setLevel(logging.WARNING)
        return self._engine

    def read(self, image: Path | bytes, sha256: str | None = None) -> list[OcrLine]:
        """Lines in reading order: top to bottom, then left to right. With ``sha256`` (the image's content
        hash) and a cache, an image already read is never read again."""
        if sha256 and self._cache and (cached := self._cache.get(sha256)) is not None:
            return cached
        with self._lock:
            result = self._get_engine()(str(image) if isinstance(image, Path) else image)
            self.calls += 1
        if result.boxes is None or result.txts is None:
            return []
        lines = []
        for box, text, score in zip(result.boxes, result.txts, result.scores):
            xs = [float(point[0]) for point in box]
            ys = [float(point[1]) for point in box]
            lines.append(OcrLine(text.strip(), min(xs), min(ys), max(xs), max(ys), float(score)))
        lines.sort(key=lambda line: (round(line.y_center / 8), line.x0))
        if sha256 and self._cache:
            self._cache.put(sha256, lines)
        return lines


class OcrCache:
    """OCR lines by image content hash, in SQLite: reading depends only on the pixels and the engine."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS ocr (sha256 TEXT, engine TEXT, lines TEXT NOT NULL, "
                         "PRIMARY KEY (sha256, engine))")
        self._lock = threading.Lock()

    def get(self, sha256: str) -> list[OcrLine] | None:
        with self._lock:
            row = self._db.execute("SELECT lines FROM ocr WHERE sha256 = ? AND engine = ?",
                                   (sha256, ENGINE_KEY)).fetchone()
        return [OcrLine(*item) for item in json.loads(row[0])] if row else None

    def forget(self, hashes: set[str]) -> None:
        """Erase what was read from these images, also from the database's free pages and its write-ahead log."""
        with self._lock:
            self._db.execute("PRAGMA secure_delete = ON")
            self._db.executemany("DELETE FROM ocr WHERE sha256 = ?", [(sha,) for sha in sorted(hashes)])
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def put(self, sha256: str, lines: list[OcrLine]) -> None:
        payload = json.dumps([[ln.text, ln.x0, ln.y0, ln.x1, ln.y1, ln.score] for ln in lines])
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO ocr VALUES (?, ?, ?)", (sha256, ENGINE_KEY, payload))

"""Optical character recognition of screenshots with RapidOCR (models ship in the wheel; nothing downloads)."""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

_MIN_TEXT_SCORE = 0.5  # RapidOCR's own default: lines recognised with less confidence are dropped


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
# "line-by-line": each detected line is recognised alone (no padding to a batch's widest line), so a line's text
# depends only on its own pixels, whichever other lines were read with it or were found in the line cache.
ENGINE_KEY = "rapidocr-3/pp-ocrv6-small/no-cls/line-by-line"
LINE_CACHE_SIZE = 50_000  # recognised lines kept in memory, by their pixels (a line is about 100 bytes)


class OcrInterrupted(Exception):  # noqa: N818 (it is not an error: the caller asked to stop)
    """A read was given up because the caller asked (something more urgent came). The lines recognised before
    that are kept in the line cache, so reading the same screenshot later does not repeat them."""


class RapidOcrReader:
    """Thread-safe wrapper: the engine is built once, on first use (about 1 s).

    Detection runs on the whole screenshot; recognition, most of the cost (about 30 ms a line, 40 lines on a
    shop page), runs line by line and is skipped for a line whose pixels were recognised before: a shop's header,
    navigation, filters and buttons repeat on every page, and a revisited or scrolled page repeats its cards."""

    name = "RapidOCR (PP-OCR, onnxruntime)"

    def __init__(self, cache_path: Path | None = None, line_cache_size: int = LINE_CACHE_SIZE,
                 threads: int | None = None) -> None:
        self._engine = None
        self.threads = threads  # onnxruntime threads per model session; None: onnxruntime's default (one a core)
        self._lock = threading.Lock()
        self._cache = OcrCache(cache_path) if cache_path else None
        self._lines: OrderedDict[bytes, tuple[str, float]] = OrderedDict()
        self._line_cache_size = line_cache_size
        self.calls = 0  # OCR runs (cache hits excluded)
        self.lines_recognised = 0  # lines run through the recognition model
        self.lines_reused = 0  # lines whose pixels were recognised before

    def _get_engine(self):
        if self._engine is None:
            # RapidOCR logs every model path at INFO on its own handler; keep the CLI's stderr for progress.
            logging.getLogger("RapidOCR").setLevel(logging.WARNING)
            from rapidocr import RapidOCR

            # Screens have no rotated text, so the angle classifier is skipped.
            params: dict[str, object] = {"Global.use_cls": False, "Global.log_level": "warning"}
            if self.threads:  # for a session RapidOCR builds and _rebuild_session keeps
                params |= {"EngineConfig.onnxruntime.intra_op_num_threads": self.threads,
                           "EngineConfig.onnxruntime.inter_op_num_threads": 1}
            engine = RapidOCR(params=params)
            logging.getLogger("RapidOCR").setLevel(logging.WARNING)
            for model in (engine._load_det_model(), engine._load_rec_model()):
                _rebuild_session(model.session, self.threads)
            self._engine = engine
        return self._engine

    @property
    def loaded(self) -> bool:
        return self._engine is not None

    def warm_up(self) -> None:
        """Load the models and run each once (about 1-2 s), so the first screenshot is not slower than the rest."""
        from rapidocr.ch_ppocr_rec import TextRecInput

        with self._lock:
            engine = self._get_engine()
            engine.text_det(np.full((64, 256, 3), 255, dtype=np.uint8))
            engine.text_rec(TextRecInput(img=[np.full((48, 160, 3), 255, dtype=np.uint8)]))

    def read(self, image: Path | bytes, sha256: str | None = None,
             interrupted: Callable[[], bool] | None = None) -> list[OcrLine]:
        """Lines in reading order: top to bottom, then left to right. With ``sha256`` (the image's content
        hash) and a cache, an image already read is never read again. ``interrupted`` is asked before each line
        is recognised; when it says True the read stops with OcrInterrupted."""
        if sha256 and self._cache and (cached := self._cache.get(sha256)) is not None:
            return cached
        with self._lock:
            lines = self._recognise_screen(image, interrupted)
            self.calls += 1
        lines.sort(key=lambda line: (round(line.y_center / 8), line.x0))
        if sha256 and self._cache:
            self._cache.put(sha256, lines)
        return lines

    def _recognise_screen(self, image: Path | bytes, interrupted: Callable[[], bool] | None) -> list[OcrLine]:
        from rapidocr.main import RapidOCRError
        from rapidocr.utils.process_img import map_boxes_to_original

        engine = self._get_engine()
        original = engine.load_img(str(image) if isinstance(image, Path) else image)
        resized, record = engine.preprocess_img(original)
        try:
            crops, detected = engine.detect_and_crop(resized, record)
        except RapidOCRError:  # no text found
            return []
        texts = []
        for crop in crops:
            if interrupted is not None and interrupted():
                raise OcrInterrupted
            texts.append(self._recognise_line(engine, crop))
        boxes = map_boxes_to_original(detected.boxes, record, *original.shape[:2])
        lines = []
        for box, (text, score) in zip(boxes, texts):
            if not text.strip() or score < _MIN_TEXT_SCORE:
                continue
            xs = [float(point[0]) for point in box]
            ys = [float(point[1]) for point in box]
            lines.append(OcrLine(text.strip(), min(xs), min(ys), max(xs), max(ys), float(score)))
        return lines

    def _recognise_line(self, engine, crop: np.ndarray) -> tuple[str, float]:  # noqa: ANN001
        from rapidocr.ch_ppocr_rec import TextRecInput

        key = hashlib.blake2b(np.ascontiguousarray(crop).tobytes() + repr(crop.shape).encode(), digest_size=16).digest()
        if (known := self._lines.get(key)) is not None:
            self._lines.move_to_end(key)
            self.lines_reused += 1
            return known
        result = engine.text_rec(TextRecInput(img=[crop]))
        self.lines_recognised += 1
        text, score = result.txts[0], float(result.scores[0])
        self._lines[key] = (text, score)
        if len(self._lines) > self._line_cache_size:
            self._lines.popitem(last=False)
        return text, score


def _rebuild_session(model_session, threads: int | None = None) -> None:  # noqa: ANN001
    """Rebuild a model's onnxruntime session with the caller's thread count (``threads``: several workers on one
    machine each pinned to their cores; None keeps onnxruntime's default) and two settings RapidOCR does not expose:
    - idle threads sleep instead of spinning: the reader runs beside Chromium capturing on 2 cores, and spinning
      threads take the CPU the browser needs (the embedding's session measured 54 against 115 texts/s that way);
    - no memory pattern per input shape: lines are recognised at their own widths, and onnxruntime keeps a
      pattern for every shape it has seen (375 widths: 571 against 177 MiB; no measurable speed difference)."""
    import onnxruntime

    path = getattr(model_session.session, "_model_path", None)
    if not path:
        return  # not a file-backed session: keep RapidOCR's own
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 4
    options.enable_cpu_mem_arena = False
    options.enable_mem_pattern = False
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1  # the sessions run sequentially: no inter-op pool is needed
    model_session.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


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

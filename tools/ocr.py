"""Optical character recognition of screenshots with RapidOCR (models ship in the wheel; nothing downloads)."""

from __future__ import annotations

import logging
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


class RapidOcrReader:
    """Thread-safe wrapper: the engine is built once, on first use (about 1 s)."""

    name = "RapidOCR (PP-OCR, onnxruntime)"

    def __init__(self) -> None:
        self._engine = None
        self._lock = threading.Lock()

    def _get_engine(self):
        if self._engine is None:
            # RapidOCR logs every model path at INFO on its own handler; keep the CLI's stderr for progress.
            logging.getLogger("RapidOCR").setLevel(logging.WARNING)
            from rapidocr import RapidOCR

            # Screens have no rotated text, so the angle classifier is skipped.
            self._engine = RapidOCR(params={"Global.use_cls": False, "Global.log_level": "warning"})
            logging.getLogger("RapidOCR").setLevel(logging.WARNING)
        return self._engine

    def read(self, image: Path | bytes) -> list[OcrLine]:
        """Lines in reading order: top to bottom, then left to right."""
        with self._lock:
            result = self._get_engine()(str(image) if isinstance(image, Path) else image)
        if result.boxes is None or result.txts is None:
            return []
        lines = []
        for box, text, score in zip(result.boxes, result.txts, result.scores):
            xs = [float(point[0]) for point in box]
            ys = [float(point[1]) for point in box]
            lines.append(OcrLine(text.strip(), min(xs), min(ys), max(xs), max(ys), float(score)))
        return sorted(lines, key=lambda line: (round(line.y_center / 8), line.x0))

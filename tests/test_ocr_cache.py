"""The OCR cache: an image already read (same content hash) is never read again, across processes."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from tools.ocr import OcrCache, OcrLine, RapidOcrReader


def test_cached_lines_round_trip(tmp_path):
    cache = OcrCache(tmp_path / "ocr.sqlite")
    lines = [OcrLine("₹1,299", 10.0, 20.0, 80.0, 52.0, 0.98), OcrLine("Brand: Titan", 10, 60, 120, 80, 0.9)]
    assert cache.get("abc") is None
    cache.put("abc", lines)
    assert OcrCache(tmp_path / "ocr.sqlite").get("abc") == lines  # a new process sees it


def test_reader_runs_ocr_once_per_image_content(tmp_path):
    image = Image.fromarray(np.full((120, 400, 3), 255, dtype=np.uint8))
    ImageDraw.Draw(image).text((10, 40), "Brand: Maxima", fill=(0, 0, 0))
    path = tmp_path / "shot.png"
    image.save(path)
    reader = RapidOcrReader(cache_path=tmp_path / "ocr.sqlite")
    first = reader.read(path, sha256="sha-1")
    again = reader.read(path, sha256="sha-1")
    assert reader.calls == 1 and again == first
    assert RapidOcrReader(cache_path=tmp_path / "ocr.sqlite").read(path, sha256="sha-1") == first
    reader.read(path)  # no hash given: read, not cached
    assert reader.calls == 2

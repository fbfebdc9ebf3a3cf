"""The OCR cache: an image already read (same content hash) is never read again, across processes."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from tools.perception.ocr import OcrCache, OcrLine, RapidOcrReader


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


def _screen(path, lines: list[str]):
    """A white 1280x800 screen with one line of text per row, drawn in PIL's own scalable font."""
    from PIL import ImageFont

    image = Image.fromarray(np.full((800, 1280, 3), 255, dtype=np.uint8))  # the shop's viewport
    draw, font = ImageDraw.Draw(image), ImageFont.load_default(size=22)
    for row, text in enumerate(lines):
        draw.text((20, 30 + 50 * row), text, fill=(0, 0, 0), font=font)
    image.save(path)
    return path


HEADER = ["InteraShop Login Cart", "Watches Coffee Mugs Bed Linen"]


def test_lines_seen_before_are_not_recognised_again_and_read_the_same(tmp_path):
    first = _screen(tmp_path / "a.png", HEADER + ["Titan Analog Watch", "Price 1,299"])
    second = _screen(tmp_path / "b.png", HEADER + ["Borosil Coffee Mug", "Price 349"])
    reader = RapidOcrReader()
    reader.read(first)
    recognised = reader.lines_recognised
    lines = reader.read(second)
    assert reader.lines_reused >= len(HEADER)  # the header's lines came from the line cache
    assert reader.lines_recognised - recognised <= 2
    fresh = RapidOcrReader()
    assert fresh.read(second) == lines  # what a reader that never saw the first screen reads
    assert "Borosil Coffee Mug" in [line.text for line in lines]


def test_an_interrupted_read_loses_nothing(tmp_path):
    from tools.perception.ocr import OcrInterrupted

    shot = _screen(tmp_path / "a.png", HEADER + ["Titan Analog Watch", "Price 1,299", "Free delivery"])
    reader, asked = RapidOcrReader(), []

    def after_three_lines() -> bool:
        asked.append(1)
        return len(asked) > 3

    with pytest.raises(OcrInterrupted):
        reader.read(shot, sha256="sha-a", interrupted=after_three_lines)
    assert reader.lines_recognised == 3 and reader.calls == 0
    lines = reader.read(shot, sha256="sha-a")
    fresh = RapidOcrReader()
    assert lines == fresh.read(shot)
    assert reader.lines_recognised == fresh.lines_recognised  # the three lines were not recognised twice


def test_warming_up_loads_the_models_without_reading_anything(tmp_path):
    reader = RapidOcrReader(cache_path=tmp_path / "ocr.sqlite")
    assert not reader.loaded
    reader.warm_up()
    assert reader.loaded and reader.calls == 0 and reader.lines_recognised == 0
    shot = _screen(tmp_path / "a.png", ["Titan Analog Watch"])
    assert [line.text for line in reader.read(shot, sha256="sha-a")] == ["Titan Analog Watch"]

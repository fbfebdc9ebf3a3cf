"""Perceptual hashing of screenshots, for near-duplicate suppression and blank-frame detection.

The difference hash (dHash) shrinks the greyscale image to (size+1) x size and records, for each pixel,
whether it is brighter than its right neighbour: visually equal frames (a blinking caret, a cart counter,
JPEG noise) get hashes a few bits apart, while a scroll or a new page changes a large share of the bits.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

HASH_SIZE = 16  # 16 x 16 = 256 bits
BLANK_STDDEV = 3.0  # greyscale standard deviation under which a frame is one flat colour


@dataclass(frozen=True)
class ImageFacts:
    phash: str  # hex
    width: int
    height: int
    blank: bool


def examine(data: bytes) -> ImageFacts:
    """Decode an image once and return its perceptual hash, size and whether it is blank."""
    with Image.open(io.BytesIO(data)) as image:
        width, height = image.size
        grey = image.convert("L")
        small = np.asarray(grey.resize((HASH_SIZE + 1, HASH_SIZE), Image.Resampling.BILINEAR), dtype=np.int16)
        thumb = np.asarray(grey.resize((64, 40), Image.Resampling.BILINEAR), dtype=np.float32)
    bits = (small[:, 1:] > small[:, :-1]).flatten()
    value = int("".join("1" if b else "0" for b in bits), 2)
    return ImageFacts(f"{value:0{HASH_SIZE * HASH_SIZE // 4}x}", width, height, float(thumb.std()) < BLANK_STDDEV)


def distance(a: str, b: str) -> int:
    """Hamming distance between two hex hashes of the same length."""
    return (int(a, 16) ^ int(b, 16)).bit_count()

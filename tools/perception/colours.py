"""The dominant colour of a product photo, named: what the offline reader adds when no colour is written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

# Reference colours for naming (sRGB); the nearest wins.
PALETTE: dict[str, tuple[int, int, int]] = {
    "black": (25, 25, 25), "white": (245, 245, 245), "grey": (128, 128, 128), "silver": (192, 192, 195),
    "red": (200, 30, 35), "maroon": (120, 20, 30), "pink": (235, 140, 175), "orange": (240, 130, 30),
    "yellow": (240, 215, 50), "gold": (205, 165, 60), "brown": (120, 75, 40), "beige": (215, 195, 155),
    "green": (45, 140, 65), "olive": (110, 115, 45), "teal": (20, 125, 125), "blue": (35, 85, 200),
    "navy blue": (25, 35, 85), "purple": (115, 55, 145),
}
_NAMES = list(PALETTE)
_REFERENCE = np.array([PALETTE[n] for n in _NAMES], dtype=np.float32)
_BACKGROUND = 232  # pixels brighter than this in every channel are the photo's white background


def name_colour(rgb: tuple[float, float, float]) -> str:
    distances = ((_REFERENCE - np.asarray(rgb, dtype=np.float32)) ** 2).sum(axis=1)
    return _NAMES[int(distances.argmin())]


def dominant_colour(image: Path, box: tuple[int, int, int, int], min_share: float = 0.08) -> str | None:
    """The named colour covering most of the non-background pixels inside ``box`` (x0, y0, x1, y1), or None
    when the region is (almost) all background."""
    with Image.open(image) as full:
        region = full.convert("RGB").crop(box)
        region.thumbnail((96, 96))
        pixels = np.asarray(region, dtype=np.float32).reshape(-1, 3)
    foreground = pixels[~(pixels > _BACKGROUND).all(axis=1)]
    if len(pixels) == 0 or len(foreground) < min_share * len(pixels):
        return None
    names = [name_colour(tuple(p)) for p in foreground[:: max(1, len(foreground) // 2000)]]
    values, counts = np.unique(names, return_counts=True)
    return str(values[int(counts.argmax())])

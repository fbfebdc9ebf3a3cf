"""Checks on a posted frame before anything is stored: a PNG or JPEG, within the size limits, decodable whole."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

ACCEPTED = {"PNG": "image/png", "JPEG": "image/jpeg"}


class ImageRejected(ValueError):
    """Why a frame's image is refused, with the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class CheckedImage:
    format: str  # PNG or JPEG
    width: int
    height: int
    suffix: str  # .png or .jpg, for the frame store


def check_image(data: bytes, *, max_side_px: int, max_pixels: int) -> CheckedImage:
    """The image's format and size; ImageRejected (415 for what is no PNG or JPEG, 413 for too large, 422 for a
    damaged file). The size is read from the header before any pixel is decoded."""
    if not data:
        raise ImageRejected(422, "the image is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            kind, (width, height) = image.format, image.size
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning, OSError) as exc:
        if isinstance(exc, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
            raise ImageRejected(413, f"the image is too large ({exc})") from exc
        raise ImageRejected(415, "not a PNG or JPEG image") from exc
    if kind not in ACCEPTED:
        raise ImageRejected(415, f"a {kind} image; frames must be PNG or JPEG")
    if width > max_side_px or height > max_side_px or width * height > max_pixels:
        raise ImageRejected(413, f"the image is {width}x{height} px; at most {max_side_px} px a side and "
                                 f"{max_pixels} pixels are accepted")
    try:
        image.load()  # decodes every row: a truncated or corrupt file fails here
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageRejected(422, f"the {kind} image is damaged or truncated ({exc})") from exc
    return CheckedImage(kind, width, height, ".png" if kind == "PNG" else ".jpg")

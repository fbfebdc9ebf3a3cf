"""The line model shared by capture and perception: one run of visible text with its box and style.

Lines come from two sources and the reader treats them alike: the **text layer** our own browser records with
each screenshot (the page's text runs inside the viewport, with font size, weight, colour, line-through and the
element they belong to), and **OCR** of a screenshot that came without one (an imported folder of PNGs), which
fills what it can (text, box, an estimated font size). Boxes are in screenshot pixels, origin top left.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

LineSource = Literal["text-layer", "ocr"]
# OCR boxes are taller than the glyphs' font size: a 16 px font gives a box of about 21 px in RapidOCR.
OCR_BOX_TO_FONT = 0.76


class ScreenLine(BaseModel):
    """A run of text as the shopper saw it."""

    model_config = ConfigDict(frozen=True)

    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    source: LineSource
    font_size: float = Field(description="CSS px; for OCR estimated from the box height")
    font_weight: int = Field(default=400, description="100-900; OCR cannot tell, so 400")
    colour: str = Field(default="", description="'#rrggbb' when known")
    line_through: bool = Field(default=False, description="struck through (a list price beside the sale price)")
    tag: str = Field(default="", description="lower-case tag of the element the text sits in (a, button, span..."
                     "); inside a heading, the heading's (h1 to h6)")
    role: str = Field(default="", description="semantic hint: heading, link, button, label, cell, list-item, ...")
    itemprop: str = Field(default="", description="the schema.org microdata property of an enclosing element")
    score: float = Field(default=1.0, description="recognition confidence (1 for the text layer)")

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def x_center(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def y_center(self) -> float:
        return (self.y0 + self.y1) / 2


def from_ocr(text: str, x0: float, y0: float, x1: float, y1: float, score: float) -> ScreenLine:
    """An OCR line in the shared model: its font size is estimated from the box."""
    return ScreenLine(text=text, x0=x0, y0=y0, x1=x1, y1=y1, source="ocr",
                      font_size=round((y1 - y0) * OCR_BOX_TO_FONT, 1), score=score)


# Compact storage: one JSON array per line, in this order (about a third of the size of objects).
_FIELDS = ("text", "x0", "y0", "x1", "y1", "source", "font_size", "font_weight", "colour", "line_through", "tag",
           "role", "itemprop", "score")


def dump_lines(lines: Iterable[ScreenLine]) -> str:
    rows = []
    for line in lines:
        values = line.model_dump()
        rows.append([round(v, 1) if isinstance(v, float) else v for v in (values[f] for f in _FIELDS)])
    return json.dumps({"fields": list(_FIELDS), "lines": rows}, ensure_ascii=False, separators=(",", ":"))


def load_lines(text: str) -> list[ScreenLine]:
    data = json.loads(text)
    fields: Sequence[str] = data["fields"]
    return [ScreenLine(**dict(zip(fields, row))) for row in data["lines"]]


# A frame's text layer is stored beside its image as <sha>.text.json (tools/capture/frames.py).
SIDECAR_SUFFIX = ".text.json"


class TextLayer(BaseModel):
    """What the page behind one screenshot said: its visible lines and its product markup (the raw output of
    ``tools.capture.page.markup.extract_markup``; None when the page's HTML was not read)."""

    model_config = ConfigDict(frozen=True)

    lines: list[ScreenLine] = Field(default_factory=list)
    markup: dict[str, Any] | None = Field(default=None, description="extract_markup of the page; None: not read")

    def dumps(self) -> str:
        data = json.loads(dump_lines(self.lines))
        data["markup"] = self.markup
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def loads(cls, text: str) -> TextLayer:
        """The text layer in ``text``; ValueError for anything else (not JSON, fields missing or mistyped)."""
        try:
            markup = json.loads(text).get("markup")
            return cls(lines=load_lines(text), markup=markup if isinstance(markup, dict) else None)
        except (KeyError, TypeError, AttributeError) as exc:  # valid JSON of another shape
            raise ValueError(f"not a text layer: {exc!r}") from exc

"""OCR lines as the shared line model: what the pixels of each box tell besides the text.

RapidOCR gives a text and a box per line. The page reader (``tools.perception.page``) weighs lines by font size,
weight and role, which a text layer states and OCR does not. This module estimates them from the screenshot's
pixels, the same way for any page:

* **font size** from the ink's height and the glyphs the text holds (a line of lower-case letters without
  ascenders is shorter on screen than one with capitals and descenders at the same size); the box height
  (a fixed share of it) when the ink cannot be measured;
* **weight** from the strokes' width against the font size (bold strokes are about twice as wide);
* **colour** of the ink;
* **link** when the ink is underlined across the box (the browsers' default for links), **heading** for a
  large or bold line alone on its row; small digits set at the top of an amount beside them are its cents
  ("$19" and a raised "99" read "$19.99");
* the box trimmed to the ink's width (the detector pads it), so words a space apart join as in a text layer.

* **struck through** when a rule crosses the middle of the ink along its whole width (a list price);
* a labelled field ("Brand: X", "• Material: cotton") is set apart from a wrapped title above it, not one of
  its lines.

What OCR cannot tell is left at the line model's defaults: the element's tag and ``itemprop``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from tools.lines import OCR_BOX_TO_FONT, ScreenLine

# Ink height in ems as rendered on screen (antialiased, measured on the development split's screenshots against
# their text layers): capitals, digits and ascenders 0.75 em, with descenders 0.85 em, lower case alone 0.5 em.
_TALL_EM, _X_EM, _DESCENDER_EM = 0.75, 0.5, 0.1
_TALL = re.compile(r"[A-Z0-9bdfhiklt!?$€£¥₹%&@#/\\|()\[\]{}'\"À-ÖØ-ÞА-ЯЁ]")
_LOW = re.compile(r"[gjpqyçµ]")
_WIDE_SCRIPT = re.compile(r"[\u0590-\u08ff\u0e00-\u0e7f\u3000-\u9fff\uac00-\ud7af]")  # Hebrew/Arabic/Thai/CJK/Hangul
_MIN_CONTRAST = 48  # grey levels between ink and background below which the ink is not measured
_BOLD_STROKE = 0.15  # stroke width / font size at and above which a line is bold
_CENTS = re.compile(r"^\d{2}$")
_LABELLED = re.compile(r"^\W{0,2}[^\W\d_][^:：]{0,30}[:：]\s*\S")  # "Brand: X", "• Material: cotton"
_STRIKE_COVER = 0.9  # share of the ink's width a rule across its middle must cover to strike the text through
_STRIKE_MIN = 1.5  # a rule is at least this many ink heights long (no glyph's bar is)


class _OcrBox(Protocol):
    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    score: float


def load_rgb(image: Path | bytes | np.ndarray) -> np.ndarray | None:
    """The screenshot as an RGB array, or None when it cannot be read."""
    if isinstance(image, np.ndarray):
        return image[..., :3] if image.ndim == 3 else np.repeat(image[..., None], 3, axis=2)
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        source = io.BytesIO(image) if isinstance(image, bytes) else image
        with Image.open(source) as img:
            return np.asarray(img.convert("RGB"))
    except (OSError, UnidentifiedImageError, ValueError):
        return None


def screen_lines(boxes: Sequence[_OcrBox], image: Path | bytes | np.ndarray | None = None) -> list[ScreenLine]:
    """OCR boxes as ScreenLines (source "ocr"), with size, weight, colour and role estimated from ``image``
    (the screenshot they were read from) where it is given and readable."""
    rgb = load_rgb(image) if image is not None else None
    lines = [part for box in boxes if box.text.strip() for part in _struck_apart(*_line(box, rgb))]
    return _with_roles(_even_blocks(lines))


def _line(box: _OcrBox, rgb: np.ndarray | None) -> tuple[ScreenLine, _Ink | None]:
    by_box = round((box.y1 - box.y0) * OCR_BOX_TO_FONT, 1)
    fields: dict = {"font_size": by_box}
    ink = _ink(rgb, box) if rgb is not None else None
    if ink is not None:
        size = _font_size(box.text, ink.height)
        if size is not None and 0.6 * by_box <= size <= 1.35 * by_box:  # a wild estimate (icons, overlaps): the box
            fields["font_size"] = round(size, 1)
        if ink.stroke / max(fields["font_size"], 1.0) >= _BOLD_STROKE:
            fields["font_weight"] = 700
        fields["colour"] = ink.colour
        if ink.underlined:
            fields["role"] = "link"
        # The detector pads its boxes; a text layer's boxes end where the text does, and the layout's rules
        # (words closer than a space are one run) need that.
        x0, x1 = max(box.x0, ink.left), min(box.x1, ink.right)
        if x1 - x0 >= 0.5 * (box.x1 - box.x0):
            fields["x0"], fields["x1"] = x0, x1
    fields.setdefault("x0", box.x0)
    fields.setdefault("x1", box.x1)
    return ScreenLine(text=box.text.strip(), y0=box.y0, y1=box.y1, source="ocr", score=box.score, **fields), ink


def _struck_apart(line: ScreenLine, ink: _Ink | None) -> list[ScreenLine]:
    """A line with a rule through its middle is struck through; when the rule crosses only some of its words
    (the detector joined a struck list price and the text beside it: "3,959 50% off"), those words are a struck
    line of their own. Words are placed by their share of the characters, and split at the space nearest the
    rule's ends."""
    if ink is None or ink.strike is None:
        return [line]
    width = max(1.0, ink.right - ink.left)
    x0, x1 = ink.strike
    if x1 - x0 >= _STRIKE_COVER * width:
        return [line.model_copy(update={"line_through": True})]
    text, n = line.text, len(line.text)
    spaces = [i for i, c in enumerate(text) if c == " "]
    if not spaces:
        return [line]

    def at(i: int) -> float:
        return ink.left + width * i / n

    start = 0 if x0 - ink.left < 0.1 * width else min(spaces, key=lambda i: abs(at(i) - x0)) + 1
    end = n if ink.right - x1 < 0.1 * width else min(spaces, key=lambda i: abs(at(i) - x1))
    if end <= start or (start, end) == (0, n):
        return [line]
    parts = [(0, start, False), (start, end, True), (end, n, False)]
    return [line.model_copy(update={"text": text[a:b].strip(), "x0": at(a), "x1": at(b), "line_through": struck})
            for a, b, struck in parts if text[a:b].strip()]


def _font_size(text: str, ink_height: float) -> float | None:
    if ink_height < 4:
        return None
    if _WIDE_SCRIPT.search(text):
        return ink_height / _TALL_EM  # Arabic, Hebrew, CJK: as tall as capitals, measured alike
    letters = [c for c in text if not c.isspace()]
    if not letters:
        return None
    top = _TALL_EM if any(_TALL.match(c) for c in letters) else _X_EM
    bottom = _DESCENDER_EM if any(_LOW.match(c) for c in letters) else 0.0
    return ink_height / (top + bottom)


class _Ink:
    __slots__ = ("colour", "height", "left", "right", "strike", "stroke", "underlined")

    def __init__(self, height: float, stroke: float, colour: str, underlined: bool, left: float, right: float,
                 strike: tuple[float, float] | None = None) -> None:
        self.height, self.stroke, self.colour, self.underlined = height, stroke, colour, underlined
        self.left, self.right = left, right  # the ink's horizontal extent, in screenshot pixels
        self.strike = strike  # where a rule crosses the middle of the ink (x0, x1), or None


def _ink(rgb: np.ndarray, box: _OcrBox) -> _Ink | None:
    """The ink of one box: its height (without an underline), mean stroke width, colour, and whether a rule runs
    under it. None when the box has too little contrast to tell ink from background."""
    h, w = rgb.shape[:2]
    x0, y0 = max(0, int(box.x0)), max(0, int(box.y0))
    x1, y1 = min(w, int(np.ceil(box.x1))), min(h, int(np.ceil(box.y1)))
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    crop = rgb[y0:y1, x0:x1].astype(np.int16)
    grey = crop.mean(axis=2)
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    background = float(np.median(border))
    contrast = np.abs(grey - background)
    peak = float(contrast.max())
    if peak < _MIN_CONTRAST:
        return None
    ink = contrast >= max(_MIN_CONTRAST, 0.5 * peak)
    rows = ink.sum(axis=1)
    width = x1 - x0
    # A rule under the text (a link's underline, or a border) covers most of the width in one or two rows, in the
    # lowest third of the ink (one through its middle strikes the text through).
    ruled = np.flatnonzero(rows >= 0.85 * width)
    inked = np.flatnonzero(rows >= 2)  # a lone descender (one "g" in a long line) is two or three pixels wide
    if inked.size == 0:
        return None
    underlined = bool(ruled.size and ruled.min() > inked.min() + 0.7 * (inked.max() - inked.min()) and
                      ruled.size <= max(2, 0.12 * (y1 - y0)))
    keep = np.setdiff1d(inked, ruled) if underlined else inked
    if keep.size == 0:
        return None
    # Boxes are padded and catch the edges of the lines above and below: keep the run of inked rows (blank
    # rows split runs) that holds the most ink.
    runs = np.split(keep, np.flatnonzero(np.diff(keep) > 1) + 1)
    main = max(runs, key=lambda run: int(rows[run].sum()))
    top, bottom = int(main.min()), int(main.max())
    band = ink[top:bottom + 1]
    # Mean horizontal run of ink: runs start where ink follows background.
    starts = int(np.count_nonzero(band[:, 1:] & ~band[:, :-1]) + np.count_nonzero(band[:, 0]))
    stroke = float(band.sum()) / starts if starts else 0.0
    colour = np.median(crop[ink], axis=0).astype(int)
    columns = np.flatnonzero(band.any(axis=0))
    # A strike: in the middle half of the ink, a row with one unbroken run of ink far longer than a glyph.
    span = band[:, columns.min():columns.max() + 1]
    height = bottom - top + 1
    longest = (0, 0)
    for row in span[height // 4: height - height // 4] if height >= 6 else []:
        edges = np.flatnonzero(np.diff(np.concatenate([[0], row.astype(np.int8), [0]])))
        if edges.size and (k := int(np.argmax(edges[1::2] - edges[::2]))) >= 0 \
                and edges[2 * k + 1] - edges[2 * k] > longest[1] - longest[0]:
            longest = (int(edges[2 * k]), int(edges[2 * k + 1]))
    left = float(x0 + columns.min())
    strike = (left + longest[0], left + longest[1]) if longest[1] - longest[0] >= _STRIKE_MIN * height else None
    return _Ink(float(height), stroke, "#{:02x}{:02x}{:02x}".format(*colour), underlined,
                left, float(x0 + columns.max() + 1), strike)


BLOCK_X_TOLERANCE = 3.0  # px: the left edges of the lines of one left-aligned block agree this well
BLOCK_SIZE_RATIO = 1.4  # the sizes estimated for the lines of one block differ by at most this factor
BLOCK_PITCH_SPREAD = 0.15  # the line pitches of one block differ from their median by at most this share


def _even_blocks(lines: list[ScreenLine]) -> list[ScreenLine]:
    """Left-aligned, evenly spaced lines of about one size (a title or a paragraph that wraps) are set in one
    font: each gets the block's median size and its majority weight, and boxes that overlap by a few pixels
    meet halfway. The ink of single lines is uneven (a line of lower case without ascenders, a stray
    antialiased row), so sizes estimated line by line differ by a fifth or more within one heading, and a
    wrapped title would otherwise read as lines of different kinds."""
    order = sorted(range(len(lines)), key=lambda i: (lines[i].y0, lines[i].x0))
    taken: set[int] = set()
    out = list(lines)
    for start in order:
        if start in taken:
            continue
        block = [start]
        for i in order:
            last = lines[block[-1]]
            line = lines[i]
            if i in taken or i in block or line.y0 <= last.y0:
                continue
            if abs(line.x0 - lines[start].x0) > BLOCK_X_TOLERANCE:
                continue
            if _LABELLED.match(line.text) or _LABELLED.match(lines[start].text):
                break  # a labelled field below a title is not the title's next line
            if line.y0 - last.y1 > 0.5 * max(last.height, line.height):
                break  # a gap wider than a line's leading ends the block (the next line at this x is apart)
            sizes = [lines[j].font_size for j in block] + [line.font_size]
            if max(sizes) > BLOCK_SIZE_RATIO * min(sizes):
                break
            pitches = [lines[b].y0 - lines[a].y0 for a, b in zip(block, block[1:], strict=False)]
            pitches.append(line.y0 - last.y0)
            middle = sorted(pitches)[len(pitches) // 2]
            if any(abs(p - middle) > BLOCK_PITCH_SPREAD * middle for p in pitches):
                break
            block.append(i)
        if len(block) < 2:
            continue
        taken.update(block)
        members = [lines[i] for i in block]
        size = sorted(m.font_size for m in members)[len(members) // 2]
        bold = sum(len(m.text) for m in members if m.font_weight >= 700)
        weight = 700 if 2 * bold > sum(len(m.text) for m in members) else 400
        edges = [(m.y0, m.y1) for m in members]
        for k in range(len(edges) - 1):  # overlapping edges (the detector's padding) split halfway
            (a0, a1), (b0, b1) = edges[k], edges[k + 1]
            if a1 > b0:
                middle = (a1 + b0) / 2
                edges[k], edges[k + 1] = (a0, middle), (middle, b1)
        for i, (y0, y1) in zip(block, edges, strict=True):
            out[i] = lines[i].model_copy(update={"font_size": size, "font_weight": weight, "y0": y0, "y1": y1})
    return out


def _with_roles(lines: list[ScreenLine]) -> list[ScreenLine]:
    """Roles the layout shows: a large or bold line alone on its row is a heading (also when underlined: a
    heading that links somewhere is still set as a heading); two small digits at the top right of an amount
    are its cents (a superscript)."""
    if not lines:
        return lines
    sizes = sorted(line.font_size for line in lines for _ in range(min(len(line.text), 80)))
    body = sizes[len(sizes) // 2]
    out: list[ScreenLine] = []
    cents: dict[int, ScreenLine] = {}  # id of an amount's line -> its superscript cents
    for line in lines:
        # Its row: lines beside it, not text in another column far across the page (a sidebar's button).
        row = [o for o in lines if o is not line and min(o.y1, line.y1) - max(o.y0, line.y0) > 0.4 * min(
            o.height, line.height) and max(o.x0 - line.x1, line.x0 - o.x1) < 3 * max(o.font_size, line.font_size)]
        role = line.role
        if _CENTS.match(line.text):
            amount = [o for o in row if -0.5 * o.font_size <= line.x0 - o.x1 < 0.6 * o.font_size
                      and re.search(r"\d$", o.text) and not re.search(r"[.,]\d{1,2}$", o.text)
                      and line.font_size < 0.8 * o.font_size and line.y_center < o.y_center]
            if amount:
                cents[id(amount[0])] = line
                continue
        elif role in ("", "link") and not row and len(line.text) <= 120 and re.search(r"[^\W\d_]{2}", line.text) \
                and (line.font_size >= 1.3 * body or line.font_weight >= 700):
            role = "heading"
        out.append(line if role == line.role else line.model_copy(update={"role": role}))
    # Split cents ("$19" and a raised "99") are one amount, as the shopper reads it: "$19.99" ("1.299" + "00"
    # takes the comma).
    merged = []
    for line in out:
        if (small := cents.get(id(line))) is not None:
            mark = "," if re.search(r"\d\.\d{3}$", line.text) else "."
            line = line.model_copy(update={"text": f"{line.text}{mark}{small.text}", "x1": max(line.x1, small.x1)})
        merged.append(line)
    return merged


FIXED_MIN_VIEWS = 3  # a line at the same screen position in this many scrolled views is fixed to the viewport


def without_fixed(views: Sequence[Sequence[ScreenLine]]) -> list[list[ScreenLine]]:
    """The views of one page visit without what is fixed to the viewport: a line with the same text at the same
    screen position in three or more views taken at different scroll positions (a sticky header, a cookie
    banner over the page) is not part of the page the shopper scrolled through. A text layer knows this from
    the layout; OCR sees it as text, and a banner's heading would otherwise outweigh the product's title."""
    by_text: dict[str, list[tuple[int, ScreenLine]]] = {}
    for v, view in enumerate(views):
        for line in view:
            by_text.setdefault(line.text, []).append((v, line))

    def fixed(line: ScreenLine) -> bool:
        seen = {v for v, other in by_text[line.text]
                if abs(other.x0 - line.x0) <= 6 and abs(other.y0 - line.y0) <= 6}
        return len(seen) >= FIXED_MIN_VIEWS

    return [[line for line in view if not fixed(line)] for view in views]


def visit_lines(boxes: Sequence[Sequence[_OcrBox]], images: Sequence[Path | bytes | np.ndarray | None]
                ) -> list[list[ScreenLine]]:
    """The OCR boxes of each screenshot of one page visit (in browsing order) as the page reader's views:
    ``screen_lines`` of each, then ``without_fixed``."""
    return without_fixed([screen_lines(view, image) for view, image in zip(boxes, images, strict=True)])


# -- frames of one page: the scroll between two screenshots --------------------------------------------------
SHIFT_TOLERANCE = 3.0  # px: boxes of the same line in two screenshots agree this well (detection jitter)
SHIFT_X_TOLERANCE = 12.0  # px: the same for a box's left or right edge (a bullet kept or dropped)
SHIFT_MIN_LINES = 2  # lines that must agree on one shift
SHIFT_MIN_SHARE = 0.5  # of the lines the shift brings into both screenshots, the share that must be found there
_EDGE = 4.0  # px: a line this near a screenshot's edge may be cut off, so it is not expected in the other one


def _key(text: str) -> str:
    # Letters and digits only: OCR keeps or drops a bullet or a stray mark at a line's ends from one crop to the next.
    return re.sub(r"[\W_]+", "", text).casefold()


def _same_column(a: _OcrBox, b: _OcrBox) -> bool:
    # The detector pads boxes a little differently in each screenshot; one of the two edges stays put.
    return abs(a.x0 - b.x0) <= SHIFT_X_TOLERANCE or abs(a.x1 - b.x1) <= SHIFT_X_TOLERANCE


def scroll_shift(before: Sequence[_OcrBox], after: Sequence[_OcrBox], height: float | None = None) -> float | None:
    """How far the page moved up between two screenshots of it (px; negative when the shopper scrolled back up),
    or None when they do not show one page at two scroll positions.

    A scroll moves every line of the page by the same distance and keeps its column: the same text at the same
    x in both screenshots, all at one vertical shift. Lines at no shift are fixed to the viewport (a header,
    a banner) and say nothing; repeated texts ("Add to cart" on every card) vote for wrong shifts too. A shift
    is kept when at least ``SHIFT_MIN_LINES`` lines agree on it and they are most (``SHIFT_MIN_SHARE``) of
    the lines that shift brings into both screenshots, so two pages sharing a footer or a menu at some offset
    are not taken for one; shifts are tried from the one most lines agree on. ``height``: the screenshots'
    height (default: the lowest box)."""
    if not before or not after:
        return None
    view = height or max(max(b.y1 for b in before), max(b.y1 for b in after))
    by_text: dict[str, list[_OcrBox]] = {}
    for box in after:
        if key := _key(box.text):
            by_text.setdefault(key, []).append(box)
    votes: list[tuple[float, int]] = []  # (shift, index of the line in ``before``)
    fixed: set[int] = set()
    for i, box in enumerate(before):
        for other in by_text.get(_key(box.text), ()):
            if not _same_column(box, other):
                continue
            shift = box.y0 - other.y0
            if abs(shift) <= SHIFT_TOLERANCE:
                fixed.add(i)
            else:
                votes.append((shift, i))
    clusters: list[tuple[int, float, set[int]]] = []
    for shift, _ in votes:
        agree = [(s, i) for s, i in votes if abs(s - shift) <= SHIFT_TOLERANCE]
        lines = {i for _, i in agree}
        if len(lines) >= SHIFT_MIN_LINES:
            shifts = sorted(s for s, _ in agree)
            clusters.append((len(lines), shifts[len(shifts) // 2], lines))
    for _, shift, lines in sorted(clusters, key=lambda c: -c[0]):
        # The lines of ``before`` that this shift puts wholly inside ``after``, away from both edges.
        expected = {i for i, box in enumerate(before) if i not in fixed and box.y0 - shift >= _EDGE
                    and box.y1 - shift <= view - _EDGE and box.y0 >= _EDGE and box.y1 <= view - _EDGE}
        found = lines & expected
        if len(found) >= SHIFT_MIN_LINES and len(found) >= SHIFT_MIN_SHARE * len(expected):
            return float(shift)
    return None

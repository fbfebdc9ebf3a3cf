"""OCR boxes made lines of the shared model (tools/perception/ocr_lines.py): size, weight, colour and role read
from a screenshot's pixels. The screenshots are drawn here with Pillow's own font; no OCR engine runs."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from tools.lines import ScreenLine
from tools.perception.ocr import OcrLine
from tools.perception.ocr_lines import screen_lines, visit_lines, without_fixed


def _draw(items, size=(900, 400)):
    """items: (text, x, y, font px, extra) with extra a dict (fill, stroke, underline); returns the PNG and the
    OCR-like boxes (the text's ink box padded as a detector pads it)."""
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    boxes = []
    for text, x, y, px, extra in items:
        font = ImageFont.load_default(size=px)
        fill = extra.get("fill", (20, 20, 20))
        stroke = extra.get("stroke", 0)
        draw.text((x, y), text, font=font, fill=fill, stroke_width=stroke, stroke_fill=fill)
        left, top, right, bottom = draw.textbbox((x, y), text, font=font, stroke_width=stroke)
        if extra.get("strike") is not None:  # a rule through the middle of the first ``strike`` characters
            upto = draw.textbbox((x, y), text[:extra["strike"]] or text, font=font)[2]
            middle = (top + bottom) // 2
            draw.line([(left, middle), (upto, middle)], fill=fill, width=max(1, px // 14))
        if extra.get("underline"):
            draw.line([(left, bottom + 2), (right, bottom + 2)], fill=fill, width=1)
            bottom += 3
        pad = 0.3 * px
        boxes.append(OcrLine(text, left - pad, top - pad, right + pad, bottom + pad, 0.99))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue(), boxes


@pytest.mark.parametrize("px", [14, 20, 32, 48])
def test_font_size_is_estimated_from_the_ink_whatever_the_letters(px):
    png, boxes = _draw([("Hochdruckreiniger K3", 20, 20, px, {}), ("mono aura sense", 20, 150, px, {})])
    for line in screen_lines(boxes, png):
        assert line.source == "ocr" and line.font_size == pytest.approx(px, rel=0.2), line


def test_a_title_reads_larger_than_body_text_beside_the_same_padding():
    png, boxes = _draw([("Ceiling fan with three blades", 20, 20, 34, {}), ("Free returns within 30 days", 20, 120,
                                                                             15, {})])
    title, body = screen_lines(boxes, png)
    assert title.font_size > 1.8 * body.font_size


def test_bold_strokes_are_told_from_regular_ones():
    png, boxes = _draw([("Brand Name Here", 20, 20, 24, {"stroke": 1}), ("Brand Name Here", 20, 120, 24, {})])
    bold, regular = screen_lines(boxes, png)
    assert bold.font_weight >= 700 and regular.font_weight == 400


def test_an_underlined_line_among_others_is_a_link_and_its_ink_colour_is_kept():
    png, boxes = _draw([("Acme Tools", 20, 20, 16, {"fill": (0, 0, 238), "underline": True}),
                        ("in stock", 300, 20, 16, {})])
    link, plain = screen_lines(boxes, png)
    assert link.role == "link" and plain.role == ""
    red, green, blue = (int(link.colour[i:i + 2], 16) for i in (1, 3, 5))
    assert blue > 150 and red < 80 and green < 80


def test_a_large_line_alone_on_its_row_is_a_heading_and_raised_small_digits_are_the_amounts_cents():
    png, boxes = _draw([("Stand mixer 5 litre", 20, 20, 36, {}), ("$19", 20, 150, 36, {}),
                        ("99", 86, 150, 18, {}), ("plain words in the body of the page", 20, 300, 16, {}),
                        ("more plain words here", 20, 330, 16, {})])
    lines = {line.text: line for line in screen_lines(boxes, png)}
    assert lines["Stand mixer 5 litre"].role == "heading"
    assert "$19.99" in lines and "99" not in lines and "$19" not in lines
    assert lines["plain words in the body of the page"].role == ""


def test_without_a_readable_image_the_size_comes_from_the_box():
    [line] = screen_lines([OcrLine("€ 15.99", 10, 20, 70, 41, 0.98)], b"not a png")
    assert line.font_size == pytest.approx(21 * 0.76, abs=0.1) and line.font_weight == 400 and line.role == ""


def _line(text, y, x=10.0):
    return ScreenLine(text=text, x0=x, y0=y, x1=x + 100, y1=y + 20, source="ocr", font_size=16)


def test_lines_fixed_to_the_viewport_are_dropped_from_a_scrolled_visit():
    banner = "We use cookies to improve your experience"
    views = [[_line(banner, 600), _line(f"page text {k}", 100 + k)] for k in range(3)]
    kept = without_fixed(views)
    assert [[line.text for line in view] for view in kept] == [["page text 0"], ["page text 1"], ["page text 2"]]
    # Two views are not enough to tell a fixed banner from a page that did not move.
    assert without_fixed(views[:2]) == [list(view) for view in views[:2]]
    # The same text elsewhere on the screen is page content.
    moved = [[_line(banner, 600 - 100 * k)] for k in range(3)]
    assert without_fixed(moved) == moved


def test_a_visit_needs_one_image_per_view():
    png, boxes = _draw([("Acme", 20, 20, 16, {})])
    assert len(visit_lines([boxes, boxes], [png, None])) == 2
    with pytest.raises(ValueError):
        visit_lines([boxes], [])


def test_a_numpy_screenshot_is_read_like_a_png():
    png, boxes = _draw([("Ceiling fan", 20, 20, 30, {})])
    array = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    assert screen_lines(boxes, array) == screen_lines(boxes, png)


def test_a_rule_through_the_middle_strikes_the_line_through_and_plain_digits_do_not():
    png, boxes = _draw([("$159.99", 20, 20, 20, {"strike": 7}), ("$129.99", 20, 120, 20, {})])
    struck, plain = screen_lines(boxes, png)
    assert struck.line_through and struck.text == "$159.99"
    assert not plain.line_through


def test_a_struck_price_the_detector_joined_to_the_words_beside_it_is_a_struck_line_of_its_own():
    png, boxes = _draw([("3,959 50% off", 20, 20, 20, {"strike": 5})])
    lines = screen_lines(boxes, png)
    assert [(line.text, line.line_through) for line in lines] == [("3,959", True), ("50% off", False)]
    assert lines[0].x1 <= lines[1].x0


def test_a_labelled_field_under_a_wrapped_title_is_not_one_of_its_lines():
    png, boxes = _draw([("Stainless steel kettle with a", 20, 20, 22, {}), ("long spout, 1.7 litres", 20, 50, 22, {}),
                        ("Brand: Acme", 20, 80, 15, {})])
    first, second, label = screen_lines(boxes, png)
    assert first.font_size == second.font_size
    assert label.font_size < 0.85 * first.font_size

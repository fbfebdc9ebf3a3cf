"""Imported screenshots without an address: consecutive ones that show one page scrolled are one visit
(tools/perception/ocr_lines.scroll_shift, tools/perception/page/visits.page_visits). No OCR engine runs: the
boxes are made here as a scroll moves them."""

from __future__ import annotations

from tools.perception.ocr import OcrLine
from tools.perception.ocr_lines import scroll_shift
from tools.perception.page.visits import page_visits, visits
from tools.schemas import Frame

VIEW = 800

# One tall page: (text, x0, page y0, x1). A header fixed to the viewport is added to every screenshot.
PAGE = [("Home > Kitchen > Kettles", 40, 90, 400), ("Steel Kettle 1.7 L, 2200 W", 600, 130, 1100),
        ("Visit the Acme Store", 600, 180, 760), ("$39.99", 600, 230, 680), ("Add to Cart", 600, 300, 700),
        ("About this item", 600, 560, 760), ("Boils in 3 minutes", 620, 600, 800),
        ("Auto shut-off and boil-dry protection", 620, 625, 900), ("360 degree swivel base", 620, 650, 850),
        ("Cordless pouring", 620, 675, 780), ("Add to Cart", 600, 720, 700), ("Customer reviews", 40, 900, 240),
        ("4.5 out of 5", 40, 940, 160), ("Top reviews from the United States", 40, 1000, 380),
        ("Works great, very fast", 40, 1040, 300), ("Add to Cart", 600, 1200, 700)]
HEADER = [("acme shop", 20, 10, 140), ("Sign in", 1100, 12, 1170)]


def _screen(scroll_y: float, page=PAGE, jitter: float = 0.0) -> list[OcrLine]:
    lines = [OcrLine(text, x0, y0, x1, y0 + 20, 0.9) for text, x0, y0, x1 in HEADER]
    for k, (text, x0, y0, x1) in enumerate(page):
        top = y0 - scroll_y + (jitter if k % 2 else -jitter)
        if top >= 40 and top + 20 <= VIEW:  # below the fixed header, inside the viewport
            lines.append(OcrLine(text, x0 + jitter, top, x1, top + 20, 0.9))
    return lines


def test_a_scroll_is_measured_from_the_lines_both_screenshots_show():
    assert scroll_shift(_screen(0), _screen(500), VIEW) == 500
    assert scroll_shift(_screen(500), _screen(0), VIEW) == -500  # scrolled back up
    # The detector's boxes move by a pixel or two from one screenshot to the next.
    assert abs(scroll_shift(_screen(0), _screen(480, jitter=1.5), VIEW) - 480) <= 3


def test_the_same_screen_or_no_shared_page_line_is_no_scroll():
    assert scroll_shift(_screen(0), _screen(0), VIEW) is None  # only fixed or unmoved lines: not a scroll
    assert scroll_shift(_screen(0), _screen(1100), VIEW) is None  # scrolled past a viewport: nothing in common
    assert scroll_shift([], _screen(0), VIEW) is None


def test_another_page_sharing_a_few_lines_is_not_taken_for_a_scroll():
    other = [("Home > Garden > Hoses", 40, 90, 380), ("Garden Hose 30 m", 600, 130, 900), ("$24.00", 600, 230, 680),
             ("Add to Cart", 600, 300, 700), ("About this item", 600, 560, 760), ("Kink free", 620, 600, 720),
             ("Brass fittings", 620, 625, 760), ("Add to Cart", 600, 720, 700)]
    # "Add to Cart" and "About this item" line up at some shift, but most lines that shift should show differ.
    assert scroll_shift(_screen(0), _screen(0, page=other), VIEW) is None
    assert scroll_shift(_screen(400), _screen(0, page=other), VIEW) is None


def _frame(k: int, url: str = "") -> Frame:
    return Frame(frame_id=f"s:{k}", session_id="s", sequence=k, path=f"/x/{k}.png", sha256=str(k), captured_at=k,
                 url=url, width=1280, height=VIEW, scroll_y=100 * k if url else 0)


def test_imported_screenshots_of_one_page_are_one_visit_with_their_scroll_positions():
    screens = {0: _screen(300), 1: _screen(700), 2: _screen(200), 3: _screen(200, page=PAGE[:6])}

    def shift(before: Frame, after: Frame) -> float | None:
        return scroll_shift(screens[before.sequence], screens[after.sequence], VIEW)

    frames = [_frame(k) for k in range(4)]
    found = page_visits(frames, shift)
    # 0 -> 1 scrolls down 400, 1 -> 2 back up 500 (100 above where the visit started: the positions are
    # counted from the highest screenshot); 3 shows 2's lines where 2 shows them: no scroll, a visit of its own.
    assert [[f.sequence for f in v.frames] for v in found] == [[0, 1, 2], [3]]
    assert found[0].offsets == [100.0, 500.0, 0.0]
    assert found[1].offsets == [0.0]
    # Without a way to measure a shift, each imported screenshot is a visit, as before.
    assert visits(frames) == [[f] for f in frames]


def test_frames_with_an_address_keep_their_recorded_scroll_and_are_never_joined_by_shift():
    frames = [_frame(0, "https://a.example/p"), _frame(1, "https://a.example/p#reviews"), _frame(2), _frame(3)]
    asked = []

    def shift(before: Frame, after: Frame) -> float | None:
        asked.append((before.sequence, after.sequence))
        return 250.0

    found = page_visits(frames, shift)
    assert [[f.sequence for f in v.frames] for v in found] == [[0, 1], [2, 3]]
    assert found[0].offsets == [0.0, 100.0] and found[1].offsets == [0.0, 250.0]
    assert asked == [(2, 3)]  # an addressed frame is never compared by its pixels

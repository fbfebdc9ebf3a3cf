"""The HTML run report: one self-contained file whose screenshots, summary provenance and recommendations render
in Chromium, with OCR text escaped and duplicate screenshots left out."""

from __future__ import annotations

import io
import random

import pytest
from PIL import Image, ImageDraw

from agent.report import write_report
from catalog.files import DEMO_IMAGES, load_products
from tests.conftest import CHROMIUM, requires_chromium
from tools.capture.frames import FrameStore
from tools.schemas import (
    BehaviorSummary,
    Constraints,
    Evidence,
    PriceRange,
    ProductCharacteristics,
    Recommendation,
    SeenProduct,
)

SUMMARISER = "offline-screen-reader (RapidOCR + rule-based parsing; not an MLLM)"
INJECTION = "<script>alert(1)</script>"


def _page(seed: int) -> bytes:
    """A 1280x800 PNG with a layout of its own, so the store keeps it as a distinct frame."""
    rng = random.Random(seed)
    image = Image.new("RGB", (1280, 800), "white")
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x, y = rng.randrange(0, 1100), rng.randrange(0, 650)
        draw.rectangle((x, y, x + rng.randrange(60, 400), y + rng.randrange(40, 300)),
                       fill=tuple(rng.randrange(256) for _ in range(3)))
        draw.text((x + 5, y + 5), f"Product {seed}-{x}", fill="black")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def report(tmp_path):
    store = FrameStore(tmp_path / "frames")
    session = store.new_session("test")
    pages = [_page(seed) for seed in range(4)]
    for i, data in enumerate([pages[0], pages[1], pages[1], pages[2], pages[3]]):  # frame 2 repeats frame 1
        store.add(session, data, url=f"http://127.0.0.1:8000/p/{i}?q=<b>", title=f"Page {i}", reason="navigation",
                  captured_at=1_700_000_000 + 1.5 * i)
    frames = store.frames(session)
    store.close()
    assert frames[2].duplicate_of == f"{session}:1"

    photographed = [p for p in load_products() if p.image and (DEMO_IMAGES / p.image).exists()][:2]
    s = lambda *numbers: [f"{session}:{n}" for n in numbers]  # noqa: E731
    summary = BehaviorSummary(
        product_characteristics=ProductCharacteristics(
            types=[Evidence(value="Wrist Watches", frame_ids=s(1, 3), count=2)],
            colours=[Evidence(value="Black", frame_ids=s(2))]),  # cites the duplicate: links to #1
        price_range=PriceRange(lowest=500, highest=1500, frame_ids=s(3)),
        brand_preferences=[Evidence(value=photographed[0].brand or "Acme", frame_ids=s(3))],
        search_queries=[Evidence(value=INJECTION, frame_ids=s(0))],
        products_seen=[SeenProduct(title="Maxima <b>bold</b> Watch", price=595, frame_id=f"{session}:4")],
        frames_read=4, summariser=SUMMARISER,
    )
    recs = [Recommendation(rank=i + 1, product_id=p.id, title=p.title, brand=p.brand, price=p.price,
                           currency=p.currency, score=0.3 - i / 10,
                           reasons=["matches the type you viewed (screenshots #1, #3)",
                                    "matches the colour you viewed (screenshots #2)", "rated 4.1/5"])
            for i, p in enumerate(photographed)]
    recs.append(Recommendation(rank=3, product_id="not-in-catalog", title="Unlisted Watch", brand=None, price=None,
                               currency="INR", score=0.05, reasons=["semantic match 0.41 to 'watch'"]))
    state = {
        "session_id": session, "frame_ids": [f.frame_id for f in frames], "summary": summary.model_dump(),
        "constraints": Constraints(k=3, query="wrist watch", max_price=1500,
                                   provenance={"max_price": s(3)}).model_dump(),
        "recommendations": [r.model_dump() for r in recs],
        "optimizer": {"status": "OPTIMAL", "objective_value": 0.61, "solve_seconds": 0.01, "mode": "ranking",
                      "candidates": 40, "no_choice_weight": 1.0, "relaxation": None},
        "unmet": ["only 3 products satisfy every constraint"],
        "timings": {"summarise": 1.25, "constrain": 0.01, "retrieve": 0.2, "optimise": 0.05},
    }
    path = write_report(tmp_path / "out" / "report.html", state, frames, {p.id: p for p in photographed},
                        DEMO_IMAGES, {"summariser": SUMMARISER, "optimiser": "OR-Tools (SCIP)"})
    return path, frames, summary, recs


def test_report_escapes_ocr_text_and_leaves_out_duplicates(report):
    path, frames, _, _ = report
    text = path.read_text(encoding="utf-8")
    assert INJECTION not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<b>bold</b>" not in text and "?q=<b>" not in text
    assert text.count('class="shot"') == 4 and 'id="shot-2"' not in text and "1 left out as duplicates" in text
    assert "+4.5 s" in text  # frame #3, counted from frame #0
    assert SUMMARISER in text and "total 1.51 s" in text
    assert "http://" not in text.replace("http://127.0.0.1:8000/p/", "")  # page URLs as text, nothing fetched
    assert [p.name for p in path.parent.iterdir()] == ["report.html"]  # the temp file was renamed away
    assert path.stat().st_size < 500_000


@requires_chromium
@pytest.mark.browser
def test_report_renders_in_chromium(report):
    from playwright.sync_api import sync_playwright

    from tools.capture.browser import CHROMIUM_FLAGS

    path, frames, summary, recs = report
    dialogs = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_FLAGS))
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(path.as_uri(), wait_until="load")
            widths = page.eval_on_selector_all("img", "imgs => imgs.map(i => i.complete && i.naturalWidth)")
            assert len(widths) == 4 + len(recs) and all(w and w > 0 for w in widths)
            assert page.locator("li.shot").count() == sum(f.duplicate_of is None for f in frames)

            for value in ("Wrist Watches (x2)", "Black", INJECTION, "Maxima <b>bold</b> Watch", "Unlisted Watch",
                          *(r.title for r in recs)):
                assert page.get_by_text(value, exact=False).first.is_visible(), value
            targets = page.eval_on_selector_all(
                'a[href^="#"]', "links => links.map(a => !!document.getElementById(a.hash.slice(1)))")
            assert len(targets) >= 10 and all(targets)
            assert page.locator('.rec a[href="#shot-1"]').count() == 4  # "#2" in a reason is the duplicate of #1

            thumb = page.locator("li.shot img").first
            small = thumb.bounding_box()["width"]
            thumb.click()  # <details> opens: the screenshot is shown at its embedded size
            assert thumb.bounding_box()["width"] > 2 * small
        finally:
            browser.close()
    assert dialogs == []

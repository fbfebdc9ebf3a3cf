"""Text layer benchmark: what reading each screenshot's text layer (and its page's markup) adds to a capture.

Against the demo shop, the same walk (open a product page, capture, scroll, capture, ...) is captured with the
text layer off and on, in alternating rounds; each ``ShopperBrowser.capture`` is timed, and so are the text layer
read and the markup read inside it. Redaction is timed on a captured frame with a greeting line added, as the
demo shop greets no one.

    python -m benchmarks.text_layer [--frames 120] [--out bench-results/text_layer.json]
    python -m benchmarks.text_layer --compare-reads [--frames 120]   # the page reads both ways, alternating
    python -m benchmarks.text_layer --compare-markup   # the saved Zyte pages' markup from the whole HTML and the parts
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from agent.settings import load_settings
from agent.wiring import browser_config, start_demo_shop
from benchmarks.common import percentile, write_results
from catalog.files import load_products
from shop.pages import product_href
from tools.capture.browser import ShopperBrowser
from tools.capture.frames import FrameStore
from tools.capture.page import recorder as browser_module  # where capture calls extract_markup
from tools.capture.page.markup import MARKUP_HTML, extract_markup
from tools.capture.page.text_layer import PAGE_STATE, evaluate
from tools.capture.privacy import redact_personal_details
from tools.lines import ScreenLine

SCROLLS_PER_PAGE = 3  # captures per product page after the first: 400 px scrolls
ROUNDS = 2  # per mode, alternating off/on so that a slower stretch of the machine hits both


def _timed(record: list[float], call: Callable) -> Callable:
    def wrapper(*args: object, **kwargs: object) -> object:
        started = time.perf_counter()
        try:
            return call(*args, **kwargs)
        finally:
            record.append((time.perf_counter() - started) * 1000)
    return wrapper


def _walk(shop_url: str, frames: FrameStore, count: int, text_layer: bool) -> dict:
    """Capture ``count`` frames of the walk; the milliseconds of each capture, text layer and markup read."""
    config = dataclasses.replace(browser_config(load_settings()), text_layer=text_layer)
    session_id = frames.new_session(f"bench:text-layer={text_layer}")
    pages = [product_href(p.id) for p in load_products()]
    captures: list[float] = []
    reads: list[float] = []
    html: list[float] = []
    extraction: list[float] = []
    extract_markup = browser_module.extract_markup
    with ShopperBrowser(config, frames, session_id) as browser:
        # Timed where capture calls them, so the figures are the ones a capture pays.
        browser.recorder.read = _timed(reads, browser.recorder.read)
        browser.recorder.markup_html = _timed(html, browser.recorder.markup_html)  # the HTML behind each markup
        browser_module.extract_markup = _timed(extraction, extract_markup)
        turn = 0
        while len(captures) < count:
            browser.goto(shop_url + pages[turn % len(pages)])
            browser.wait_for_images()
            for step in range(1 + SCROLLS_PER_PAGE):
                if step:
                    browser.page.evaluate("window.scrollBy(0, 400)")
                started = time.perf_counter()
                browser.capture("scroll" if step else "navigation")
                captures.append((time.perf_counter() - started) * 1000)
                if len(captures) == count:
                    break
            turn += 1
        stats = browser.stats
    browser_module.extract_markup = extract_markup
    frames.end_session(session_id)
    markup = [a + b for a, b in zip(html, extraction)]  # one HTML read and one extraction per document
    return {"captures": captures, "reads": reads, "markup": markup, "pages": turn, "kept": stats.kept,
            "duplicates": stats.duplicates, "text_layer_failed": stats.text_layer_failed}


def _redaction_ms(frames: FrameStore, repeats: int = 20) -> list[float]:
    """Blurring a greeting into a captured frame and re-encoding it, as capture does when a page greets."""
    frame = next(f for s in frames.sessions() if s.source.endswith("True")
                 for f in frames.frames(s.session_id, unique_only=True))
    png = Path(frame.path).read_bytes()
    layer = frames.text_layer(frame)
    greeting = ScreenLine(text="Hello, Jane Doe", x0=900, y0=12, x1=1040, y1=30, source="text-layer", font_size=16)
    lines = [greeting, *(layer.lines if layer else [])]
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        redact_personal_details(png, lines)
        times.append((time.perf_counter() - started) * 1000)
    return times


def _summary(values: list[float]) -> dict:
    return {"median": round(statistics.median(values), 2), "p95": round(percentile(values, 0.95), 2),
            "n": len(values)} if values else {"median": None, "p95": None, "n": 0}


def measure(frame_count: int = 120) -> dict:
    per_round = max(1, frame_count // ROUNDS)
    runs: dict[bool, list[dict]] = {False: [], True: []}
    with tempfile.TemporaryDirectory() as tmp, start_demo_shop() as shop:
        frames = FrameStore(Path(tmp) / "frames")
        _walk(shop.url, frames, 4, True)  # warm-up: Chromium's caches, extruct's import
        for _ in range(ROUNDS):
            for text_layer in (False, True):
                runs[text_layer].append(_walk(shop.url, frames, per_round, text_layer))
        redaction = _redaction_ms(frames)
        sidecars = list(frames.blobs.rglob("*.text.json"))
        sidecar_kib = statistics.median(p.stat().st_size for p in sidecars) / 1024 if sidecars else 0.0
        frames.close()
    merged = {mode: {key: [v for run in mode_runs for v in run[key]] for key in ("captures", "reads", "markup")}
              for mode, mode_runs in runs.items()}
    off, on = _summary(merged[False]["captures"]), _summary(merged[True]["captures"])
    reads, markup = _summary(merged[True]["reads"]), _summary(merged[True]["markup"])
    rows = [
        {"stage": "capture", "measure": "capture, text layer off", "median": off["median"], "p95": off["p95"],
         "unit": "ms/capture"},
        {"stage": "capture", "measure": "capture, text layer on", "median": on["median"], "p95": on["p95"],
         "unit": "ms/capture"},
        {"stage": "capture", "measure": "text layer read (in capture)", "median": reads["median"],
         "p95": reads["p95"], "unit": "ms/capture"},
        {"stage": "capture", "measure": "markup read: HTML + extruct (per document)", "median": markup["median"],
         "p95": markup["p95"], "unit": "ms/document"},
        {"stage": "capture", "measure": "redaction: blur + re-encode", "median": _summary(redaction)["median"],
         "p95": _summary(redaction)["p95"], "unit": "ms/frame redacted"},
        {"stage": "capture", "measure": "frames/s back to back, text layer off",
         "median": round(1000 / off["median"], 2), "p95": None, "unit": "frames/s"},
        {"stage": "capture", "measure": "frames/s back to back, text layer on",
         "median": round(1000 / on["median"], 2), "p95": None, "unit": "frames/s"},
    ]
    return {
        "settings": {"viewport": "1280x800", "frames_per_mode": per_round * ROUNDS, "rounds": ROUNDS,
                     "scrolls_per_page": SCROLLS_PER_PAGE},
        "capture_ms": {"off": off, "on": on}, "text_layer_read_ms": reads, "markup_read_ms": markup,
        "redaction_ms": _summary(redaction),
        "sidecar_kib_median": round(sidecar_kib, 2),
        "kept": {str(mode): sum(run["kept"] for run in mode_runs) for mode, mode_runs in runs.items()},
        "text_layer_failed": sum(run["text_layer_failed"] for run in runs[True]),
        "rows": rows,
    }


def compare_reads(frame_count: int = 120) -> dict:
    """The text layer's two page reads done both ways on the same frames, alternating, so that the machine's load
    hits both alike: the page state by Playwright's ``page.evaluate`` against the recorder's CDP session, and the
    markup's HTML by ``page.content()`` against the markup-bearing parts (``MARKUP_HTML``), each then extracted,
    on each document's first frame (where capture reads it)."""
    times: dict[str, list[float]] = {"state: page.evaluate": [], "state: CDP session": [],
                                     "markup: page.content() + extruct": [], "markup: parts + extruct": []}
    config = browser_config(load_settings())
    with tempfile.TemporaryDirectory() as tmp, start_demo_shop() as shop:
        frames = FrameStore(Path(tmp) / "frames")
        session_id = frames.new_session("bench:text-layer-reads")
        pages = [product_href(p.id) for p in load_products()]
        with ShopperBrowser(config, frames, session_id) as browser:
            page = browser.page
            cdp = page.context.new_cdp_session(page)
            turn, done = 0, 0
            while done < frame_count:
                browser.goto(shop.url + pages[turn % len(pages)])  # a new document: Playwright's utility world anew
                browser.wait_for_images()
                for step in range(1 + SCROLLS_PER_PAGE):
                    if step:
                        page.evaluate("window.scrollBy(0, 400)")
                    pairs = [("state: page.evaluate", lambda: page.evaluate(PAGE_STATE)),
                             ("state: CDP session", lambda: evaluate(cdp, PAGE_STATE)),
                             ("markup: page.content() + extruct", lambda: extract_markup(page.content(), page.url)),
                             ("markup: parts + extruct", lambda: extract_markup(evaluate(cdp, MARKUP_HTML), page.url))]
                    if step:  # capture reads the markup on a document's first frame only
                        pairs = pairs[:2]
                    order = pairs if done % 2 else pairs[1::-1] + pairs[:1:-1]  # either one first, in turn
                    for name, call in order:
                        _timed(times[name], call)()
                    done += 1
                turn += 1
            cdp.detach()
        frames.close()
    return {name: _summary(values) for name, values in times.items()}


def _markup_both_ways(page: object, cdp: object, times: dict[str, list[float]]) -> tuple[dict, dict]:
    url = page.url  # type: ignore[attr-defined]
    whole = _timed(times["whole HTML"], lambda: extract_markup(page.content(), url))()  # type: ignore[attr-defined]
    parts = _timed(times["parts"], lambda: extract_markup(evaluate(cdp, MARKUP_HTML), url))()
    return whole, parts


def compare_markup(limit: int | None = None) -> dict:
    """The markup of each saved Zyte page (``../shared/data/product-pages-zyte``, opened from disk as
    ``browse-and-recommend --url`` opens it, every other request aborted) extracted from the whole HTML
    (``page.content()``) and from the parts capture copies (``MARKUP_HTML``): how many pages give the same result,
    the ids of those that do not, and the milliseconds of each way (HTML read + extruct), per page."""
    from benchmarks.mllm_tokens import saved_page, zyte_split  # the frozen split's order and the charset rule
    from catalog.shared_data import shared_data_root
    from tools.capture.browser import BrowserError, origin_of
    from tools.capture.local_pages import LocalPages

    shared = shared_data_root()
    root = shared / "product-pages-zyte" if shared else None
    if root is None or not root.is_dir():
        raise SystemExit("no ../shared/data/product-pages-zyte here")
    split = zyte_split(root)
    ids = (split["dev"] + split["test"])[:limit]
    same, differ, unloaded = [], [], []
    times: dict[str, list[float]] = {"whole HTML": [], "parts": []}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = [saved_page(root, page_id, folder) for page_id in ids]
        frames = FrameStore(folder / "frames")
        with LocalPages(files) as local:
            config = browser_config(load_settings())
            config.allowed_origins.append(origin_of(local.url_of(files[0])))
            with ShopperBrowser(config, frames, frames.new_session("bench:markup")) as browser:
                cdp = browser.page.context.new_cdp_session(browser.page)
                for page_id, file in zip(ids, files):
                    try:
                        browser.goto(local.url_of(file))
                    except BrowserError:
                        unloaded.append(page_id)
                        continue
                    whole, parts = _markup_both_ways(browser.page, cdp, times)
                    (same if whole == parts else differ).append(page_id)
        frames.close()
    return {"pages": len(ids), "same": len(same), "differ": differ, "not_loaded": unloaded,
            "ms_per_page": {name: _summary(values) for name, values in times.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=120, help="captures per mode (text layer off, on)")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--compare-reads", action="store_true",
                        help="time the page state and markup reads both ways, alternating, on the same frames")
    parser.add_argument("--compare-markup", action="store_true",
                        help="the markup of the saved Zyte pages from their whole HTML and from the parts capture "
                             "copies: the same or not")
    args = parser.parse_args()
    if args.compare_markup:
        compared = compare_markup()
        print(f"{compared['same']}/{compared['pages'] - len(compared['not_loaded'])} loaded pages give the same "
              f"markup; differ: {compared['differ'] or 'none'}; not loaded: {len(compared['not_loaded'])}")
        for name, figures in compared["ms_per_page"].items():
            print(f"{name:<12}{figures['median']:>9.1f}{figures['p95']:>9.1f}  ms a page (median, p95)")
        print(f"wrote {write_results('text_layer_markup', compared, args.out)}")
        return
    if args.compare_reads:
        compared = compare_reads(args.frames)
        for name, figures in compared.items():
            print(f"{name:<44}{figures['median']:>9.2f}{figures['p95']:>9.2f}  ms (median, p95; n={figures['n']})")
        print(f"wrote {write_results('text_layer_reads', {'reads_ms': compared}, args.out)}")
        return
    result = measure(args.frames)
    print(f"{'measure':<44}{'median':>9}{'p95':>9}  unit")
    for row in result["rows"]:
        p95 = "-" if row["p95"] is None else f"{row['p95']:.1f}"
        median = "-" if row["median"] is None else f"{row['median']:.1f}"
        print(f"{row['measure']:<44}{median:>9}{p95:>9}  {row['unit']}")
    print(f"text layer file: {result['sidecar_kib_median']} KiB median; reads failed: {result['text_layer_failed']}")
    print(f"wrote {write_results('text_layer', result, args.out)}")


if __name__ == "__main__":
    main()

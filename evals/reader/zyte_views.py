"""The views of the saved real pages (issue 18), captured once and cached: what a shopper browsing each page saw.

Each saved page is opened from disk in Debian's Chromium (Playwright, headless, ``CHROMIUM_FLAGS``) with every
other request aborted, JavaScript off by default, viewport 1280x800 at device scale 1, and browsed as a shopper
would: the top of the page, then down by 85% of the viewport height, view by view, up to ``views`` views or the
end of the page. Each view keeps its screenshot (PNG) and its text layer (``read_text_layer``, stored with
``dump_lines``); each page once its product markup (``extract_markup`` of the HTML decoded in the page's charset).
OCR of a view runs only when an OCR source asks for it, and is cached beside the screenshot.

The browser is given the text the markup is read from: the HTML decoded as :func:`decode_html` says, written
back as UTF-8 with a byte-order mark. A saved page has lost the HTTP header that named its charset, and a
``file://`` page that declares none in its first bytes is guessed at by Chromium (two Yandex pages, UTF-8
without a ``<meta charset>``, rendered as mojibake that way).

Cache layout, under ``<cache>/<settings key>/<page id>/``: ``meta.json`` (written last: a page without it is
captured again), ``view-NN.png``, ``view-NN.lines.json``, ``markup.json`` and ``view-NN.ocr-<engine>.json`` (what
OCR returned).
The settings key names everything that changes what is captured (views, viewport, scale, JavaScript, the capture
code's version), so a second run with the same settings renders and reads nothing.
"""

from __future__ import annotations

import codecs
import gzip
import hashlib
import json
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evals.reader.screens import _launch, _screenshot, _settle, progress
from tools.lines import ScreenLine, dump_lines, load_lines

CAPTURE_VERSION = 3  # bump when the capture changes what is stored (2: HTML as UTF-8 with a BOM; 3: one snapshot cut)
SCROLL_FRACTION = 0.85  # each view scrolls down by this share of the viewport height
SCROLL_PAUSE_MS = 100  # after a scroll, before the screenshot
# Saved pages render unstyled, so their product block is often screens below the top (Amazon's below 7,000 px):
# the text layer covers 40 views; screenshots and OCR (about 1.2 s a view) the first 20, where the true price of
# 81% of the development split's labelled pages shows in the text layer (of 53% in the first 8).
SCREENSHOT_VIEWS = 20
NAV_TIMEOUT_MS = 20_000
PRESCAN_BYTES = 65_536
_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:\-]+)""", re.IGNORECASE)


@dataclass(frozen=True)
class ViewSettings:
    views: int = 40
    screenshots: int = SCREENSHOT_VIEWS  # views that also get a screenshot (for the OCR source)
    width: int = 1280
    height: int = 800
    javascript: bool = False

    @property
    def step(self) -> int:
        """Pixels scrolled between two views."""
        return round(self.height * SCROLL_FRACTION)

    @property
    def key(self) -> str:
        return (f"v{self.views}-{self.width}x{self.height}-dpr1-{'js' if self.javascript else 'nojs'}"
                f"-c{CAPTURE_VERSION}")

    def as_dict(self) -> dict[str, Any]:
        return {"views": self.views, "screenshots": self.screenshots,
                "viewport": {"width": self.width, "height": self.height},
                "device_scale_factor": 1, "javascript": self.javascript, "scroll_step_px": self.step,
                "scroll_fraction": SCROLL_FRACTION, "key": self.key}


def decode_html(raw: bytes) -> tuple[str, str, str]:
    """The page's text, the charset used and why: a byte-order mark (``bom``), else the first
    ``<meta ... charset=...>`` of the first 64 KiB (``meta``; shops put it after long inline scripts), else UTF-8
    (``default``); undecodable bytes are replaced."""
    for bom, name in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if raw.startswith(bom):
            return raw.decode(name, errors="replace"), name, "bom"
    if match := _CHARSET.search(raw[:PRESCAN_BYTES]):
        candidate = match.group(1).decode("ascii", errors="replace").strip().lower()
        try:
            charset = codecs.lookup(candidate).name
        except LookupError:
            pass
        else:
            return raw.decode(charset, errors="replace"), charset, "meta"
    return raw.decode("utf-8", errors="replace"), "utf-8", "default"


@dataclass
class PageViews:
    """One page's cached capture."""

    page_id: str
    url: str
    folder: Path
    scroll_ys: list[int] = field(default_factory=list)
    page_height: int = 0
    charset: str = ""
    charset_from: str = ""  # bom | meta | default
    error: str | None = None
    blocked: int = 0
    render_s: float = 0.0  # open, settle, every view's scroll, screenshot and text layer
    text_layer_ms: list[float] = field(default_factory=list)
    screenshot_ms: list[float] = field(default_factory=list)
    markup_ms: float = 0.0
    rendered_now: bool = False  # captured in this run (not read from the cache)

    def png(self, index: int) -> Path:
        return self.folder / f"view-{index:02d}.png"

    @property
    def n_views(self) -> int:
        return len(self.scroll_ys)

    def text_layer(self) -> list[list[ScreenLine]]:
        return [load_lines((self.folder / f"view-{i:02d}.lines.json").read_text(encoding="utf-8"))
                for i in range(self.n_views)]

    def markup(self) -> dict[str, Any]:
        path = self.folder / "markup.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}

    def meta(self) -> dict[str, Any]:
        names = ("page_id", "url", "scroll_ys", "page_height", "charset", "charset_from", "error", "blocked",
                 "render_s", "text_layer_ms", "screenshot_ms", "markup_ms")
        return {name: getattr(self, name) for name in names}


def engine_tag(engine_key: str) -> str:
    return hashlib.sha256(engine_key.encode("utf-8")).hexdigest()[:10]


class ViewCache:
    """Captured views by page id for one :class:`ViewSettings`."""

    def __init__(self, root: Path, settings: ViewSettings) -> None:
        self.settings = settings
        self.root = root / settings.key
        self.ocr_seconds: list[float] = []  # per view OCR'd in this run
        self.ocr_cached = 0  # views whose OCR came from the cache

    def folder(self, page_id: str) -> Path:
        return self.root / page_id

    def load(self, page_id: str) -> PageViews | None:
        meta_path = self.folder(page_id) / "meta.json"
        if not meta_path.exists():
            return None
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        return PageViews(folder=self.folder(page_id), **meta)

    def ensure(self, pages: Sequence[tuple[str, str]], html_path: Callable[[str], Path]) -> dict[str, PageViews]:
        """Every page's views, rendering (in one browser) only the pages not in the cache. ``pages`` holds
        (page id, original URL); ``html_path(page_id)`` is the saved ``.html.gz``."""
        found = {page_id: views for page_id, _ in pages if (views := self.load(page_id)) is not None}
        missing = [(page_id, url) for page_id, url in pages if page_id not in found]
        if missing:
            progress(f"zyte views: rendering {len(missing)} pages ({len(found)} cached) into {self.root}")
            found.update(self._render(missing, html_path))
        return {page_id: found[page_id] for page_id, _ in pages}

    def _render(self, pages: Sequence[tuple[str, str]], html_path: Callable[[str], Path]) -> dict[str, PageViews]:
        from playwright.sync_api import sync_playwright

        from tools.capture.page.markup import extract_markup

        done: dict[str, PageViews] = {}
        self.root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="zyte-html-") as tmp, sync_playwright() as pw:
            browser = _launch(pw)
            try:
                for i, (page_id, url) in enumerate(pages):
                    with gzip.open(html_path(page_id), "rb") as source:
                        text, charset, charset_from = decode_html(source.read())
                    html_file = Path(tmp) / f"{page_id}.html"
                    html_file.write_bytes(codecs.BOM_UTF8 + text.encode("utf-8"))  # see the module's docstring
                    partial = self.root / f".{page_id}.partial"
                    shutil.rmtree(partial, ignore_errors=True)
                    partial.mkdir(parents=True)
                    views = PageViews(page_id, url, partial, charset=charset, charset_from=charset_from,
                                      rendered_now=True)
                    self._capture(browser, html_file, views)
                    started = time.perf_counter()
                    markup = extract_markup(text, url)
                    views.markup_ms = round((time.perf_counter() - started) * 1000, 1)
                    (partial / "markup.json").write_text(json.dumps(markup, ensure_ascii=False, default=str),
                                                         encoding="utf-8")
                    (partial / "meta.json").write_text(json.dumps(views.meta(), ensure_ascii=False), encoding="utf-8")
                    final = self.folder(page_id)
                    shutil.rmtree(final, ignore_errors=True)
                    partial.rename(final)
                    views.folder = final
                    done[page_id] = views
                    if (i + 1) % 10 == 0 or i + 1 == len(pages):
                        progress(f"zyte views: {i + 1}/{len(pages)} pages rendered")
            finally:
                browser.close()
        return done

    def _open(self, browser: Any, html_file: Path, views: PageViews) -> tuple[Any, Any]:
        """A new context and page showing the saved file, every other request aborted (counted in
        ``views.blocked``); a navigation failure is recorded in ``views.error`` and the page kept."""
        from playwright.sync_api import Error as PlaywrightError

        s = self.settings
        file_url = html_file.resolve().as_uri()

        def guard(route: Any, request: Any) -> None:
            if request.url == file_url:
                route.continue_()
            else:
                views.blocked += 1
                route.abort("blockedbyclient")

        context = browser.new_context(viewport={"width": s.width, "height": s.height}, device_scale_factor=1,
                                      java_script_enabled=s.javascript)
        context.set_default_timeout(NAV_TIMEOUT_MS)
        context.route("**/*", guard)
        page = context.new_page()
        try:
            page.goto(file_url, wait_until="load")
        except PlaywrightError as exc:  # e.g. a load event that never comes; the page may still show
            views.error = f"goto: {str(exc).splitlines()[0]}"
        _settle(page)
        return context, page

    def _capture(self, browser: Any, html_file: Path, views: PageViews) -> None:
        """Open the saved page (only its own file may load) and take the views; a failure keeps the views taken
        before it and is recorded in ``views.error``."""
        from playwright.sync_api import Error as PlaywrightError

        from tools.capture.page.text_layer import Viewport, capture_snapshot, lines_from_snapshot

        s = self.settings
        started = time.perf_counter()
        context = None
        try:
            context, page = self._open(browser, html_file, views)
            cdp = context.new_cdp_session(page)
            views.page_height = int(page.evaluate(
                "Math.max(document.documentElement.scrollHeight, document.body ? document.body.scrollHeight : 0)"))
            # One snapshot of the whole document, cut into the views: with JavaScript off the layout does not
            # move on scrolling, so each view's lines are the ones a snapshot at that scroll position returns,
            # and a 400,000 px page costs one snapshot instead of forty.
            t0 = time.perf_counter()
            whole = lines_from_snapshot(capture_snapshot(cdp), Viewport(s.width, 10**8))
            snapshot_ms = (time.perf_counter() - t0) * 1000
            bottom = max(views.page_height - s.height, 0)
            for index in range(s.views):
                y = min(index * s.step, bottom)
                if index and y <= views.scroll_ys[-1]:
                    break  # the end of the page: the last view already showed its bottom
                t0 = time.perf_counter()
                if index < s.screenshots:
                    page.evaluate(f"window.scrollTo(0, {y})")
                    page.wait_for_timeout(SCROLL_PAUSE_MS)
                    _screenshot(page, views.png(index))
                t1 = time.perf_counter()
                lines = [line.model_copy(update={"y0": line.y0 - y, "y1": line.y1 - y}) for line in whole
                         if line.y0 >= y and line.y1 <= y + s.height]
                t2 = time.perf_counter() + (snapshot_ms / 1000 if index == 0 else 0.0)
                (views.folder / f"view-{index:02d}.lines.json").write_text(dump_lines(lines), encoding="utf-8")
                views.scroll_ys.append(y)
                views.screenshot_ms.append(round((t1 - t0) * 1000, 1))
                views.text_layer_ms.append(round((t2 - t1) * 1000, 1))
            cdp.detach()
        except PlaywrightError as exc:
            message = str(exc).splitlines()[0]
            views.error = f"{views.error}; {message}" if views.error else message
        finally:
            if context is not None:
                context.close()
        views.render_s = round(time.perf_counter() - started, 3)

    def missing_screenshots(self, views: PageViews) -> list[int]:
        """The views among the first ``settings.screenshots`` that have no screenshot yet."""
        return [i for i in range(min(self.settings.screenshots, views.n_views)) if not views.png(i).exists()]

    def ensure_screenshots(self, pages: Sequence[PageViews], html_path: Callable[[str], Path]) -> int:
        """Screenshots of the first ``settings.screenshots`` views of every page, taking only the missing ones
        (a cache made with fewer screenshots is topped up at the views' recorded scroll positions, so each
        screenshot shows what that view's text layer holds). Returns how many were taken."""
        todo = [(views, missing) for views in pages if (missing := self.missing_screenshots(views))]
        if not todo:
            return 0
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright

        progress(f"zyte views: {sum(len(m) for _, m in todo)} screenshots to take on {len(todo)} pages")
        taken = 0
        with tempfile.TemporaryDirectory(prefix="zyte-html-") as tmp, sync_playwright() as pw:
            browser = _launch(pw)
            try:
                for n, (views, missing) in enumerate(todo):
                    with gzip.open(html_path(views.page_id), "rb") as source:
                        text, _, _ = decode_html(source.read())
                    html_file = Path(tmp) / f"{views.page_id}.html"
                    html_file.write_bytes(codecs.BOM_UTF8 + text.encode("utf-8"))
                    scratch = PageViews(views.page_id, views.url, views.folder)  # errors of this visit only
                    context = None
                    try:
                        context, page = self._open(browser, html_file, scratch)
                        for index in missing:
                            page.evaluate(f"window.scrollTo(0, {views.scroll_ys[index]})")
                            page.wait_for_timeout(SCROLL_PAUSE_MS)
                            partial = views.folder / f".view-{index:02d}.png.partial.png"
                            _screenshot(page, partial)
                            partial.replace(views.png(index))  # whole or absent: another run may be reading
                            taken += 1
                    except PlaywrightError as exc:
                        progress(f"zyte views: screenshots of {views.page_id[:12]} stopped: "
                                 f"{str(exc).splitlines()[0]}")
                    finally:
                        if context is not None:
                            context.close()
                    if (n + 1) % 10 == 0 or n + 1 == len(todo):
                        progress(f"zyte views: screenshots on {n + 1}/{len(todo)} pages")
            finally:
                browser.close()
        return taken

    def ocr_views(self, views: PageViews, ocr: Any, engine_key: str) -> list[list[ScreenLine]]:
        """The OCR lines of each view as the product reads them (``ocr.read(png)``, made ScreenLines with the
        screenshot's pixels by ``tools.perception.ocr_lines.visit_lines``), OCR run once and cached per view.
        The cache keeps what OCR returned at full precision (``dump_lines`` rounds the score to one place), so a
        cached read gives the very lines a fresh one does."""
        from tools.perception.ocr import OcrLine
        from tools.perception.ocr_lines import visit_lines

        boxes: list[list[OcrLine]] = []
        images: list[Path | None] = []
        for index in range(views.n_views):
            if index >= self.settings.screenshots or not views.png(index).exists():
                boxes.append([])  # a view past the screenshots: OCR has nothing to read there
                images.append(None)
                continue
            path = views.folder / f"view-{index:02d}.ocr-{engine_tag(engine_key)}.json"
            if path.exists():
                rows = json.loads(path.read_text(encoding="utf-8"))["lines"]
                self.ocr_cached += 1
            else:
                png = views.png(index)
                started = time.perf_counter()
                raw = ocr.read(png, sha256=hashlib.sha256(png.read_bytes()).hexdigest())
                seconds = time.perf_counter() - started
                self.ocr_seconds.append(seconds)
                rows = [[line.text, line.x0, line.y0, line.x1, line.y1, line.score] for line in raw]
                record = {"engine": engine_key, "seconds": round(seconds, 3),
                          "fields": ["text", "x0", "y0", "x1", "y1", "score"], "lines": rows}
                tmp = path.with_name(f".{path.name}.tmp")
                tmp.write_text(json.dumps(record, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
                tmp.replace(path)
            boxes.append([OcrLine(*row) for row in rows])
            images.append(views.png(index))
        return visit_lines(boxes, images)

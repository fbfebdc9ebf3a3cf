"""What ShopperBrowser records beside each screenshot: the viewport's text layer over one DevTools session per
page, the page's product markup once per document, and the personal details blurred before anything is stored.

Kept apart from the browser (``tools.capture.browser``), which owns the Chromium process, its pages and the
watchdog; this owns the per-page state the text layer needs (the DevTools session, the markup read last, the
last screenshot whose text a same-pixels one reuses) and counts what it did in the browser's ``CaptureStats``.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Protocol

from playwright.sync_api import CDPSession, Page
from playwright.sync_api import Error as PlaywrightError

from tools.capture.page.markup import MARKUP_HTML, extract_markup
from tools.capture.page.text_layer import PAGE_STATE, evaluate, read_text_layer, viewport_of
from tools.capture.privacy import redact_personal_details
from tools.lines import ScreenLine

log = logging.getLogger(__name__)

# Why a text layer read may fail without the frame failing: the CDP session or page went away (Playwright), or a
# snapshot of an unexpected shape (a Chromium that answers differently).
TEXT_LAYER_ERRORS = (PlaywrightError, KeyError, IndexError, TypeError, ValueError)
MAX_TEXT_LAYER_ELEMENTS = 40_000  # elements in the document; real product pages have a few thousand


class RecordingStats(Protocol):  # the counters of tools.capture.browser.CaptureStats this module keeps
    text_layers: int
    text_layer_failed: int
    text_layer_skipped: int
    redacted_lines: int
    redacted_frames: int


class PageRecorder:
    """The text layer, markup and redaction of one browser's screenshots, counted in ``stats``."""

    def __init__(self, stats: RecordingStats, text_layer: bool = True, redact_personal: bool = True) -> None:
        self.stats = stats
        self.text_layer = text_layer
        self.redact_personal = redact_personal
        self.session: CDPSession | None = None  # for text layers, on the page it was opened for
        self._session_page: Page | None = None
        self._markup_of: tuple[str, float] | None = None  # (url, document) of the markup read last
        self._markup: dict | None = None
        # (png digest, url, page, its lines) of the last screenshot, whose text layer a same-pixels one reuses
        self._last_shot: tuple[bytes, str, int, list[ScreenLine] | None] | None = None

    def lines_of(self, page: Page, png: bytes) -> list[ScreenLine] | None:
        """The text layer of the screenshot ``png`` just taken of ``page`` (still masked, so masked fields and
        the live panel stay out of it); the same pixels of the same page show the same text, so no snapshot."""
        shown = (hashlib.sha256(png).digest(), page.url, id(page))
        if self._last_shot is not None and self._last_shot[:3] == shown and self._last_shot[3] is not None:
            self.stats.text_layers += 1
            return self._last_shot[3]
        lines = self.read(page)
        self._last_shot = (*shown, lines)
        return lines

    def read(self, page: Page) -> list[ScreenLine] | None:
        """The text layer of the viewport as it is now; None when it is turned off or cannot be read (counted:
        the frame is stored without one)."""
        if not self.text_layer:
            return None
        try:
            # A snapshot costs time with the size of the whole document: an enormous page gets none (its
            # screenshots are read by OCR instead), so a capture stays within the hang watchdog's bound.
            if self.session is None or self._session_page is not page:  # first capture, or a fresh page
                self.session, self._session_page = page.context.new_cdp_session(page), page
            # size, pixel ratio and element count in one round trip, over the session (cheaper than page.evaluate)
            state = evaluate(self.session, PAGE_STATE)
            if state[3] > MAX_TEXT_LAYER_ELEMENTS:
                self.stats.text_layer_skipped += 1
                return None
            lines = read_text_layer(page, self.session, viewport_of(state))
        except TEXT_LAYER_ERRORS as exc:
            log.debug("no text layer for this frame of %s: %s", page.url, exc)
            self.stats.text_layer_failed += 1
            self.drop_session()  # the next capture opens a new one
            return None
        self.stats.text_layers += 1
        return lines

    def drop_session(self) -> None:
        session, self.session, self._session_page = self.session, None, None
        if session is not None:
            try:
                session.detach()
            except PlaywrightError as exc:  # already gone with its page
                log.debug("detaching the text layer session: %s", exc)

    def forget(self) -> None:
        """The browser closed: its sessions went with it."""
        self.session = self._session_page = None

    def redact(self, png: bytes, lines: list[ScreenLine]) -> tuple[bytes, list[ScreenLine]]:
        """``png`` with the personal details its text layer shows blurred, and the lines without them (unless
        redaction is turned off)."""
        if not self.redact_personal:
            return png, lines
        png, lines, redacted = redact_personal_details(png, lines)
        if redacted:
            self.stats.redacted_lines += redacted
            self.stats.redacted_frames += 1
        return png, lines

    def markup(self, page: Page, url: str, document: float) -> dict | None:
        """The product markup of the document on show, read from its HTML on its first frame; None if the HTML
        could not be had (its frames get none; a later frame tries again)."""
        if self._markup_of != (url, document):
            try:
                html = self.markup_html(page)
            except PlaywrightError as exc:  # navigating away right now, or gone
                log.debug("no markup for %s: %s", url, exc)
                return None
            self._markup_of, self._markup = (url, document), extract_markup(html, url)
        return self._markup

    def markup_html(self, page: Page) -> str:
        """The markup-bearing parts of the page's HTML (``MARKUP_HTML``), over the text layer's session when it is
        open on ``page``; else, or if that fails, the whole document from Playwright."""
        if self.session is not None and self._session_page is page:
            try:
                html = evaluate(self.session, MARKUP_HTML)
                if isinstance(html, str):
                    return html
            except TEXT_LAYER_ERRORS as exc:
                log.debug("markup parts of %s unreadable, reading the whole page: %s", page.url, exc)
        return page.content()

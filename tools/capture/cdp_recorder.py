"""Recording what a user views in a Chromium they already run, attached over the DevTools protocol (CDP).

The user starts their browser with ``--remote-debugging-port=9222`` and browses as usual; ``record_cdp`` attaches
with Playwright's ``connect_over_cdp`` and, ``rate_hz`` times a second:

* picks the page the user is looking at: among all contexts' pages, one whose ``document.visibilityState`` is
  "visible", preferring one whose document has focus, then the most recently opened (none visible: no frame);
* skips it if it is not http(s) (chrome://, about:blank) or, when ``allowed_origins`` is given, not of one of
  them; a page still loading is counted (``loading``), not captured;
* masks sensitive fields as ``ShopperBrowser.capture`` does (``tools.capture.privacy`` MASK/UNMASK; here in every frame,
  so card fields in payment iframes are hidden too), takes a viewport screenshot and its text layer (one
  ``DOMSnapshot.captureSnapshot`` over a CDP session kept per tab; no markup: that would serialise the user's
  page each time) and unmasks. A frame whose masked document was replaced meanwhile (the user navigated) is
  dropped: it may show unmasked fields;
* blurs the personal details the text layer shows (``tools.capture.privacy.redact_personal_details``: the user's
  name in a greeting, a delivery address, e-mail addresses) and drops them from it, unless ``redact_personal``
  is off; a frame whose text layer could not be read is stored without one (counted in ``text_layer_failed``);
* drops blank frames (``tools.capture.phash.examine``) and stores the rest with ``frames.add(..., reason="cdp")``.

The user's browser is changed by nothing but that momentary mask style: no routes, no navigation, no viewport,
focus, media or download overrides (``no_defaults=True``). Their alert/confirm/beforeunload dialogs stay theirs
to answer (Playwright dismisses dialogs no one listens to); a page showing one is skipped, as evaluating in it
would block until it is answered. At the end Playwright only disconnects (``Browser.close()`` on a browser
attached over CDP closes the connection, not the browser). If the browser goes away mid-recording, recording
ends quietly with the statistics so far; frames already stored stay.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import socket
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from PIL import Image
from playwright.sync_api import Browser, BrowserContext, CDPSession, Frame, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from tools.capture.browser import BrowserError, CaptureStats, origin_of
from tools.capture.frames import FrameStore
from tools.capture.page.recorder import TEXT_LAYER_ERRORS
from tools.capture.page.text_layer import Viewport, capture_snapshot, lines_from_snapshot
from tools.capture.phash import examine
from tools.capture.privacy import MASK, STYLE_ID, UNMASK, redact_personal_details
from tools.lines import ScreenLine, TextLayer

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_MS = 15_000
SCREENSHOT_TIMEOUT_MS = 10_000
STALL_S = 3.0  # a period busy this long, with the browser gone or the time up, is given up on
_PAGE_STATE = "[document.visibilityState, document.hasFocus(), document.readyState]"
# Whether the mask style is still there (its document was not replaced meanwhile), then remove it.
_UNMASK_CHECKED = f"[!!document.getElementById('{STYLE_ID}'), {UNMASK}][0]"


def record_cdp(
    cdp_url: str,
    frames: FrameStore,
    session_id: str,
    seconds: float,
    rate_hz: float = 2.0,
    allowed_origins: list[str] | None = None,
    stop: threading.Event | None = None,
    text_layer: bool = True,
    redact_personal: bool = True,
) -> CaptureStats:
    """Record the pages the user views in the browser at ``cdp_url`` for ``seconds`` (or until ``stop`` is set),
    each frame with its text layer (``text_layer``) and personal details blurred (``redact_personal``).

    Raises BrowserError only when the browser cannot be attached to at the start."""
    if rate_hz <= 0:
        raise ValueError("rate_hz must be positive")
    run = _Run(cdp_url, frames, session_id, 1.0 / rate_hz, time.monotonic() + seconds, stop or threading.Event(),
               None if allowed_origins is None else {origin_of(origin) for origin in allowed_origins},
               text_layer=text_layer, redact_personal=redact_personal)
    # Playwright works in a thread watched from here, as some calls never return: into a tab stuck in a script,
    # into one whose dialog opened just after we looked (until the user answers it), a call caught by the
    # browser's death (seen with CDP sessions).
    worker = threading.Thread(target=run.work, name="cdp-recorder", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.25)
            busy = run.busy_since
            if busy is None or time.monotonic() - busy < STALL_S or not worker.is_alive():
                continue
            over = run.stop.is_set() or time.monotonic() > run.end
            if over or not _reachable(cdp_url):
                log.warning("recording from %s is stuck in a Playwright call (browser %s); leaving it", cdp_url,
                            "still there" if over else "gone")
                break
    except KeyboardInterrupt:
        run.halt.set()
        worker.join(STALL_S)
        raise
    finally:
        run.halt.set()  # a worker left behind stores nothing more and disconnects as soon as it can
    if run.error is not None:
        raise run.error
    stats = dataclasses.replace(run.stats)
    log.info("recorded %d frames (%d kept) from %s", stats.kept + stats.duplicates, stats.kept, cdp_url)
    return stats


def _reachable(cdp_url: str) -> bool:
    parts = urlsplit(cdp_url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=1.0):
            return True
    except OSError:
        return False


@dataclasses.dataclass
class _Run:
    cdp_url: str
    frames: FrameStore
    session_id: str
    period: float
    end: float  # time.monotonic()
    stop: threading.Event  # the caller's
    allowed: set[str] | None
    text_layer: bool = True
    redact_personal: bool = True
    halt: threading.Event = dataclasses.field(default_factory=threading.Event)  # record_cdp has returned
    stats: CaptureStats = dataclasses.field(default_factory=CaptureStats)
    busy_since: float | None = None  # when this period's Playwright calls began; None between periods
    error: BaseException | None = None
    showing_dialog: set[Page] = dataclasses.field(default_factory=set)
    _watched: set[BrowserContext] = dataclasses.field(default_factory=set)
    _cdp: dict[Page, CDPSession] = dataclasses.field(default_factory=dict)  # text layer sessions, one per tab

    def work(self) -> None:
        try:
            with sync_playwright() as playwright:
                try:
                    browser = playwright.chromium.connect_over_cdp(self.cdp_url, timeout=CONNECT_TIMEOUT_MS,
                                                                   no_defaults=True)
                except PlaywrightError as exc:
                    raise BrowserError(f"could not attach to the browser at {self.cdp_url}: {exc}") from exc
                try:
                    self._loop(browser)
                finally:
                    try:
                        browser.close()  # attached over CDP: this disconnects, the user's browser keeps running
                    except PlaywrightError:
                        pass
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            self.error = exc

    def _loop(self, browser: Browser) -> None:
        while (started := time.monotonic()) < self.end and not (self.stop.is_set() or self.halt.is_set()):
            if not browser.is_connected() or not browser.contexts:  # the default context goes only with it
                log.info("the attached browser went away; recording ends")
                return
            for context in set(browser.contexts) - self._watched:  # listening keeps the user's dialogs open
                self._watched.add(context)
                context.on("dialog", lambda dialog: self.showing_dialog.add(dialog.page))
                context.on("dialogclosed", lambda dialog: self.showing_dialog.discard(dialog.page))
            self.busy_since = started
            self._tick(browser)
            self.busy_since = None
            pause = min(self.period - (time.monotonic() - started), self.end - time.monotonic())
            contexts = browser.contexts
            if pause > 0 and contexts:
                # Waiting on an event, unlike time.sleep, lets Playwright deliver new pages, dialogs, a disconnect.
                try:
                    contexts[0].wait_for_event("close", timeout=max(1.0, pause * 1000))
                except PlaywrightError:  # the usual timeout, or the browser went away
                    pass

    def _tick(self, browser: Browser) -> None:
        for closed in [page for page in self._cdp if page.is_closed()]:
            del self._cdp[closed]  # its session went with it
        page, ready = _viewed_page(browser, self.showing_dialog)
        if page is None:
            return
        url = page.url
        if not url.startswith(("http://", "https://")) or (self.allowed is not None and
                                                          origin_of(url) not in self.allowed):
            return
        if ready != "complete":
            self.stats.captured += 1
            self.stats.loading += 1
            return
        try:
            self._capture(page)
        except PlaywrightError as exc:  # closed or navigated mid-capture, or the browser went away
            log.debug("capture of %s failed: %s", url, exc)

    def _capture(self, page: Page) -> None:
        masked: list[Frame] = []
        fields, png, snapshot = 0, None, None
        try:
            for frame in page.frames:
                try:
                    fields += int(frame.evaluate(MASK) or 0)
                    masked.append(frame)
                except PlaywrightError:
                    if not frame.is_detached():  # it could show its fields unmasked: no screenshot this time
                        break
            else:
                png = page.screenshot(full_page=False, type="png", caret="hide", timeout=SCREENSHOT_TIMEOUT_MS)
                snapshot = self._snapshot(page)  # still masked
        finally:
            intact = bool(masked) and all([_unmask(frame) for frame in masked])
        if png is None:
            log.debug("not capturing %s: a frame of it could not be masked", page.url)
            return
        self.stats.captured += 1
        if not intact:
            log.debug("dropped a frame of %s: the page changed while it was captured", page.url)
            return
        self.stats.masked_fields += fields
        scroll_y, url, title, scale = page.evaluate(
            "[Math.round(window.scrollY), location.href, document.title, window.devicePixelRatio]")
        lines = None if snapshot is None else self._lines(snapshot, png, float(scale or 1.0), url)
        if lines is not None and self.redact_personal:
            png, lines, redacted = redact_personal_details(png, lines)
            self.stats.redacted_lines += redacted
            self.stats.redacted_frames += bool(redacted)
        facts = examine(png)
        if facts.blank:
            self.stats.blank += 1
        elif not self.halt.is_set():
            frame = self.frames.add(self.session_id, png, url=url, title=title, scroll_y=int(scroll_y),
                                    reason="cdp", facts=facts,
                                    text_layer=None if lines is None else TextLayer(lines=lines))
            if frame.duplicate_of:
                self.stats.duplicates += 1
            else:
                self.stats.kept += 1

    def _snapshot(self, page: Page) -> dict[str, Any] | None:
        """The DOM snapshot the text layer is made of; None (counted) when it is off or cannot be taken."""
        if not self.text_layer:
            return None
        try:
            if page not in self._cdp:
                self._cdp[page] = page.context.new_cdp_session(page)
            return capture_snapshot(self._cdp[page])
        except PlaywrightError as exc:  # the tab closed or crashed; the frame is kept without a text layer
            log.debug("no text layer for this frame of %s: %s", page.url, exc)
            self.stats.text_layer_failed += 1
            self._cdp.pop(page, None)
            return None

    def _lines(self, snapshot: dict[str, Any], png: bytes, scale: float, url: str) -> list[ScreenLine] | None:
        """The text layer in the screenshot's pixels. The viewport is the screenshot's size: the user's window
        has no size Playwright knows of (no viewport is set on their browser), and may be HiDPI."""
        try:
            with Image.open(io.BytesIO(png)) as image:  # reads the header only
                width, height = image.size
            lines = lines_from_snapshot(snapshot, Viewport(width, height, scale))
        except TEXT_LAYER_ERRORS as exc:  # a snapshot of an unexpected shape
            log.debug("no text layer for this frame of %s: %s", url, exc)
            self.stats.text_layer_failed += 1
            return None
        self.stats.text_layers += 1
        return lines


def _viewed_page(browser: Browser, showing_dialog: set[Page]) -> tuple[Page | None, str]:
    """The page the user is looking at and its ``document.readyState``; (None, "") when none is visible."""
    best: tuple[tuple[bool, int], Page, str] | None = None
    pages = [page for context in browser.contexts for page in context.pages]
    for opened, page in enumerate(pages):
        if page.is_closed() or page in showing_dialog:
            continue
        try:
            visibility, focused, ready = page.evaluate(_PAGE_STATE)
        except PlaywrightError:  # closed, crashed, or navigating right now: not viewable this period
            continue
        if visibility == "visible" and (best is None or (bool(focused), opened) > best[0]):
            best = ((bool(focused), opened), page, ready)
    return (None, "") if best is None else (best[1], best[2])


def _unmask(frame: Frame) -> bool:
    """Remove the mask style; False if the masked document is gone (replaced by a navigation, or detached)."""
    try:
        return bool(frame.evaluate(_UNMASK_CHECKED))
    except PlaywrightError:
        return False

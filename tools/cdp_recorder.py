"""Recording what a user views in a Chromium they already run, attached over the DevTools protocol (CDP).

The user starts their own browser with ``--remote-debugging-port=9222`` and browses as usual. ``record_cdp``
attaches with Playwright's ``connect_over_cdp`` and, ``rate_hz`` times a second:

* picks the page the user is looking at: among all pages of all contexts, those whose
  ``document.visibilityState`` is "visible", preferring one whose document has focus, then the most recently
  opened. A hidden browser (minimised, every tab in the background) gives no page and no frame;
* skips that page when it is not http(s) (chrome://, about:blank, file:) or, when ``allowed_origins`` is given,
  when its origin is not one of them; a page still loading is counted (``loading``), not captured;
* masks sensitive fields exactly as ``ShopperBrowser.capture`` does (``tools.privacy`` MASK/UNMASK, here in
  every frame of the page, so card fields in payment iframes are hidden too), takes a viewport screenshot, and
  removes the mask. If a masked document was replaced meanwhile (the user navigated during the screenshot),
  the frame is dropped: it may show unmasked fields;
* drops blank frames (``tools.phash.examine``) and stores the rest with ``frames.add(..., reason="cdp")``.

The user's browser is never changed beyond that momentary mask style: no routes, no navigation, no viewport,
focus, media or download overrides (``no_defaults=True``). At the end Playwright only disconnects:
``Browser.close()`` on a CDP-attached browser closes the connection, not the browser. If the browser goes away
mid-recording, recording ends quietly and returns the statistics so far; frames already stored stay.
"""

from __future__ import annotations

import logging
import threading
import time

from playwright.sync_api import Browser, Frame, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from tools.browser import BrowserError, CaptureStats, origin_of
from tools.frames import FrameStore
from tools.phash import examine
from tools.privacy import MASK, STYLE_ID, UNMASK

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_MS = 15_000
SCREENSHOT_TIMEOUT_MS = 10_000
_PAGE_STATE = "[document.visibilityState, document.hasFocus(), document.readyState]"
# Whether the mask style is still in the document (it was not replaced meanwhile), then remove it.
_UNMASK_CHECKED = f"[!!document.getElementById('{STYLE_ID}'), {UNMASK}][0]"


class _Gone(Exception):
    """The attached browser closed or crashed."""


def _viewed_page(browser: Browser) -> tuple[Page, str] | None:
    """The page the user is looking at and its ``document.readyState``, or None when none is visible."""
    best: tuple[tuple[bool, int], Page, str] | None = None
    pages = [page for context in browser.contexts for page in context.pages]
    for opened, page in enumerate(pages):
        if page.is_closed():
            continue
        try:
            visibility, focused, ready = page.evaluate(_PAGE_STATE)
        except PlaywrightError:  # closed, crashed, or navigating right now: not viewable this period
            continue
        if visibility == "visible" and (best is None or (bool(focused), opened) > best[0]):
            best = ((bool(focused), opened), page, ready)
    return None if best is None else (best[1], best[2])


def _mask(page: Page) -> tuple[list[Frame], int]:
    """Mask sensitive fields in every frame of the page; the frames masked and the number of fields hidden."""
    masked: list[Frame] = []
    fields = 0
    for frame in page.frames:
        try:
            fields += int(frame.evaluate(MASK) or 0)
        except PlaywrightError:  # a detached or cross-process frame that cannot be reached: nothing to undo
            continue
        masked.append(frame)
    return masked, fields


def _unmask(masked: list[Frame]) -> bool:
    """Remove the mask style everywhere it was put; False when some masked document was replaced meanwhile."""
    intact = True
    for frame in masked:
        try:
            intact &= bool(frame.evaluate(_UNMASK_CHECKED))
        except PlaywrightError:  # navigated away or detached: the masked document is gone with its style
            intact = False
    return intact


def _capture(page: Page, frames: FrameStore, session_id: str, stats: CaptureStats) -> None:
    masked, fields = _mask(page)
    try:
        png = page.screenshot(full_page=False, type="png", caret="hide", timeout=SCREENSHOT_TIMEOUT_MS)
    finally:
        intact = _unmask(masked)
    stats.captured += 1
    if not intact or not masked:
        log.debug("dropped a frame of %s: the page changed while it was captured", page.url)
        return
    stats.masked_fields += fields
    scroll_y, url, title = page.evaluate("[Math.round(window.scrollY), location.href, document.title]")
    facts = examine(png)
    if facts.blank:
        stats.blank += 1
        return
    frame = frames.add(session_id, png, url=url, title=title, scroll_y=int(scroll_y), reason="cdp", facts=facts)
    if frame.duplicate_of:
        stats.duplicates += 1
    else:
        stats.kept += 1


def record_cdp(
    cdp_url: str,
    frames: FrameStore,
    session_id: str,
    seconds: float,
    rate_hz: float = 2.0,
    allowed_origins: list[str] | None = None,
    stop: threading.Event | None = None,
) -> CaptureStats:
    """Record the pages the user views in the browser at ``cdp_url`` for ``seconds`` (or until ``stop`` is set).

    Raises BrowserError only when the browser cannot be attached to at the start."""
    if rate_hz <= 0:
        raise ValueError("rate_hz must be positive")
    allowed = None if allowed_origins is None else {origin_of(origin) for origin in allowed_origins}
    stats = CaptureStats()
    period = 1.0 / rate_hz
    end = time.monotonic() + seconds
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.connect_over_cdp(cdp_url, timeout=CONNECT_TIMEOUT_MS, no_defaults=True)
        except PlaywrightError as exc:
            raise BrowserError(f"could not attach to the browser at {cdp_url}: {exc}") from exc
        try:
            probe = browser.new_browser_cdp_session()
            while (started := time.monotonic()) < end and not (stop is not None and stop.is_set()):
                try:
                    _tick(browser, probe, frames, session_id, stats, allowed)
                except _Gone as exc:
                    log.info("the attached browser went away; recording ends (%s)", exc)
                    break
                pause = min(period - (time.monotonic() - started), end - time.monotonic())
                if pause > 0 and stop is not None:
                    stop.wait(pause)
                elif pause > 0:
                    time.sleep(pause)
        except PlaywrightError as exc:  # the browser went away between periods
            log.info("the attached browser went away; recording ends (%s)", exc)
        finally:
            try:
                browser.close()  # attached over CDP: this disconnects, the user's browser keeps running
            except PlaywrightError:
                pass
    log.info("recorded %d frames (%d kept) from %s", stats.kept + stats.duplicates, stats.kept, cdp_url)
    return stats


def _tick(browser: Browser, probe, frames: FrameStore, session_id: str, stats: CaptureStats,  # noqa: ANN001
          allowed: set[str] | None) -> None:
    """One period: capture the viewed page if it may be captured. Raises _Gone when the browser is gone."""
    try:
        probe.send("Browser.getVersion")  # liveness, and lets Playwright deliver pages opened since last time
    except PlaywrightError as exc:
        raise _Gone(str(exc)) from exc
    viewed = _viewed_page(browser)
    if viewed is None:
        return
    page, ready = viewed
    url = page.url
    if not url.startswith(("http://", "https://")) or (allowed is not None and origin_of(url) not in allowed):
        log.debug("not capturing %s (not an allowed origin)", url)
        return
    if ready != "complete":
        stats.captured += 1
        stats.loading += 1
        return
    try:
        _capture(page, frames, session_id, stats)
    except PlaywrightError as exc:
        if not browser.is_connected():
            raise _Gone(str(exc)) from exc
        log.debug("capture of %s failed: %s", url, exc)  # closed or navigated mid-capture: next period

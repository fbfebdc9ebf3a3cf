"""Headless Chromium through Playwright, restricted to allowed origins, taking viewport-only screenshots.

Each screenshot comes with its text layer (read while the privacy mask is on) and the product markup of its page
(read once per document); personal details the page shows are blurred and dropped from the text layer before
the frame is stored. ``tools.capture.page.recorder.PageRecorder`` does those three; ``tools.capture.watchdog``
turns a hung Chromium into a dead one.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self
from urllib.parse import urlsplit

from playwright.sync_api import Browser, Page, Playwright, sync_playwright
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tools.capture.frames import FrameStore
from tools.capture.page.recorder import PageRecorder
from tools.capture.phash import examine
from tools.capture.privacy import MASK, UNMASK
from tools.capture.watchdog import Watchdog
from tools.lines import TextLayer
from tools.schemas import Frame

log = logging.getLogger(__name__)

# Flags measured to work with Debian's Chromium on machines without a sandbox, GPU or open network.
CHROMIUM_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
)


class BrowserError(RuntimeError):
    """The browser could not be started or driven."""


class BrowserGone(BrowserError):
    """The browser closed or crashed during a session; frames already captured are kept."""


DEFAULT_RATE_HZ = 2.0
RECYCLE_AFTER_REQUESTS = 600


@dataclass
class CaptureStats:
    captured: int = 0  # screenshots taken
    kept: int = 0  # stored as new pixels
    duplicates: int = 0  # recorded as references to an earlier kept frame
    blank: int = 0  # one flat colour: not stored
    loading: int = 0  # taken while the page was still loading: not stored
    masked_fields: int = 0  # sensitive fields hidden across all captures
    text_layers: int = 0  # screenshots whose text layer was read
    text_layer_failed: int = 0  # screenshots stored without a text layer, as reading it failed (so unredacted)
    text_layer_skipped: int = 0  # screenshots of a page too large to snapshot (read by OCR instead)
    redacted_lines: int = 0  # runs of personal details blurred in a screenshot and dropped from its text layer
    redacted_frames: int = 0  # screenshots with any such run


@dataclass
class BrowserConfig:
    executable: Path = Path("/usr/bin/chromium")
    width: int = 1280
    height: int = 800
    headless: bool = True
    navigation_timeout_s: float = 15.0
    allowed_origins: list[str] = field(default_factory=list)  # empty: only the start URL's origin
    rate_hz: float = DEFAULT_RATE_HZ  # interval captures while the shopper dwells
    extra_args: tuple[str, ...] = ()
    hang_timeout_s: float | None = None  # no progress for this long = hung (default 3 navigation timeouts + 5 s)
    text_layer: bool = True  # read each screenshot's text layer, and its page's markup
    redact_personal: bool = True  # blur personal details found in the text layer before a frame is stored

    @property
    def hang_limit_s(self) -> float:
        """One step may wait out a few Playwright timeouts (a price filter: fill, fill, navigate) before the
        next capture; anything longer is a hang."""
        return self.hang_timeout_s or 3 * self.navigation_timeout_s + 5


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def url_problem(url: str) -> str | None:
    """Why the browser will not open ``url``: it only opens absolute http(s) URLs with a host (never file:,
    javascript:, data: or a bare word). None when it will."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises for a port out of range
    except ValueError as exc:
        return f"{url!r} is not a valid URL ({exc})"
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return f"{url!r} is not an http(s) URL with a host; the browser only opens web pages"
    return None


_BEFORE_SHOT = f"""(() => ({{
  loading: document.readyState !== 'complete',
  images: Array.from(document.images).every(i => i.complete),
  masked: {MASK},
}}))()"""
# timeOrigin tells documents apart: the same URL loaded again, or after going back, is a new document.
_AFTER_SHOT = f"""(() => {{ {UNMASK};
  return {{ scroll: window.scrollY, title: document.title, document: performance.timeOrigin }}; }})()"""


class ShopperBrowser:
    """One browser, one page, and the frame store its screenshots go to. Use as a context manager."""

    def __init__(self, config: BrowserConfig, frames: FrameStore, session_id: str) -> None:
        self.config = config
        self.frames = frames
        self.session_id = session_id
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self.page: Page | None = None
        self.blocked_requests: list[str] = []
        self.stats = CaptureStats()
        self.last_frame: Frame | None = None
        self.requests_since_recycle = 0
        self.recycle_after = RECYCLE_AFTER_REQUESTS  # requests before recycle_if_worn swaps in a fresh page
        self._navigated = False
        self.watchdog: Watchdog | None = None
        # The text layer, markup and redaction beside each screenshot (tools/capture/page/recorder.py).
        self.recorder = PageRecorder(self.stats, config.text_layer, config.redact_personal)

    def __enter__(self) -> Self:
        if not self.config.executable.exists():
            raise BrowserError(
                f"Chromium not found at {self.config.executable}; install it with `apt-get install chromium` "
                "or set INTERAREC_CHROMIUM_PATH"
            )
        try:
            self._playwright = sync_playwright().start()
            self._browser = self._playwright.chromium.launch(
                executable_path=str(self.config.executable), headless=self.config.headless,
                args=[*CHROMIUM_FLAGS, *self.config.extra_args],
            )
            self.watchdog = Watchdog(self.config.hang_limit_s, self._browser_pid())
            self.page = self._new_page()
        except PlaywrightError as exc:
            self.__exit__(None, None, None)
            raise BrowserError(f"could not start Chromium: {exc}") from exc
        return self

    def __exit__(self, exc_type: object = None, exc: BaseException | None = None, tb: object = None) -> None:
        self.pet()  # closing a hung browser is bounded by the watchdog too
        try:
            if self._browser is not None and self._browser.is_connected():
                self._browser.close()
        except PlaywrightError as error:  # it died meanwhile: nothing left to close
            log.debug("closing the browser: %s", error)
        except (Exception, KeyboardInterrupt) as error:
            # Ctrl-C that landed inside Playwright's event loop leaves it unable to close ("This event loop is
            # already running"); the error that brought us here must not be replaced by that one.
            if exc is None:
                raise
            log.debug("closing the browser after %r: %r", exc, error)
        finally:
            if self.watchdog is not None:
                self.watchdog.stop()
            try:
                if self._playwright is not None:
                    self._playwright.stop()
            except (Exception, KeyboardInterrupt) as error:
                if exc is None:
                    raise
                log.debug("stopping Playwright after %r: %r", exc, error)
            self._browser = self._playwright = self.page = None
            self.recorder.forget()
        hang = self.watchdog.fired if self.watchdog else ""
        if hang and isinstance(exc, Exception) and not isinstance(exc, BrowserGone):
            raise BrowserGone(hang) from exc  # whatever call the hang broke, say what happened
        if hang and isinstance(exc, BrowserGone) and hang not in str(exc):
            exc.args = (f"{hang}: {exc}",)

    def _browser_pid(self) -> int | None:
        """Chromium's main process (the leader of its process group), for the watchdog."""
        try:
            cdp = self._browser.new_browser_cdp_session()
            info = cdp.send("SystemInfo.getProcessInfo")["processInfo"]
            cdp.detach()
            pid = next(p["id"] for p in info if p["type"] == "browser")
        except (PlaywrightError, KeyError, StopIteration) as exc:
            log.warning("no watchdog for this browser (its process id is unknown: %s)", exc)
            return None
        try:
            return pid if os.getpgid(pid) == pid else None  # never kill a group that is not Chromium's own
        except OSError:
            return None

    def pet(self) -> None:
        """The browser made progress (the watchdog waits for the next step)."""
        if self.watchdog is not None:
            self.watchdog.pet()

    def _new_page(self) -> Page:
        context = self._browser.new_context(
            viewport={"width": self.config.width, "height": self.config.height}, device_scale_factor=1
        )
        context.set_default_navigation_timeout(self.config.navigation_timeout_s * 1000)
        context.set_default_timeout(self.config.navigation_timeout_s * 1000)
        context.route("**/*", self._guard)
        self.requests_since_recycle = 0
        return context.new_page()

    def recycle_if_worn(self) -> bool:
        """Playwright keeps an object for every request a page made until its context closes, in this process and
        its driver (upstream calls it expected): a long session's memory grows with its navigations (about 7.5
        MiB/min in Python alone for a shopper opening a page every 2-3 s). Once ``recycle_after`` requests have
        passed, swap in a fresh page on the same URL: only that URL is left in the tab's history, so one step
        back still works."""
        if self.page is None or self.requests_since_recycle < self.recycle_after:
            return False
        self.pet()
        url, old = self.page.url, self.page.context
        try:
            self.page = self._new_page()
            old.close()
            if url.startswith(("http://", "https://")):
                self.page.goto(url, wait_until="load")
        except PlaywrightError as exc:
            raise BrowserGone(f"the browser went away: {exc}") from exc
        log.debug("fresh page after %s", url)
        return True

    def _guard(self, route, request) -> None:
        """Only allowed origins are reached; everything else is aborted, never fetched."""
        self.requests_since_recycle += 1
        if request.url.startswith(("data:", "blob:")) or origin_of(request.url) in self.config.allowed_origins:
            route.continue_()
        else:
            self.blocked_requests.append(request.url)
            route.abort("blockedbyclient")

    def goto(self, url: str) -> None:
        if (problem := url_problem(url)) is not None:
            raise BrowserError(problem)
        # The first page a session opens (the shop) is always allowed, besides the configured origins.
        if not self._navigated and origin_of(url) not in self.config.allowed_origins:
            self.config.allowed_origins.append(origin_of(url))
        self._navigated = True
        if origin_of(url) not in self.config.allowed_origins:
            raise BrowserError(f"{url} is outside the allowed origins {self.config.allowed_origins}")
        assert self.page is not None
        self.pet()
        try:
            response = self.page.goto(url, wait_until="load")
        except PlaywrightError as exc:
            if not self.alive:
                raise
            raise BrowserError(f"could not open {url}: {str(exc).splitlines()[0]}") from exc
        if response is not None and response.status >= 400:  # the page shown is the server's error page
            raise BrowserError(f"could not open {url}: the server answered HTTP {response.status}")

    @property
    def alive(self) -> bool:
        return (self._browser is not None and self._browser.is_connected()
                and self.page is not None and not self.page.is_closed())

    def wait_for_images(self, timeout_s: float = 3.0) -> None:
        """Wait until every <img> in the page has loaded, so no frame shows half-loaded photos."""
        assert self.page is not None
        try:
            self.page.wait_for_function(
                "Array.from(document.images).every(i => i.complete)", timeout=timeout_s * 1000
            )
        except PlaywrightTimeout:
            log.debug("images still loading after %.1fs on %s", timeout_s, self.page.url)

    def capture(self, reason: str) -> Frame | None:
        """A viewport-only screenshot (never the full page), sensitive fields masked, stored in the frame
        database. Blank frames and frames of a page still loading are counted, not stored."""
        assert self.page is not None
        started = time.perf_counter()
        self.pet()
        try:
            # One round trip before the shot (state, images, mask) and one after (unmask, scroll, title).
            state = self.page.evaluate(_BEFORE_SHOT)
            if state["loading"] and reason == "interval":
                self.stats.captured += 1
                self.stats.loading += 1
                return None
            if not state["images"]:
                self.page.evaluate(UNMASK)
                self.wait_for_images()
                state["masked"] = self.page.evaluate(MASK)
            self.stats.masked_fields += int(state["masked"] or 0) + self._mask_subframes(MASK)
            try:
                png = self.page.screenshot(full_page=False, type="png", animations="disabled", caret="hide")
                lines = self.recorder.lines_of(self.page, png)  # still masked, as the screenshot was
            finally:
                after = self.page.evaluate(_AFTER_SHOT)
                self._mask_subframes(UNMASK)
            url, title, scroll_y = self.page.url, after["title"], int(after["scroll"])
        except PlaywrightError as exc:
            if isinstance(exc, PlaywrightTimeout) and self.alive:
                if self.watchdog is None or self.watchdog.pid is None:
                    raise BrowserError(f"screenshot timed out on {self.page.url}") from exc
                self.watchdog.kill(f"a viewport screenshot timed out on {self.page.url}")  # a hung renderer
            raise BrowserGone(self.watchdog.fired if self.watchdog and self.watchdog.fired
                              else f"the browser went away during capture: {exc}") from exc
        self.pet()
        self.stats.captured += 1
        if lines is not None:
            png, lines = self.recorder.redact(png, lines)
        facts = examine(png)
        if facts.blank:
            self.stats.blank += 1
            return None
        text_layer = None
        if lines is not None:
            text_layer = TextLayer(lines=lines, markup=self.recorder.markup(self.page, url,
                                                                           float(after.get("document") or 0)))
        frame = self.frames.add(self.session_id, png, url=url, title=title, scroll_y=scroll_y, reason=reason,
                                facts=facts, text_layer=text_layer)
        self.last_frame = frame
        if frame.duplicate_of:
            self.stats.duplicates += 1
        else:
            self.stats.kept += 1
        log.debug("captured %s (%s) in %.2fs", frame.frame_id, reason, time.perf_counter() - started)
        return frame

    def _mask_subframes(self, script: str) -> int:
        """Run the mask (or unmask) script in every iframe too: a card field often lives in one."""
        masked = 0
        for frame in self.page.frames[1:]:
            try:
                masked += int(frame.evaluate(script) or 0)
            except PlaywrightError as exc:  # a frame detached meanwhile
                log.debug("masking a frame: %s", exc)
        return masked

    def idle(self, seconds: float, deadline: float | None = None, on_frame=None) -> list[Frame]:  # noqa: ANN001
        """Capture at ``rate_hz`` while the shopper looks at the page, for ``seconds`` (or until ``deadline``,
        a ``time.monotonic()`` value)."""
        assert self.page is not None
        end = time.monotonic() + seconds
        if deadline is not None:
            end = min(end, deadline)
        period = 1.0 / self.config.rate_hz
        frames: list[Frame] = []
        while (now := time.monotonic()) < end:
            frame = self.capture("interval")
            if frame is not None:
                frames.append(frame)
                if on_frame:
                    on_frame(frame)
            pause = min(period - (time.monotonic() - now), end - time.monotonic())
            if pause > 0:
                try:
                    self.page.wait_for_timeout(pause * 1000)  # keeps Playwright's events flowing
                except PlaywrightError as exc:
                    raise BrowserGone(f"the browser went away: {exc}") from exc
        return frames

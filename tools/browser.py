"""Headless Chromium through Playwright, restricted to allowed origins, taking viewport-only screenshots."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self
from urllib.parse import urlsplit

from playwright.sync_api import Browser, Page, Playwright, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from tools.frames import FrameStore
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


@dataclass
class BrowserConfig:
    executable: Path = Path("/usr/bin/chromium")
    width: int = 1280
    height: int = 800
    headless: bool = True
    navigation_timeout_s: float = 15.0
    allowed_origins: list[str] = field(default_factory=list)  # empty: only the start URL's origin


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


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

    def __enter__(self) -> Self:
        if not self.config.executable.exists():
            raise BrowserError(
                f"Chromium not found at {self.config.executable}; install it with `apt-get install chromium` "
                "or set INTERAREC_CHROMIUM_PATH"
            )
        try:
            self._playwright = sync_playwright().start()
            self._browser = self._playwright.chromium.launch(
                executable_path=str(self.config.executable), headless=self.config.headless, args=CHROMIUM_FLAGS
            )
            context = self._browser.new_context(
                viewport={"width": self.config.width, "height": self.config.height}, device_scale_factor=1
            )
            context.set_default_navigation_timeout(self.config.navigation_timeout_s * 1000)
            context.set_default_timeout(self.config.navigation_timeout_s * 1000)
            context.route("**/*", self._guard)
            self.page = context.new_page()
        except PlaywrightError as exc:
            self.__exit__(None, None, None)
            raise BrowserError(f"could not start Chromium: {exc}") from exc
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._browser is not None:
            self._browser.close()
        if self._playwright is not None:
            self._playwright.stop()
        self._browser = self._playwright = self.page = None

    def _guard(self, route, request) -> None:
        """Only allowed origins are reached; everything else is aborted, never fetched."""
        if request.url.startswith(("data:", "blob:")) or _origin(request.url) in self.config.allowed_origins:
            route.continue_()
        else:
            self.blocked_requests.append(request.url)
            route.abort("blockedbyclient")

    def goto(self, url: str) -> None:
        if not self.config.allowed_origins:
            self.config.allowed_origins.append(_origin(url))
        if _origin(url) not in self.config.allowed_origins:
            raise BrowserError(f"{url} is outside the allowed origins {self.config.allowed_origins}")
        assert self.page is not None
        self.page.goto(url, wait_until="load")

    def wait_for_images(self, timeout_s: float = 3.0) -> None:
        """Wait until every <img> in the page has loaded, so no frame shows half-loaded photos."""
        assert self.page is not None
        try:
            self.page.wait_for_function(
                "Array.from(document.images).every(i => i.complete)", timeout=timeout_s * 1000
            )
        except PlaywrightError:
            log.debug("images still loading after %.1fs on %s", timeout_s, self.page.url)

    def capture(self, reason: str) -> Frame:
        """A viewport-only screenshot (never the full page), stored in the frame database."""
        assert self.page is not None
        started = time.perf_counter()
        self.wait_for_images()
        png = self.page.screenshot(full_page=False, type="png")
        scroll_y = int(self.page.evaluate("window.scrollY"))
        frame = self.frames.add(
            self.session_id, png, url=self.page.url, title=self.page.title(), width=self.config.width,
            height=self.config.height, scroll_y=scroll_y, reason=reason,
        )
        log.debug("captured %s (%s) in %.2fs", frame.frame_id, reason, time.perf_counter() - started)
        return frame

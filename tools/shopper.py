"""Run a persona's browsing script in the browser, capturing the viewport after every step."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from playwright.sync_api import Error as PlaywrightError

from tools.browser import BrowserError, ShopperBrowser
from tools.personas import Persona, Step
from tools.schemas import Frame

log = logging.getLogger(__name__)

RESULT_LINKS = "main [data-testid=product-link], [data-testid=results] [data-testid=product-link]"
DWELL_INTERVAL_S = 0.5


def run_persona(
    browser: ShopperBrowser, shop_url: str, persona: Persona, on_frame: Callable[[Frame], None] | None = None
) -> list[Frame]:
    """Play ``persona`` against the shop at ``shop_url``; returns the frames in capture order."""
    frames: list[Frame] = []

    def capture(reason: str) -> None:
        frame = browser.capture(reason)
        frames.append(frame)
        if on_frame:
            on_frame(frame)

    browser.goto(shop_url)
    for number, step in enumerate(persona.steps, start=1):
        try:
            _perform(browser, shop_url, step)
        except PlaywrightError as exc:
            raise BrowserError(f"persona {persona.name}, step {number} ({step.action}) failed: {exc}") from exc
        if step.action == "dwell":
            deadline = time.monotonic() + step.amount
            while time.monotonic() < deadline:
                capture("interval")
                time.sleep(DWELL_INTERVAL_S)
        else:
            capture("scroll" if step.action == "scroll" else "navigation")
    return frames


def _perform(browser: ShopperBrowser, shop_url: str, step: Step) -> None:
    page = browser.page
    assert page is not None
    if step.action == "home":
        browser.goto(shop_url)
    elif step.action == "search":
        page.fill("[data-testid=search-input]", step.text)
        with page.expect_navigation():
            page.click("[data-testid=search-button]")
    elif step.action == "category":
        browser.goto(f"{shop_url.rstrip('/')}/c/{step.text}")
    elif step.action == "price_filter":
        page.fill("[data-testid=filter-min-price]", f"{step.amount:g}")
        page.fill("[data-testid=filter-max-price]", f"{step.upper:g}")
        with page.expect_navigation():
            page.click("[data-testid=filter-apply]")
    elif step.action == "open_result":
        links = page.locator(RESULT_LINKS)
        count = links.count()
        if count == 0:
            raise BrowserError(f"no product links on {page.url}")
        with page.expect_navigation():
            links.nth(min(step.index, count - 1)).click()
    elif step.action == "scroll":
        page.mouse.wheel(0, step.amount)
        page.wait_for_timeout(350)  # let the scroll settle before the frame is taken
    elif step.action == "back":
        page.go_back(wait_until="load")
    elif step.action == "dwell":
        pass

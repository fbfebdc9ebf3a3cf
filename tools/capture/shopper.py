"""Play a browsing script (a persona or a user's script file) in the browser, capturing as it goes:
one frame after every navigation and settled scroll, and frames at the capture rate while the shopper
dwells or reads (``pace_s`` after each step)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin

from playwright.sync_api import Error as PlaywrightError

from tools.capture import browser_tools as bt
from tools.capture.browser import BrowserError, BrowserGone, ShopperBrowser
from tools.capture.personas import Persona, Step
from tools.schemas import Frame

log = logging.getLogger(__name__)

_OPENS_AN_ADDRESS = {"home", "goto", "category"}  # steps that do not depend on the page they start from


@dataclass
class ScriptRun:
    frames: list[Frame] = field(default_factory=list)
    failed_steps: list[str] = field(default_factory=list)  # 'step 4 (open_result): only 3 products here'
    steps_done: int = 0


def run_persona(
    browser: ShopperBrowser,
    shop_url: str,
    persona: Persona,
    on_frame: Callable[[Frame], None] | None = None,
    pace_s: float = 0.0,
    deadline: float | None = None,
) -> ScriptRun:
    """Play ``persona`` against the site at ``shop_url`` until its steps end or ``deadline``
    (``time.monotonic()``) passes. Steps that fail are recorded and skipped, as a person would."""
    run = ScriptRun()

    def keep(frame: Frame | None) -> None:
        if frame is not None:
            run.frames.append(frame)
            if on_frame:
                on_frame(frame)

    def frame_of(result: bt.ActionResult) -> Frame | None:
        last = browser.last_frame
        return last if last is not None and last.frame_id == result.frame_id else None

    browser.recycle_if_worn()
    try:
        browser.goto(shop_url)
    except BrowserError as exc:
        if not persona.steps or persona.steps[0].action not in _OPENS_AN_ADDRESS:
            raise  # the steps need the start page
        run.failed_steps.append(f"start ({shop_url}): {exc}")  # the first step opens a page of its own
    for number, step in enumerate(persona.steps, start=1):
        if deadline is not None and time.monotonic() >= deadline:
            break
        if step.action == "dwell":
            for frame in browser.idle(step.amount, deadline):
                keep(frame)
        else:
            if step.action in _OPENS_AN_ADDRESS:  # the page is replaced anyway: a long script's memory stays flat
                browser.recycle_if_worn()
            result = _perform(browser, shop_url, step)
            if not result.ok:
                run.failed_steps.append(f"step {number} ({step.action}): {result.message}")
                log.info("persona %s: step %d (%s) failed: %s", persona.name, number, step.action, result.message)
            keep(frame_of(result))
        run.steps_done = number
        if pace_s > 0:
            for frame in browser.idle(pace_s, deadline):
                keep(frame)
    return run


def _price_filter(browser: ShopperBrowser, step: Step) -> bt.ActionResult:
    page = browser.page
    if page.locator("[data-testid=filter-min-price]").count() == 0:
        return bt.ActionResult(ok=False, url=page.url, message="this page has no price filter")
    try:
        page.fill("[data-testid=filter-min-price]", f"{step.amount:g}")
        page.fill("[data-testid=filter-max-price]", f"{step.upper:g}")
        with page.expect_navigation():
            page.click("[data-testid=filter-apply]")
    except PlaywrightError as exc:
        if not browser.alive:
            raise BrowserGone(f"the browser went away: {exc}") from exc
        return bt.ActionResult(ok=False, url=page.url, message=str(exc).splitlines()[0])
    return bt._result(browser, "navigation")


def _perform(browser: ShopperBrowser, shop_url: str, step: Step) -> bt.ActionResult:
    base = shop_url.rstrip("/")
    if step.action == "home":
        return bt.open_url(browser, bt.OpenUrl(url=shop_url))
    if step.action == "goto":
        return bt.open_url(browser, bt.OpenUrl(url=urljoin(base + "/", step.text)))
    if step.action == "category":
        return bt.open_url(browser, bt.OpenUrl(url=f"{base}/c/{step.text}"))
    if step.action == "search":
        return bt.search_shop(browser, bt.SearchShop(query=step.text))
    if step.action == "price_filter":
        return _price_filter(browser, step)
    if step.action == "open_result":
        return bt.open_product(browser, bt.OpenProduct(index=step.index))
    if step.action == "scroll":
        return bt.scroll(browser, bt.Scroll(pixels=int(step.amount)))
    if step.action == "back":
        return bt.go_back(browser, bt.GoBack())
    raise ValueError(f"unknown step action {step.action!r}")

"""Typed browser actions for a shopper or an agent: each takes pydantic arguments and returns an
ActionResult. Mistakes a caller can fix (a URL outside the allowlist, a result that does not exist) come
back as ``ok=False`` with a message; a browser that went away raises ``BrowserGone``."""

from __future__ import annotations

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from pydantic import BaseModel, Field

from tools.capture.browser import BrowserError, BrowserGone, ShopperBrowser
from tools.schemas import Frame

RESULT_LINKS = "[data-testid=product-link]"
MAIN_RESULT_LINKS = "main [data-testid=product-link]"


class OpenUrl(BaseModel):
    url: str = Field(description="absolute http(s) URL on an allowed origin")


class SearchShop(BaseModel):
    query: str = Field(min_length=1, max_length=200)


class OpenProduct(BaseModel):
    index: int = Field(default=0, ge=0, description="0-based position among the products on the page")
    product_id: str | None = Field(default=None, description="open this product instead, if it is linked")


class Scroll(BaseModel):
    pixels: int = Field(default=600, ge=-20000, le=20000, description="positive scrolls down")


class GoBack(BaseModel):
    pass


class ReadTitle(BaseModel):
    pass


class ActionResult(BaseModel):
    ok: bool
    url: str = ""
    title: str = ""
    message: str = ""
    frame_id: str | None = Field(default=None, description="the screenshot taken after the action")


def _result(browser: ShopperBrowser, reason: str, message: str = "") -> ActionResult:
    frame: Frame | None = browser.capture(reason)
    page = browser.page
    return ActionResult(ok=True, url=page.url, title=page.title(), message=message,
                        frame_id=frame.frame_id if frame else None)


def _guarded(action):  # noqa: ANN001, ANN202
    """Timeouts become a result the caller can act on; a closed browser becomes BrowserGone."""

    def run(browser: ShopperBrowser, args):  # noqa: ANN001, ANN202
        try:
            return action(browser, args)
        except PlaywrightTimeout as exc:
            return ActionResult(ok=False, url=browser.page.url, message=f"timed out: {exc.message.splitlines()[0]}")
        except PlaywrightError as exc:
            if not browser.alive:
                raise BrowserGone(f"the browser went away: {exc}") from exc
            return ActionResult(ok=False, url=browser.page.url, message=str(exc).splitlines()[0])

    run.__name__ = action.__name__
    run.__doc__ = action.__doc__
    return run


@_guarded
def open_url(browser: ShopperBrowser, args: OpenUrl) -> ActionResult:
    """Navigate to a URL on an allowed origin."""
    if not args.url.startswith(("http://", "https://")):
        return ActionResult(ok=False, message=f"{args.url!r} is not an http(s) URL")
    try:
        browser.goto(args.url)
    except BrowserError as exc:
        return ActionResult(ok=False, url=browser.page.url, message=str(exc))
    return _result(browser, "navigation")


@_guarded
def search_shop(browser: ShopperBrowser, args: SearchShop) -> ActionResult:
    """Type a query into the shop's search box and submit it."""
    page = browser.page
    if page.locator("[data-testid=search-input]").count() == 0:
        return ActionResult(ok=False, url=page.url, message="this page has no search box; open the shop first")
    page.fill("[data-testid=search-input]", args.query)
    with page.expect_navigation():
        page.click("[data-testid=search-button]")
    return _result(browser, "navigation")


@_guarded
def open_product(browser: ShopperBrowser, args: OpenProduct) -> ActionResult:
    """Open a product shown on the page, by position or by product id."""
    page = browser.page
    if args.product_id:
        links = page.locator(f"{RESULT_LINKS}[data-product-id='{args.product_id}']")
        if links.count() == 0:
            return ActionResult(ok=False, url=page.url, message=f"no link to product {args.product_id} here")
        target = links.first
    else:
        links = page.locator(MAIN_RESULT_LINKS)
        if links.count() == 0:
            links = page.locator(RESULT_LINKS)
        count = links.count()
        if count == 0:
            return ActionResult(ok=False, url=page.url, message="no products on this page")
        if args.index >= count:
            return ActionResult(ok=False, url=page.url,
                                message=f"only {count} products here; choose an index from 0 to {count - 1}")
        target = links.nth(args.index)
    with page.expect_navigation():
        target.click()
    return _result(browser, "navigation")


@_guarded
def scroll(browser: ShopperBrowser, args: Scroll) -> ActionResult:
    """Scroll the page and capture once the scroll has settled."""
    page = browser.page
    page.mouse.wheel(0, args.pixels)
    page.wait_for_timeout(350)
    return _result(browser, "scroll")


@_guarded
def go_back(browser: ShopperBrowser, args: GoBack) -> ActionResult:
    """Go back one page in the history."""
    if browser.page.go_back(wait_until="load") is None:
        return ActionResult(ok=False, url=browser.page.url, message="there is no page to go back to")
    return _result(browser, "navigation")


@_guarded
def read_title(browser: ShopperBrowser, args: ReadTitle) -> ActionResult:
    """The current page's URL and title, without a screenshot."""
    return ActionResult(ok=True, url=browser.page.url, title=browser.page.title())

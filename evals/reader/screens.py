"""The reader-accuracy eval's screenshots: demo-shop pages and saved real pages rendered by Chromium."""

from __future__ import annotations

import gzip
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evals.reader.scoring import CHROMIUM, NAV_TIMEOUT_MS, SCROLL_Y, VIEWPORT, ZYTE_DIR, box_inside


# -- screenshots -----------------------------------------------------------------------------------------
@dataclass
class Shot:
    """One screenshot to read and what it is expected to show."""

    suite: str  # demo-product | demo-listing | zyte
    item: str  # product id, category name, or Zyte page id
    url: str
    path: Path | None = None
    scroll_y: int = 0
    expected: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    visible_text: list[str] = field(default_factory=list)  # the page's text inside the viewport (real pages)
    text_layer: list[Any] = field(default_factory=list)  # ScreenLines of the viewport, as our browser records them


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _launch(pw):  # Playwright's sync API object
    from tools.capture.browser import CHROMIUM_FLAGS

    return pw.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_FLAGS), headless=True)


def _settle(page) -> None:
    """Images loaded and web fonts ready, as a shopper would see the page (best effort, 3 s)."""
    from playwright.sync_api import Error as PlaywrightError

    try:
        page.wait_for_function("Array.from(document.images).every(i => i.complete)", timeout=3000)
        page.evaluate("document.fonts.ready.then(() => true)")
    except PlaywrightError:
        pass


# Text nodes whose rendered boxes intersect the viewport (a diagnostic: was the labelled value on screen at all?).
_VISIBLE_TEXT = """() => {
  const W = window.innerWidth, H = window.innerHeight, out = [];
  const walker = document.createTreeWalker(document.body || document.documentElement, NodeFilter.SHOW_TEXT);
  let node;
  while ((node = walker.nextNode()) && out.length < 3000) {
    const text = node.textContent.trim();
    if (!text || text.length > 300) continue;
    const style = node.parentElement && getComputedStyle(node.parentElement);
    if (!style || style.visibility === 'hidden' || style.display === 'none' || style.opacity === '0') continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    if (Array.from(range.getClientRects()).some(r => r.width > 0 && r.height > 0 && r.bottom > 0 && r.top < H
                                                   && r.right > 0 && r.left < W)) out.push(text);
  }
  return out;
}"""


def _screenshot(page, path: Path) -> None:
    page.screenshot(path=str(path), full_page=False, type="png", animations="disabled", caret="hide")


def capture_demo(products: Sequence[Any], sample: Sequence[Any], listings: Sequence[str],
                 shots_dir: Path) -> list[Shot]:
    """Product pages (top of page) and category listings of the demo shop, with the catalog's expectations."""
    from playwright.sync_api import sync_playwright

    from catalog.files import DEMO_IMAGES
    from shop.server import DemoShop
    from tools.capture.page.text_layer import read_text_layer

    by_id = {p.id: p for p in products}
    shots: list[Shot] = []
    with DemoShop(products, DEMO_IMAGES) as shop, sync_playwright() as pw:
        browser = _launch(pw)
        try:
            context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
            context.set_default_timeout(NAV_TIMEOUT_MS)
            origin = shop.url + "/"
            context.route("**/*", lambda route, request: route.continue_() if request.url.startswith(origin)
                          else route.abort("blockedbyclient"))
            page = context.new_page()
            cdp = context.new_cdp_session(page)
            for i, p in enumerate(sample):
                shot = Shot("demo-product", p.id, shop.product_url(p.id), shots_dir / f"demo-product-{i:03d}.png",
                            expected={"title": p.title, "brand": p.brand, "price": p.price,
                                      "list_price": p.list_price, "leaf": p.leaf_category, "rating": p.rating})
                page.goto(shot.url, wait_until="load")
                _settle(page)
                _screenshot(page, shot.path)
                shot.text_layer = read_text_layer(page, cdp)
                shots.append(shot)
            for i, name in enumerate(listings):
                shot = Shot("demo-listing", name, shop.category_url(name), shots_dir / f"demo-listing-{i:03d}.png")
                page.goto(shot.url, wait_until="load")
                _settle(page)
                visible = []
                for card in page.locator("[data-testid=product-card]").all():
                    box = card.locator("[data-testid=product-card-price]").bounding_box()
                    product = by_id.get(card.get_attribute("data-product-id") or "")
                    if product is not None and product.price is not None and box_inside(box, **VIEWPORT):
                        visible.append({"id": product.id, "price": product.price})
                shot.expected = {"cards": visible}
                _screenshot(page, shot.path)
                shot.text_layer = read_text_layer(page, cdp)
                shots.append(shot)
        finally:
            browser.close()
    return shots


def capture_zyte(pages: Sequence[tuple[str, dict[str, Any]]], html_dir: Path, shots_dir: Path,
                 javascript: bool) -> tuple[list[Shot], int]:
    """Each saved page opened from disk with every other request aborted: the top of the page and the view
    scrolled by SCROLL_Y. Returns the shots and how many requests were blocked."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    shots: list[Shot] = []
    blocked = 0

    def guard(file_url: str):
        def handle(route, request) -> None:
            nonlocal blocked
            if request.url == file_url:
                route.continue_()
            else:
                blocked += 1
                route.abort("blockedbyclient")
        return handle

    with sync_playwright() as pw:
        browser = _launch(pw)
        try:
            for i, (page_id, truth) in enumerate(pages):
                html = html_dir / f"{page_id}.html"
                with gzip.open(ZYTE_DIR / "html" / f"{page_id}.html.gz", "rb") as source:
                    html.write_bytes(source.read())  # bytes as saved: the page's own charset applies
                file_url = html.resolve().as_uri()
                context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1, java_script_enabled=javascript)
                context.set_default_timeout(NAV_TIMEOUT_MS)
                context.route("**/*", guard(file_url))
                page = context.new_page()
                top = Shot("zyte", page_id, truth.get("url", ""), shots_dir / f"zyte-{i:03d}-top.png",
                           expected=truth)
                scrolled = Shot("zyte", page_id, top.url, shots_dir / f"zyte-{i:03d}-scrolled.png", expected=truth)
                try:
                    try:
                        page.goto(file_url, wait_until="load")
                    except PlaywrightError as exc:  # e.g. a load event that never comes; the page may still show
                        top.error = scrolled.error = f"goto: {str(exc).splitlines()[0]}"
                    _settle(page)
                    _screenshot(page, top.path)
                    top.visible_text = page.evaluate(_VISIBLE_TEXT)
                    page.evaluate(f"window.scrollTo(0, {SCROLL_Y})")
                    page.wait_for_timeout(150)
                    scrolled.scroll_y = int(page.evaluate("Math.round(window.scrollY)"))
                    _screenshot(page, scrolled.path)
                    scrolled.visible_text = page.evaluate(_VISIBLE_TEXT)
                except PlaywrightError as exc:
                    message = str(exc).splitlines()[0]
                    for shot in (top, scrolled):
                        if not shot.path.exists():
                            shot.path, shot.error = None, message
                finally:
                    context.close()
                shots.extend([top, scrolled])
                if (i + 1) % 20 == 0:
                    progress(f"zyte: {i + 1}/{len(pages)} pages rendered")
        finally:
            browser.close()
    return shots, blocked

"""The shop's live "Recommended for you" panel: server-sent events from the agent, shown on every page, hidden
from the agent's own screenshots; end to end with `interarec shop serve --live` and a scripted shopper."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time

import httpx
import pytest
from playwright.sync_api import sync_playwright

from catalog.files import DEMO_IMAGES, load_products
from shop.live import LiveFeed
from shop.server import DemoShop
from tests.agent.test_live import FIRST, THEN, two_category_script
from tests.conftest import requires_chromium
from tools.capture.browser import CHROMIUM_FLAGS
from tools.capture.privacy import MASK

PRODUCTS = load_products()[:60]


def test_pages_show_the_panel_only_when_live():
    with DemoShop(PRODUCTS, DEMO_IMAGES) as plain:
        assert 'data-testid="live-panel"' not in httpx.get(plain.url + "/").text
        assert httpx.get(plain.url + "/live/events").status_code == 404
    with DemoShop(PRODUCTS, DEMO_IMAGES, live=LiveFeed()) as live:
        assert 'data-testid="live-panel"' in httpx.get(live.url + f"/p/{PRODUCTS[0].id}").text


def test_the_event_stream_sends_the_latest_then_each_new_update():
    feed = LiveFeed()
    feed.publish({"update": 1, "recommendations": [{"product_id": "a", "title": "A"}]})
    received: list[dict] = []
    with DemoShop(PRODUCTS, DEMO_IMAGES, live=feed) as shop:
        def listen() -> None:
            with httpx.stream("GET", shop.url + "/live/events", timeout=10) as response:
                assert response.headers["content-type"].startswith("text/event-stream")
                for line in response.iter_lines():
                    if line.startswith("data: "):
                        received.append(json.loads(line[6:]))
                        if len(received) == 2:
                            return

        reader = threading.Thread(target=listen)
        reader.start()
        deadline = time.monotonic() + 5
        while not received and time.monotonic() < deadline:
            time.sleep(0.05)
        feed.publish({"update": 2, "recommendations": [{"product_id": "b", "title": "B"}]})
        reader.join(timeout=10)
    assert [r["update"] for r in received] == [1, 2]


@requires_chromium
@pytest.mark.browser
def test_the_capture_mask_hides_the_panel():
    with DemoShop(PRODUCTS, DEMO_IMAGES, live=LiveFeed()) as shop, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=list(CHROMIUM_FLAGS))
        page = browser.new_page()
        page.goto(shop.url + "/")
        panel = page.locator("[data-testid=live-panel]")
        assert panel.evaluate("e => getComputedStyle(e).visibility") == "visible"
        page.evaluate(MASK)
        assert panel.evaluate("e => getComputedStyle(e).visibility") == "hidden"
        browser.close()


@requires_chromium
@pytest.mark.browser
def test_a_shopper_moving_from_watches_to_mugs_changes_the_panel(tmp_path):
    """`interarec shop serve --live --script`: the agent browses its own shop as the shopper; a second browser
    (a person looking at the same shop) watches the panel's products change with them."""
    products = {p.id: p for p in load_products()}
    script = tmp_path / "shopper.txt"
    script.write_text(two_category_script(list(products.values())), encoding="utf-8")
    env = {**os.environ, "INTERAREC_DATA_DIR": str(tmp_path / "data"), "INTERAREC_PACE_S": "2"}  # a calm shopper
    server = subprocess.Popen([sys.executable, "-m", "agent.cli", "shop", "serve", "--live", "--script", str(script),
                               "--k", "4"], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env)
    seen: list[tuple[str, ...]] = []
    try:
        url = None
        lines: list[str] = []
        for line in server.stderr:  # the catalog is embedded first (about 15 s)
            lines.append(line)
            if match := re.search(r"at (http://127\.0\.0\.1:\d+)", line):
                url = match.group(1)
                break
        assert url, "".join(lines)
        ended = threading.Event()
        threading.Thread(target=lambda: [ended.set() for line in server.stderr if "session ended" in line],
                         daemon=True).start()
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=list(CHROMIUM_FLAGS))
            page = browser.new_page()
            page.goto(url + "/")
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline and not (ended.is_set() and seen):
                ids = tuple(page.locator("[data-testid=live-rec]").evaluate_all(
                    "items => items.map(i => i.dataset.productId)"))
                if ids and (not seen or ids != seen[-1]):
                    seen.append(ids)
                time.sleep(0.3)
            time.sleep(1.0)  # the last update, after the session ended
            final = tuple(page.locator("[data-testid=live-rec]").evaluate_all(
                "items => items.map(i => i.dataset.productId)"))
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=20)
    categories = [{products[i].category_path[-1] for i in ids} for ids in seen]
    final_categories = {products[i].category_path[-1] for i in final}
    assert {FIRST} in categories, categories  # while the shopper looked at watches, the panel showed watches
    assert final_categories == {THEN}, (categories, final_categories)  # and mugs once they moved on

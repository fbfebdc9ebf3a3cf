"""The frames the service benchmark replays (benchmarks/serve.py): captured once, before any timing, by the real
browser from the demo shop and from saved real product pages, each with the text layer Chromium gave; and salted
copies of them, so that no two posts carry the same pixels."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from agent.settings import load_settings
from agent.wiring import browser_config, start_demo_shop
from benchmarks.live import session_script
from benchmarks.mllm_tokens import saved_page, zyte_split
from catalog.files import DEMO_PRODUCTS, load_products
from catalog.shared_data import shared_data_root
from tools.capture.browse_script import parse_script
from tools.capture.browser import origin_of
from tools.capture.frames import FrameStore
from tools.capture.local_pages import LocalPages
from tools.capture.personas import pages_persona
from tools.capture.session import browse_session

REAL_SCROLLS = 3  # screens read down each saved page
SALT_BLOCK = 8  # one pixel in every SALT_BLOCK x SALT_BLOCK block is nudged
SALT_DELTA = 24  # by this many grey levels: enough to survive the OCR's resizing, too faint to change a letter


@dataclass(frozen=True)
class Captured:
    png: bytes
    text_layer: str | None  # JSON (tools/lines.py TextLayer), as a client posts it
    url: str
    title: str
    material: str  # "demo" or "real"


def _unique_frames(store: FrameStore, session: str, material: str) -> list[Captured]:
    found = []
    for frame in store.frames(session, unique_only=True):
        layer = store.text_layer(frame)
        found.append(Captured(Path(frame.path).read_bytes(), layer.dumps() if layer else None, frame.url,
                              frame.title, material))
    return found


def capture_demo(root: Path, rounds: int = 1) -> list[Captured]:
    """A demo-shop session (each category's listing, then three of its product pages), every distinct frame."""
    settings = load_settings(data_dir=root)
    store = FrameStore(root / "frames-demo")
    try:
        session = store.new_session(source="bench:serve:demo")
        script = session_script(load_products(DEMO_PRODUCTS), rounds=rounds)
        with start_demo_shop() as shop:
            browse_session(browser_config(settings), store, session, shop.url, parse_script(script), pace_s=0.3)
        return _unique_frames(store, session, "demo")
    finally:
        store.close()


def capture_real(root: Path, pages: int) -> list[Captured]:
    """Saved real product pages (the development half of the frozen product-pages-zyte split, in split order),
    served on 127.0.0.1 and read by the real browser from the top, ``REAL_SCROLLS`` screens down; [] without
    the shared data."""
    shared = shared_data_root()
    data = shared / "product-pages-zyte" if shared else None
    if pages <= 0 or data is None or not data.is_dir():
        return []
    folder = root / "real-pages"
    folder.mkdir(parents=True, exist_ok=True)
    files = [saved_page(data, page_id, folder) for page_id in zyte_split(data)["dev"][:pages]]
    settings = load_settings(data_dir=root)
    config = browser_config(settings)
    store = FrameStore(root / "frames-real")
    try:
        session = store.new_session(source="bench:serve:real")
        with LocalPages(files) as local:
            urls = [local.url_of(file) for file in files]
            if origin_of(urls[0]) not in config.allowed_origins:
                config.allowed_origins.append(origin_of(urls[0]))
            browse_session(config, store, session, urls[0], pages_persona(urls, scrolls=REAL_SCROLLS), pace_s=0.3)
        return _unique_frames(store, session, "real")
    finally:
        store.close()


def salted(png: bytes, salt: int) -> bytes:
    """The frame with one pixel of every small block nudged (positions drawn from ``salt``): new bytes for the
    OCR cache, a new crop for every text line of the OCR's line cache, the same text to read. PNG at the
    fastest compression: the salting happens before the run, but there are many."""
    pixels = np.array(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)
    height, width = pixels.shape[:2]
    rng = np.random.default_rng(salt)
    rows = np.arange(0, height, SALT_BLOCK)[:, None] + rng.integers(0, SALT_BLOCK, (len(range(0, height, SALT_BLOCK)),
                                                                                 len(range(0, width, SALT_BLOCK))))
    cols = np.arange(0, width, SALT_BLOCK)[None, :] + rng.integers(0, SALT_BLOCK, rows.shape)
    rows, cols = np.minimum(rows, height - 1), np.minimum(cols, width - 1)
    # darker on light pixels, lighter on dark ones, so the nudge never clips away
    values = pixels[rows, cols]
    pixels[rows, cols] = np.where(values > 127, values - SALT_DELTA, values + SALT_DELTA)
    out = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(out, format="PNG", compress_level=1)
    return out.getvalue()

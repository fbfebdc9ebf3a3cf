"""The MLLM summariser with text layers: each page visit's own visible text once, compact, with its last screenshot
downscaled; frames without a text layer as before; and what that saves, as the fake server counts tokens.

The pages are built like the demo shop's (a sticky header, a menu, a listing with a brand filter and cards, product
pages with highlights, a description and a specifications table): about 800 characters of text per 1280 x 800
screenshot, as the demo shop's captured frames have."""

from __future__ import annotations

import base64
import io
import json
import re

import numpy as np
import openai
import pytest
from PIL import Image

from agent.mllm.page_text import render_row, shared_rows, visit_rows
from agent.mllm.summariser import (
    DEFAULT_TEXT_LAYER_MAX_PIXELS,
    MllmSummariser,
    image_data_url,
    prompt_schema,
    summary_schema,
)
from agent.mllm.tokens import request_tokens
from agent.settings import load_settings
from agent.wiring import build_summariser
from tests.fake_openai import FakeOpenAI, chat_completion
from tools.capture.frames import FrameStore
from tools.lines import ScreenLine, TextLayer
from tools.schemas import BehaviorSummary, Frame

VIEWPORT = (1280, 800)
SITE = "http://127.0.0.1:8000"
MAX_PIXELS = 640_000


def _answer(frames: list[Frame], named: bool = True) -> tuple[int, dict]:
    """A model's answer citing the frames as a request with page text names them (f1, f2, ...), or by their ids."""
    ids = [f"f{i + 1}" for i in range(len(frames))] if named else [f.frame_id for f in frames]
    ids += ids[-1:] * (3 - len(ids))
    answer = {
        "product_characteristics": {"types": [{"value": "Wrist Watches", "frame_ids": ids[:2], "confidence": 0.9}]},
        "price_range": {"lowest": 593, "highest": 1395, "currency": "INR", "frame_ids": ids[-2:], "confidence": 0.8},
        "brand_preferences": [{"value": "Maxima", "frame_ids": ids[2:3], "confidence": 0.8}],
        "products_seen": [{"title": "Maxima 12011PPGW Analog Watch - For Men", "brand": "Maxima", "price": 593,
                           "list_price": 625, "frame_id": ids[2]}],
    }
    return 200, chat_completion(json.dumps(answer))


# -- pages as the browser records them ---------------------------------------------------------------------------


def _line(text: str, x: float, y: float, size: float = 16, **style: object) -> ScreenLine:
    return ScreenLine(text=text, x0=x, y0=y, x1=x + 0.5 * size * len(text), y1=y + 1.2 * size, source="text-layer",
                      font_size=size, **style)


HEADER = [_line("InteraShop", 62, 11, 24, font_weight=700, tag="span", role="link"),
          _line("Login", 1083, 21, 17), _line("Cart", 1191, 21, 17), _line("0", 1248, 25, 13)]  # sticky
MENU = [_line(name, x, 78, 16, tag="a", role="link") for name, x in
        (("Apparel", 30), ("Accessories", 134), ("Beauty and Personal Care", 274), ("Computers", 542),
         ("Home Decor & Festive Needs", 674), ("Kitchen & Dining", 970), ("Watches", 1156))]


def _breadcrumb(*names: str) -> list[ScreenLine]:
    lines, x = [], 18.0
    for i, name in enumerate(("Home", *names)):
        if i:
            lines.append(_line("›", x, 129, 15))
            x += 12
        lines.append(_line(name, x, 129, 15, tag="a", role="link"))
        x += 8 * len(name) + 6
    return lines


def listing_page() -> list[ScreenLine]:
    lines = [*MENU, *_breadcrumb("Search"), _line("Filters", 34, 179, 20, tag="h2", role="heading"),
             _line('Results for "analog watch for men"', 318, 179, 24, tag="h1", role="heading"),
             _line("Showing 1–24 of 225 products", 807, 187, 15), _line("BRAND", 36, 235, 15, font_weight=700),
             _line("Sort by", 318, 237, 16, font_weight=700)]
    lines += [_line(name, x, 233, 16, tag="a", role="link") for name, x in
              (("Relevance", 400), ("Price: Low to High", 514), ("Price: High to Low", 680), ("Customer Rating", 846))]
    brands = ["Maxima", "Sonata", "Nike", "Times", "Timewel", "Puma", "Wrangler", "Belmonte", "Basics", "Reebok"]
    for i, brand in enumerate(brands):
        lines += [_line(brand, 60, 268 + 30.4 * i, 16, role="label"),
                  _line(f"({23 - 2 * i})", 62 + 8 * len(brand), 270 + 30.4 * i, 14)]
    cards = [("Maxima", "Maxima 26512PPGN", "Analog Watch - For Men", "5.0 ★", "₹595", None, None),
             ("Timewel", "Timewel N1536(GW)_1", "Analog Watch - For Men", "4.1 ★", "₹855", "₹1,095", "22% off"),
             ("Maxima", "Maxima 12011PPGW", "Analog Watch - For Men", "3.0 ★", "₹593", "₹625", "5% off"),
             ("HMT", "HMT Sonata Gold Plated", "Watch For Men Sonata", "3.0 ★", "₹899", "₹999", "10% off"),
             ("Perucci", "Perucci PC-301 Analog", "Watch - For Men", "4.3 ★", "₹1,395", "₹2,500", "44% off"),
             ("Lenco", "Lenco Bdblue Tango", "Analog Watch - For Men", "3.9 ★", "₹1,099", "₹1,299", "15% off"),
             ("Sonata", "Sonata 7092SL01 Yuva", "Analog Watch - For Men", "4.0 ★", "₹1,125", None, None),
             ("Timewel", "Timewel 1100-N145", "Analog Watch - For Men", "4.4 ★", "₹915", "₹1,150", "20% off")]
    for i, (brand, title, more, rating, price, was, off) in enumerate(cards):
        x, y = 314 + 241 * (i % 4), 498 + 420 * (i // 4)
        lines += [_line(brand, x, y, 15, font_weight=700, role="link"), _line(title, x, y + 27, 16, role="link"),
                  _line(more, x, y + 49, 16, role="link"), _line(rating, x + 8, y + 78, 15, font_weight=700),
                  _line(price, x, y + 107, 19, font_weight=700)]
        if was:
            lines += [_line(was, x + 45, y + 111, 15, line_through=True, tag="s", role="struck"),
                      _line(off, x + 93, y + 111, 15, font_weight=700)]
    lines += [_line("PRICE (₹)", 36, 635, 15, font_weight=700), _line("to", 144, 672, 16),
              _line("CUSTOMER RATINGS", 36, 729, 15, font_weight=700), _line("4★ & above", 60, 762, 16, role="label"),
              _line("3★ & above", 60, 792, 16, role="label"), _line("2★ & above", 60, 822, 16, role="label")]
    return lines


def product_page(brand: str, title: str, price: str, was: str | None, specs: dict[str, str]) -> list[ScreenLine]:
    lines = [*MENU, *_breadcrumb("Watches", "Wrist Watches"), _line(title, 538, 183, 24, tag="h1", role="heading"),
             _line("Brand:", 538, 258, 18), _line(brand, 603, 258, 18, font_weight=700),
             _line("4.2 ★", 548, 297, 17, font_weight=700), _line(price, 538, 341, 30, font_weight=700),
             _line("Inclusive of all taxes", 538, 383, 14), _line("Highlights", 538, 425, 20, tag="h2", role="heading"),
             _line("ADD TO CART", 86, 652, 18, tag="button", role="button"),
             _line("BUY NOW", 346, 652, 18, tag="button", role="button")]
    if was:
        lines += [_line(was, 640, 350, 18, line_through=True, tag="s", role="struck"), _line("5% off", 700, 350, 18)]
    for i, (name, value) in enumerate(list(specs.items())[:6]):
        x, y = (542, 896)[i % 2], 462 + 28.4 * (i // 2)
        lines += [_line("•", x, y, 16, tag="::marker", role="list-item"),
                  _line(f"{name}: {value}", x + 18, y, 16, tag="li", role="list-item")]
    description = (f"{title} - Buy {title} Online at Rs.{price[1:]} in India. Round Dial, Black Strap, Stainless "
                   "Steel Back Case, Water Resistant, Buckle Clasp - Great Discounts, Only Genuine Products, 30 Day "
                   "Replacement Guarantee, Free Shipping. Cash On Delivery!")
    lines.append(_line("Description", 538, 571, 20, tag="h2", role="heading"))
    words, row, y = description.split(), "", 609.0
    for word in words:
        if len(row) + len(word) > 80:
            lines.append(_line(row, 538, y, 16, tag="p"))
            row, y = "", y + 24.8
        row = f"{row} {word}".strip()
    lines.append(_line(row, 538, y, 16, tag="p"))
    lines.append(_line("Specifications", 538, y + 47, 20, tag="h2", role="heading"))
    for i, (name, value) in enumerate(specs.items()):
        row_y = y + 93 + 41.4 * i
        lines += [_line(name, 550, row_y, 16, tag="th", role="cell"),
                  _line(value, 789, row_y, 16, tag="td", role="cell")]
    return lines


SPECS = {"Type": "Analog", "Ideal For": "Men", "Series": "FIBER COLLECTION", "Dial Shape": "Round",
         "Style Code": "12011PPGW", "Strap Color": "Black", "Brand": "Maxima", "Category": "Watches › Wrist Watches",
         "Case / Bezel Material": "Stainless Steel Back Case", "Water Resistant": "Yes",
         "Water Resistance Depth": "30 m", "Mechanism": "Quartz", "Power Source": "Battery Powered"}


def frame_layer(page: list[ScreenLine], scroll: int, markup: dict | None = None) -> TextLayer:
    """What a screenshot at ``scroll`` shows of a page (page coordinates), the sticky header on top."""
    height = VIEWPORT[1]
    visible = [line.model_copy(update={"y0": line.y0 - scroll, "y1": line.y1 - scroll}) for line in page
               if line.y1 > scroll and line.y0 < scroll + height]
    return TextLayer(lines=sorted([*HEADER, *visible], key=lambda line: (round(line.y0), line.x0)), markup=markup)


def _screenshot(seed: int) -> bytes:
    """A 1280 x 800 screenshot: blocks of colour, distinct enough per seed not to be a near-duplicate."""
    blocks = np.random.default_rng(seed).integers(0, 255, (25, 40, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(blocks).resize(VIEWPORT, Image.Resampling.NEAREST).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def store(tmp_path):
    frames = FrameStore(tmp_path / "frames")
    yield frames
    frames.close()


def reading_session(store: FrameStore) -> list[Frame]:
    """A shopper reads a results page and two product pages, scrolling each: 8 screenshots of 3 pages."""
    session = store.new_session("test")
    pages = [
        (f"{SITE}/search?q=analog+watch+for+men", listing_page(), (0, 500)),
        (f"{SITE}/p/maxima-12011ppgw", product_page("Maxima", "Maxima 12011PPGW Analog Watch - For Men", "₹593",
                                                    "₹625", SPECS), (0, 450, 900)),
        (f"{SITE}/p/perucci-pc-301", product_page("Perucci", "Perucci PC-301 Analog Watch - For Men", "₹1,395",
                                                  "₹2,500", {**SPECS, "Brand": "Perucci", "Style Code": "PC-301"}),
         (0, 450, 900)),
    ]
    frames, seed = [], 0
    for url, page, scrolls in pages:
        for scroll in scrolls:
            seed += 1
            frames.append(store.add(session, _screenshot(seed), url=url, scroll_y=scroll,
                                    text_layer=frame_layer(page, scroll)))
    assert all(f.duplicate_of is None for f in frames)
    return frames


def _client(server: FakeOpenAI) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key="test-key", max_retries=0, timeout=10)


def _content(request: dict) -> list[dict]:
    return request["body"]["messages"][0]["content"]


def _images(request: dict) -> list[dict]:
    return [part["image_url"] for part in _content(request) if part["type"] == "image_url"]


def _size(url: str) -> tuple[int, int]:
    with Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))) as image:
        return image.size


def _page_texts(request: dict) -> list[str]:
    return [part["text"] for part in _content(request)[1:] if part["type"] == "text"]


def _summarise(store: FrameStore, frames: list[Frame], **options: object) -> tuple[BehaviorSummary, dict]:
    with FakeOpenAI([_answer(frames)]) as server:
        summariser = MllmSummariser(_client(server), "fake-vision", max_pixels=MAX_PIXELS, mode="json_schema",
                                    text_layers=store.text_layer, **options)
        summary = summariser.summarise(frames)
    return summary, server.requests[0]


# -- what goes over the wire -------------------------------------------------------------------------------------


def _sent(request: dict) -> str:
    return "\n".join(_page_texts(request))


def test_each_page_visit_goes_as_its_compact_text_and_product_pages_with_one_downscaled_screenshot(store):
    """With ``product_photos`` every product page's visit carries its photo; the default is below."""
    frames = reading_session(store)
    summary, request = _summarise(store, frames, product_photos=True)
    content = _content(request)
    prompt = content[0]["text"]
    assert prompt.startswith("Summarise an online shopper's preferences from the shop pages they saw, visit by visit")
    assert "Screenshots: f1-f8." in prompt  # short names, not the session's long ids
    assert not any(f.frame_id in prompt or f.frame_id in _sent(request) for f in frames)
    images = _images(request)
    assert len(images) == 2  # the two product pages; the results page goes as text alone
    for image in images:
        width, height = _size(image["url"])
        assert (width, height) == (512, 320) and width * height <= DEFAULT_TEXT_LAYER_MAX_PIXELS < MAX_PIXELS
        assert image["detail"] == "low"
    # each product page's image is its topmost screenshot (where the photo is), not its last
    top = [frames[2], frames[5]]
    assert [image["url"] for image in images] == [image_data_url(f.path, DEFAULT_TEXT_LAYER_MAX_PIXELS) for f in top]
    shared, *visits = _page_texts(request)
    # the header and menu of every page, and the breadcrumb both product pages start with, then rows repeated
    assert shared.splitlines()[:4] == ["Shared rows:", "1 {24px}[InteraShop] | Login | Cart | 0",
                                       "2 [Apparel] | [Accessories] | [Beauty and Personal Care] | [Computers] | "
                                       "[Home Decor & Festive Needs] | [Kitchen & Dining] | [Watches]",
                                       "3 [Home] › [Watches] › [Wrist Watches]"]
    assert visits[0].startswith("Visit f1, f2 (and shared rows 1, 2):\n[Home] › [Search]\n")
    assert "its screenshot" not in visits[0]
    assert visits[1].startswith("Visit f3-f5 (and shared rows 1-3):\n")
    assert visits[1].endswith("\nscreenshot f3:")
    product = visits[1]
    assert "\n# Maxima 12011PPGW Analog Watch - For Men\n" in product  # a heading
    assert "\n{30px}₹593 | ~~₹625~~ | 5% off\n" in product  # the price stands out; the list price is struck through
    assert "[ADD TO CART] | [BUY NOW]" in product
    assert "•" not in product  # no list bullets
    assert "{16px}" not in product and "{18px}" not in product  # body-sized text carries no size
    # a row both product pages show is listed once and referred to where each page shows it
    number = next(line.split(" ", 1)[0] for line in shared.splitlines()
                  if line.endswith(" Water Resistance Depth | 30 m"))
    assert _sent(request).count("Water Resistance Depth | 30 m") == 1
    assert all(visit.count(f"\n(row {number})\n") == 1 for visit in visits[1:])
    assert product.count("Login") == 0  # the sticky header is a shared row
    assert "page markup" not in "\n".join(visits)  # none was recorded
    assert visits[0].count("\nMaxima (23)\n") == 1 and "\nPuma (13)\n" in visits[0]
    # the answer cites the short names; the summary cites the frames' ids
    assert summary.price_range.lowest == 593 and summary.products_seen[0].list_price == 625
    assert summary.frames_read == 8 and summary.brand_preferences[0].frame_ids == [frames[2].frame_id]
    assert summary.products_seen[0].frame_id == frames[2].frame_id
    assert summary.product_characteristics.types[0].frame_ids == [frames[0].frame_id, frames[1].frame_id]
    # the schema is in the structured-output arguments, whole, and not quoted in the prompt as well
    assert request["body"]["response_format"]["json_schema"]["schema"] == summary_schema()
    assert '"properties"' not in prompt and "structured-output response format" in prompt


def test_a_product_page_goes_without_its_photo_when_its_text_gives_title_and_price(store):
    """By default a product page's screenshot is sent only when its text falls short: here the first product page's
    text lacks any price (the reader finds none), so its topmost screenshot goes with it; the second's does not."""
    frames = reading_session(store)
    _, request = _summarise(store, frames)
    assert _images(request) == []  # both product pages' text names the product and its price
    priceless = [line for line in product_page("Maxima", "Maxima 12011PPGW Analog Watch - For Men", "₹593", None,
                                               SPECS) if "₹" not in line.text and "Rs." not in line.text]
    session = store.new_session("test")
    shown = [store.add(session, _screenshot(60 + i), url=f"{SITE}/p/maxima-12011ppgw", scroll_y=scroll,
                       text_layer=frame_layer(priceless, scroll)) for i, scroll in enumerate((0, 450))]
    other = frames[5:]  # the second product page, whose text gives its price
    _, request = _summarise(store, [*shown, *other])
    assert [image["url"] for image in _images(request)] == [image_data_url(shown[0].path,
                                                                           DEFAULT_TEXT_LAYER_MAX_PIXELS)]
    first, second = _page_texts(request)[-2:]
    assert first.endswith("\nscreenshot f1:") and "screenshot" not in second


def test_the_page_text_carries_every_value_a_summary_of_the_session_is_made_of(store):
    """The fields stay fillable from what is sent: each value the session's summary needs (types, brands, titles,
    prices and list prices, specifications, promotions, the search query) is in the text of the request."""
    frames = reading_session(store)
    _, request = _summarise(store, frames)
    sent = _sent(request)
    for value in ("Wrist Watches", "Brand: Maxima", "Brand: Perucci", "# Maxima 12011PPGW Analog Watch - For Men",
                  "# Perucci PC-301 Analog Watch - For Men", "{30px}₹593", "~~₹625~~", "{30px}₹1,395", "~~₹2,500~~",
                  "Strap Color: Black", "Dial Shape | Round", "Mechanism | Quartz", "4.2 ★", "5% off", "44% off",
                  'Results for "analog watch for men"'):
        assert value in sent, value


def test_the_text_layer_mode_costs_a_fifth_of_every_unique_frame_at_full_size(store):
    """The prompt tokens of one summary of the session, as the fake server estimates them. Issue 18 aims at 20% of
    the naive pipeline (every unique frame at full size); this session comes to about 12%: the prompt about 345
    tokens, the pages' text about 800, no image (both product pages' text gives title and price); with every
    product page's photo (``product_photos``) about 14%. The demo shop's and real pages' sessions are measured by
    benchmarks/mllm_tokens.py."""
    frames = reading_session(store)
    with FakeOpenAI([_answer(frames, named=False), _answer(frames)]) as server:
        naive = MllmSummariser(_client(server), "fake-vision", max_pixels=10**9, max_frames=10**6,
                               mode="json_schema")
        naive.summarise(frames)
        text_layer = MllmSummariser(_client(server), "fake-vision", max_pixels=MAX_PIXELS, mode="json_schema",
                                    text_layers=store.text_layer)
        text_layer.summarise(frames)
        photos = MllmSummariser(_client(server), "fake-vision", max_pixels=MAX_PIXELS, mode="json_schema",
                                text_layers=store.text_layer, product_photos=True)
        with_photos = request_tokens({"messages": photos.messages(frames)})
    full, compact = (request["estimated_tokens"] for request in server.requests)
    assert full["images"] == 8 and full["image"] == 8 * 1105  # 1280 x 800 at full size: 6 tiles each
    assert compact["images"] == 0 and compact["image"] == 0
    assert compact["text_and_image"] <= 0.20 * full["text_and_image"], (compact, full)
    assert with_photos.image == 2 * 85 and with_photos.text_and_image <= 0.20 * full["text_and_image"]
    # the structured-output schema is the same in both; counted with it, the saving still holds
    assert compact["structured_output"] == full["structured_output"] > 0
    assert compact["total"] <= 0.25 * full["total"], (compact, full)
    assert server.estimated_prompt_tokens().text_and_image == full["text_and_image"] + compact["text_and_image"]


def test_in_json_object_mode_the_prompt_quotes_the_schema_and_in_tools_mode_names_the_function(store):
    frames = reading_session(store)[:3]
    client = openai.OpenAI(base_url="http://127.0.0.1:9/v1", api_key="unused", max_retries=0)
    summariser = MllmSummariser(client, "fake-vision", text_layers=store.text_layer)
    quoted = summariser.messages(frames, mode="json_object")[0]["content"][0]["text"]
    assert quoted.rstrip().endswith("it must match this JSON schema:\n" + json.dumps(prompt_schema(),
                                                                                     separators=(",", ":")))
    tools = summariser.messages(frames, mode="tools")[0]["content"][0]["text"]
    assert "the parameters of the function behavior_summary" in tools and '"properties"' not in tools
    screenshots = MllmSummariser(client, "fake-vision").messages(frames, mode="json_object")[0]["content"][0]["text"]
    assert screenshots.rstrip().endswith(json.dumps(summary_schema(), separators=(",", ":")))


def test_a_frame_without_a_text_layer_is_sent_as_before(store):
    frames = reading_session(store)[:2]
    session = frames[0].session_id
    imported = store.add(session, _screenshot(99))  # an imported picture: no address, no text layer
    empty = store.add(session, _screenshot(98), url=f"{SITE}/canvas", text_layer=TextLayer(lines=[]))
    summary, request = _summarise(store, [*frames, imported, empty])
    texts = [part.get("text") for part in _content(request)]
    images = _images(request)
    assert len(images) == 2  # the results page's visit goes as text alone
    for frame, image in zip((imported, empty), images, strict=True):
        assert f"screenshot {frame.frame_id}" in texts
        assert image == {"url": image_data_url(frame.path, MAX_PIXELS)}  # as before: no detail, within max_pixels
        assert _size(image["url"])[0] > 512
    assert texts.index(f"screenshot {imported.frame_id}") > 1  # after the visit, in browsing order
    assert summary.frames_read == 4


def test_a_screenshot_of_a_page_with_text_whose_own_layer_is_empty_belongs_to_its_visit(store):
    """Scrolling through a stretch of pictures (or images that did not load) records an empty text layer: the
    frame is part of its page's visit, not a full-size screenshot of its own."""
    frames = reading_session(store)[2:5]  # a product page, scrolled twice
    pictures = store.add(frames[0].session_id, _screenshot(97), url=frames[0].url, scroll_y=1400,
                         text_layer=TextLayer(lines=[]))
    summary, request = _summarise(store, [*frames, pictures], product_photos=True)
    [visit] = _page_texts(request)
    assert visit.startswith("Visit f1-f4:")
    assert [image["url"] for image in _images(request)] == [image_data_url(frames[0].path,
                                                                           DEFAULT_TEXT_LAYER_MAX_PIXELS)]
    assert summary.frames_read == 4


def test_messages_are_the_request_summarise_sends(store):
    frames = reading_session(store)
    with FakeOpenAI([_answer(frames)]) as server:
        summariser = MllmSummariser(_client(server), "fake-vision", mode="json_schema", text_layers=store.text_layer)
        planned = summariser.messages(frames)
        summary = summariser.summarise(frames)
        assert summariser.messages(frames, previous=summary) == []  # nothing new to send
    assert server.requests[0]["body"]["messages"] == planned


def test_without_text_layers_the_request_is_what_it_was(store):
    frames = reading_session(store)[:3]
    with FakeOpenAI([_answer(frames), _answer(frames)]) as server:
        for text_layers in (None, lambda frame: None):
            MllmSummariser(_client(server), "fake-vision", max_pixels=MAX_PIXELS, mode="json_schema",
                           text_layers=text_layers).summarise(frames)
    for request in server.requests:
        content = _content(request)
        assert content[0]["text"].startswith("You are reading screenshots of what an online shopper saw")
        assert [part for part in content[1:]] == [
            part for frame in frames for part in ({"type": "text", "text": f"screenshot {frame.frame_id}"},
                                                  {"type": "image_url",
                                                   "image_url": {"url": image_data_url(frame.path, MAX_PIXELS)}})]


def test_only_the_lines_the_capture_recorded_are_sent_and_markup_only_when_recorded(store):
    session = store.new_session("test")
    lines = [_line("Maxima Analog Watch", 538, 183, 24, tag="h1"), _line("₹595", 538, 341, 30),
             _line("Strap Color: Black", 538, 462, 16), _line("Water Resistant", 538, 500, 16)]
    markup = {"json-ld": [{"@type": "Product", "name": "Maxima Analog Watch", "brand": {"name": "Maxima"},
                           "offers": {"price": "595", "priceCurrency": "INR"}}], "microdata": [], "opengraph": {}}
    other = [_line("Titan Neo Watch", 538, 183, 24, tag="h1"), _line("₹1,295", 538, 341, 30)]
    plain = store.add(session, _screenshot(1), url=f"{SITE}/p/a", text_layer=TextLayer(lines=lines))
    marked = store.add(session, _screenshot(2), url=f"{SITE}/p/b", text_layer=TextLayer(lines=other, markup=markup))
    _, request = _summarise(store, [plain, marked])
    first, second = _page_texts(request)  # no shared rows: the pages start differently
    body = first.split("\n", 1)[1].rsplit("\n", 1)[0]
    # take out every recorded text: only the marks and separators are left
    for line in lines:
        body = body.replace(line.text, "", 1)
    assert re.fullmatch(r"[\s#|{}px0-9]*", body), body
    assert "page markup" not in first
    assert ("\npage markup: name Maxima Analog Watch; "
            "brand Maxima; price 595 INR\n") in second


def test_an_update_sends_only_the_new_visits_with_the_previous_summary(store):
    frames = reading_session(store)
    with FakeOpenAI([_answer(frames), _answer(frames)]) as server:
        summariser = MllmSummariser(_client(server), "fake-vision", mode="json_schema", text_layers=store.text_layer,
                                    product_photos=True)
        first = summariser.summarise(frames[:5])
        updated = summariser.summarise(frames, previous=first)
    update = server.requests[1]
    prompt = _content(update)[0]["text"]
    assert prompt.startswith("Update a summary of an online shopper's preferences")
    assert '"value":"Maxima"' in prompt and "new screenshots by name:\nf1-f3." in prompt
    # the summary so far cites the frames' own ids: the earlier answer's names were mapped back
    assert f'"frame_ids":["{frames[2].frame_id}"]' in prompt
    [visit] = _page_texts(update)  # the second product page only
    assert visit.startswith("Visit f1-f3:\n") and "Perucci PC-301" in visit
    assert len(_images(update)) == 1
    assert updated.frames_read == 8


def test_the_same_frames_with_text_layers_are_a_new_request_and_then_cached(store, tmp_path):
    frames = reading_session(store)[:3]
    cache = tmp_path / "mllm.sqlite"
    with FakeOpenAI([_answer(frames), _answer(frames)]) as server:
        MllmSummariser(_client(server), "fake-vision", mode="json_schema", cache_path=cache).summarise(frames)
        with_text = MllmSummariser(_client(server), "fake-vision", mode="json_schema", cache_path=cache,
                                   text_layers=store.text_layer)
        first = with_text.summarise(frames)  # another request: not the screenshots-only answer
        again = MllmSummariser(_client(server), "fake-vision", mode="json_schema", cache_path=cache,
                               text_layers=store.text_layer).summarise(frames)
    assert len(server.requests) == 2 and again == first


def test_wiring_gives_the_mllm_the_frame_stores_text_layers(monkeypatch, store):
    monkeypatch.setenv("INTERAREC_OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("INTERAREC_OPENAI_API_KEY", "local")
    summariser = build_summariser(load_settings(vision_model="qwen2.5-vl"), brands=[], categories=[], frames=store)
    assert isinstance(summariser, MllmSummariser) and summariser.text_layers == store.text_layer
    assert build_summariser(load_settings(vision_model="qwen2.5-vl"), brands=[], categories=[]).text_layers is None


# -- the page text -----------------------------------------------------------------------------------------------


def test_rows_join_close_runs_with_a_space_and_far_ones_with_a_bar():
    row = [_line("Maxima", 60, 503, 16, role="label"), _line("(23)", 60 + 48 + 2, 505, 14),
           _line("Maxima 26512PPGN", 314, 498, 16, role="link"), _line("Cartier W6701005", 555, 498, 16, role="link")]
    assert render_row(row, body=16) == "Maxima (23) | [Maxima 26512PPGN] | [Cartier W6701005]"
    assert render_row([_line("Big", 0, 0, 30), _line("small", 200, 0, 16)], body=16) == "{30px}Big | small"


def test_a_visit_sends_each_run_once_and_rows_shared_by_most_pages_once():
    page = product_page("Maxima", "Maxima 12011PPGW Analog Watch - For Men", "₹593", "₹625", SPECS)
    frames = [Frame(frame_id=f"s:{i}", session_id="s", sequence=i, path="", sha256=str(i), captured_at=0,
                    url=f"{SITE}/p/a", scroll_y=scroll) for i, scroll in enumerate((0, 450, 900))]
    rows = visit_rows(frames, [frame_layer(page, f.scroll_y) for f in frames])
    texts = [row.text for row in rows]
    assert len(texts) == len(set(texts)) and texts[0] == "{24px}[InteraShop] | Login | Cart | 0"
    assert texts.index("## Specifications") < texts.index("Power Source | Battery Powered")  # top to bottom
    other = visit_rows(frames[:1], [frame_layer(listing_page(), 0)])
    alone = visit_rows(frames[:1], [TextLayer(lines=[_line("A page of its own", 30, 300)])])
    assert [row.text for row in shared_rows([rows, other])] == [texts[0], texts[1]]  # the header and the menu
    assert [row.text for row in shared_rows([rows, other, alone])] == [texts[0], texts[1]]  # two of three
    assert shared_rows([rows, alone, alone[:0], alone[:0]]) == []  # one of four is not "most"
    assert shared_rows([rows]) == []


def test_consecutive_frame_names_are_written_as_a_range_and_others_one_by_one():
    from agent.mllm.request import label_list

    assert label_list(["f3", "f4", "f5", "f6"]) == "f3-f6"
    assert label_list(["f3", "f4"]) == "f3, f4"  # a range saves nothing on two
    assert label_list(["f1", "f3", "f4"]) == "f1, f3, f4"
    assert label_list(["s:1", "s:2", "s:3"]) == "s:1, s:2, s:3"  # a session's own ids are never abridged

"""Recording a Chromium the user runs themselves, attached over CDP: a real Debian Chromium subprocess plays the
user's browser, a second Playwright connection plays the user, and record_cdp runs in a thread beside it."""

from __future__ import annotations

import io
import json
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import sync_playwright

from tests.conftest import CHROMIUM, requires_chromium
from tests.local_site import serve
from tools.capture.browser import CHROMIUM_FLAGS, BrowserError, CaptureStats
from tools.capture.cdp_recorder import record_cdp
from tools.capture.frames import FrameStore
from tools.capture.privacy import STYLE_ID

pytestmark = requires_chromium

DEADLINE_S = 20.0  # upper bound for anything the tests wait for; they poll and normally take far less


def _page(title: str, colour: str, body: str = "") -> bytes:
    return (f"<!doctype html><html><head><title>{title}</title></head>"
            f"<body style='margin:0;font:28px sans-serif'><div style='background:{colour};height:220px'></div>"
            f"<h1>{title}</h1><p>{body}</p></body></html>").encode()


PAGES = {
    "/shoes": _page("Trail shoes", "#2a6"),
    "/jackets": _page("Rain jackets", "#a26", "Waterproof, breathable, packable."),
    "/tents": _page("Two-person tents", "#26a", "Light enough for long walks."),
}
FIELD = "style='display:block;width:320px;font:22px sans-serif;margin:12px 0'"
# A logged-in page: the user's name in the header, and a line just below the window (700 px high).
PAGES["/account"] = (b"<!doctype html><html><head><title>Your orders</title></head>"
                     b"<body style='margin:0;font:22px sans-serif'><header style='padding:12px 24px;background:#eee'>"
                     b"<span id='greeting'>Hello, Jane Doe</span></header><h1>Your orders</h1>"
                     b"<p>Two rain jackets, shipped.</p>"
                     b"<p style='position:absolute;top:730px;margin:0'>Below the window</p></body></html>")


def _checkout(query: str) -> bytes:
    """A password field here and a card field in an iframe of another origin (as payment forms have it);
    ``?empty`` renders both empty, ``?card=URL`` is the iframe's page."""
    params = parse_qs(query, keep_blank_values=True)
    password = "" if "empty" in params else "hunter2-secret"
    return (f"<!doctype html><title>Checkout</title><body style='font:22px sans-serif'><h1>Checkout</h1>"
            f"<input type=password value='{password}' {FIELD}>"
            f"<iframe src='{params['card'][0]}' style='width:400px;height:90px;border:0'></iframe>").encode()


def _card_field(query: str) -> bytes:
    number = "" if "empty" in parse_qs(query, keep_blank_values=True) else "4111 1111 1111 1111"
    return f"<!doctype html><body style='margin:0'><input autocomplete=cc-number value='{number}' {FIELD}>".encode()


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        path, _, query = self.path.partition("?")
        body = {"/checkout": _checkout, "/card": _card_field}.get(path, lambda _: PAGES.get(path))(query)
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(body or b"not found")

    def log_message(self, *args: object) -> None:
        pass


def _site():  # noqa: ANN202
    return serve(_Handler)


def _wait_for(condition: Callable[[], object], what: str, timeout_s: float = DEADLINE_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g}s waiting for {what}")
        time.sleep(0.05)


@dataclass
class UserChromium:
    process: subprocess.Popen
    cdp_url: str


def start_debug_chromium(user_data_dir: Path, port: int = 0, headless: bool = True) -> tuple[subprocess.Popen, str]:
    """The user's own browser, with remote debugging on; the port is read from DevToolsActivePort."""
    args = [str(CHROMIUM), f"--remote-debugging-port={port}", f"--user-data-dir={user_data_dir}",
            "--window-size=1024,700", *CHROMIUM_FLAGS]
    if headless:
        args.insert(1, "--headless=new")
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port_file = user_data_dir / "DevToolsActivePort"
    try:
        _wait_for(lambda: port_file.exists() and port_file.read_text().strip() or process.poll() is not None,
                  "Chromium's DevToolsActivePort")
        if process.poll() is not None:
            raise RuntimeError(f"Chromium exited with {process.returncode} before opening its DevTools port")
        cdp_url = f"http://127.0.0.1:{port_file.read_text().splitlines()[0].strip()}"
        # Up and showing its first tab, as a browser the user runs would be (attaching to a Chromium still
        # opening its first tab occasionally never completes).
        _wait_for(lambda: _has_page(cdp_url), "Chromium's first tab")
    except BaseException:
        process.kill()
        process.wait()
        raise
    return process, cdp_url


_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, whatever *_proxy says


def _has_page(cdp_url: str) -> bool:
    try:
        with _NO_PROXY.open(f"{cdp_url}/json/list", timeout=2) as response:
            return any(target.get("type") == "page" for target in json.load(response))
    except OSError:
        return False


@pytest.fixture
def user_chromium(tmp_path) -> Iterator[UserChromium]:
    process, cdp_url = start_debug_chromium(tmp_path / "profile")
    try:
        yield UserChromium(process, cdp_url)
    finally:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture
def frames(tmp_path) -> Iterator[FrameStore]:
    store = FrameStore(tmp_path / "frames")
    yield store
    store.close()


@dataclass
class Recording:
    """record_cdp, which blocks until it is done, running in a background thread while the test plays the user."""

    stop: threading.Event = field(default_factory=threading.Event)
    stats: CaptureStats | None = None
    error: BaseException | None = None
    thread: threading.Thread | None = None

    def start(self, cdp_url: str, store: FrameStore, session_id: str, seconds: float = DEADLINE_S,
              **kwargs: object) -> Recording:
        def run() -> None:
            try:
                self.stats = record_cdp(cdp_url, store, session_id, seconds, stop=self.stop, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - reported by finish()
                self.error = exc

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        return self

    def finish(self, timeout_s: float = DEADLINE_S) -> CaptureStats:
        self.stop.set()
        assert self.thread is not None
        self.thread.join(timeout_s)
        assert not self.thread.is_alive(), "record_cdp did not return"
        if self.error is not None:
            raise self.error
        assert self.stats is not None
        return self.stats


def _urls(store: FrameStore, session_id: str) -> list[str]:
    return [frame.url for frame in store.frames(session_id)]


def test_records_viewed_pages_but_not_other_origins(user_chromium, frames):
    session = frames.new_session("cdp-test")
    with _site() as shop, _site() as elsewhere, sync_playwright() as pw:
        user = pw.chromium.connect_over_cdp(user_chromium.cdp_url, no_defaults=True)
        tab = user.contexts[0].pages[0]
        recording = Recording().start(user_chromium.cdp_url, frames, session, rate_hz=4.0,
                                      allowed_origins=[shop + "/"])
        try:
            tab.goto(f"{shop}/shoes")
            _wait_for(lambda: f"{shop}/shoes" in _urls(frames, session), "a frame of /shoes")
            tab.goto(f"{shop}/jackets")
            _wait_for(lambda: f"{shop}/jackets" in _urls(frames, session), "a frame of /jackets")
            tab.goto(f"{elsewhere}/shoes")  # another origin: viewed for ~1 s (about 4 periods), never captured
            time.sleep(1.0)
            # A second tab opened in front of the first: now that one is what the user looks at.
            front = user.contexts[0].new_page()
            front.goto(f"{shop}/tents")
            _wait_for(lambda: f"{shop}/tents" in _urls(frames, session), "a frame of /tents")
            tab.goto(f"{shop}/jackets")  # an allowed page, but in the hidden tab: not what the user sees
            seen = _urls(frames, session).count(f"{shop}/tents")
            _wait_for(lambda: _urls(frames, session).count(f"{shop}/tents") >= seen + 3, "more frames of /tents")
        finally:
            stats = recording.finish()
        assert not tab.is_closed() and not front.is_closed()
        assert tab.locator(f"#{STYLE_ID}").count() == 0 and front.locator(f"#{STYLE_ID}").count() == 0
        user.close()

    stored = frames.frames(session)
    urls = [frame.url for frame in stored]
    assert {f"{shop}/shoes", f"{shop}/jackets", f"{shop}/tents"} <= set(urls)
    assert all(url.startswith(shop + "/") for url in urls), urls
    assert not any(url.startswith(elsewhere) for url in urls)
    # The pages were viewed in this order; once /tents is in front, the tab behind it is no longer recorded.
    first = {url: urls.index(url) for url in set(urls)}
    assert first[f"{shop}/shoes"] < first[f"{shop}/jackets"] < first[f"{shop}/tents"]
    assert f"{shop}/jackets" not in urls[first[f"{shop}/tents"]:]
    assert all(frame.reason == "cdp" and Path(frame.path).exists() for frame in stored)
    assert stats.kept + stats.duplicates == len(stored)
    assert stats.kept >= 3

    # The user's browser is untouched: still running, and it still opens pages.
    assert user_chromium.process.poll() is None
    with _site() as shop2, sync_playwright() as pw:
        again = pw.chromium.connect_over_cdp(user_chromium.cdp_url, no_defaults=True)
        page = again.contexts[0].new_page()
        page.goto(f"{shop2}/tents")
        assert page.title() == "Two-person tents"
        assert len(again.contexts[0].pages) >= 3  # the user's two tabs are still open
        again.close()


def _pixels(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGB"))


def _crop(pixels: np.ndarray, box: dict) -> np.ndarray:
    return pixels[int(box["y"]):int(np.ceil(box["y"] + box["height"])),
                  int(box["x"]):int(np.ceil(box["x"] + box["width"]))]


def test_masks_sensitive_fields_in_every_frame_and_leaves_the_page_as_it_was(user_chromium, frames):
    session = frames.new_session("cdp-test")
    with _site() as shop, _site() as payments, sync_playwright() as pw:
        user = pw.chromium.connect_over_cdp(user_chromium.cdp_url, no_defaults=True)
        tab = user.contexts[0].pages[0]
        tab.goto(f"{shop}/checkout?card={payments}/card")
        fields = {"password": tab.locator("input"), "card": tab.frame_locator("iframe").locator("input")}
        unmasked = tab.screenshot()
        recording = Recording().start(user_chromium.cdp_url, frames, session, rate_hz=4.0)
        try:
            _wait_for(lambda: frames.frames(session), "a frame of /checkout")
        finally:
            stats = recording.finish()
        values = {name: field.input_value() for name, field in fields.items()}
        assert values == {"password": "hunter2-secret", "card": "4111 1111 1111 1111"}
        assert tab.locator(f"#{STYLE_ID}").count() == 0
        assert tab.frame_locator("iframe").locator(f"#{STYLE_ID}").count() == 0
        boxes = {name: field.bounding_box() for name, field in fields.items()}
        tab.goto(f"{shop}/checkout?empty&card={payments}/card%3Fempty")  # the same page, fields empty
        empty = _pixels(tab.screenshot())
        assert {name: field.bounding_box() for name, field in fields.items()} == boxes
        user.close()
    stored = frames.frames(session)[0]
    assert stored.title == "Checkout" and stats.masked_fields >= 2
    captured = _pixels(Path(stored.path).read_bytes())
    for name, box in boxes.items():
        assert not np.array_equal(_crop(_pixels(unmasked), box), _crop(empty, box)), f"{name} shows nothing"
        assert np.array_equal(_crop(captured, box), _crop(empty, box)), f"the {name} is visible in the frame"


def test_frames_carry_a_text_layer_without_the_users_name(user_chromium, frames):
    sessions = {redact: frames.new_session(f"cdp-test redact={redact}") for redact in (True, False)}
    with _site() as shop, sync_playwright() as pw:
        user = pw.chromium.connect_over_cdp(user_chromium.cdp_url, no_defaults=True)
        tab = user.contexts[0].pages[0]
        tab.goto(f"{shop}/account")
        greeting = tab.locator("#greeting").bounding_box()
        stats = {}
        for redact, session in sessions.items():
            recording = Recording().start(user_chromium.cdp_url, frames, session, rate_hz=4.0,
                                          redact_personal=redact)
            try:
                _wait_for(lambda session=session: frames.frames(session), "a frame of /account")
            finally:
                stats[redact] = recording.finish()
        user.close()
    redacted, plain = (frames.frames(sessions[redact])[0] for redact in (True, False))
    layer = frames.text_layer(redacted)
    texts = [line.text for line in layer.lines]
    assert redacted.height <= 730  # the window: "Below the window" is out of sight
    assert texts == ["Your orders", "Two rain jackets, shipped."]  # not the name, not what is below the window
    assert all(0 <= line.x0 < line.x1 <= redacted.width and 0 <= line.y0 < line.y1 <= redacted.height
               for line in layer.lines)
    assert layer.markup is None  # the user's page is not serialised for its markup
    assert "Hello, Jane Doe" in [line.text for line in frames.text_layer(plain).lines]
    shown = _crop(_pixels(Path(plain.path).read_bytes()), greeting).mean(axis=2)
    blurred = _crop(_pixels(Path(redacted.path).read_bytes()), greeting).mean(axis=2)
    assert shown.std() > 30 and blurred.std() < 0.35 * shown.std()
    assert stats[True].redacted_lines >= 1 and stats[False].redacted_lines == 0
    assert all(s.text_layers >= 1 and s.text_layer_failed == 0 for s in stats.values())


def test_the_users_dialogs_are_left_for_the_user_to_answer(user_chromium, frames):
    """Playwright dismisses dialogs no one listens to; attached to the user's browser, it must not."""
    session = frames.new_session("cdp-test")
    with _site() as shop, sync_playwright() as pw:
        user = pw.chromium.connect_over_cdp(user_chromium.cdp_url, no_defaults=True)
        tab = user.contexts[0].pages[0]
        dialogs = []
        tab.on("dialog", lambda dialog: dialogs.append(dialog))  # the user, looking at the dialog and not answering yet
        tab.goto(f"{shop}/shoes")
        recording = Recording().start(user_chromium.cdp_url, frames, session, rate_hz=4.0)
        try:
            _wait_for(lambda: frames.frames(session), "a frame of /shoes")
            tab.evaluate("setTimeout(() => { window.answer = confirm('Leave the shop?'); }, 0)")
            deadline = time.monotonic() + DEADLINE_S
            while not dialogs and time.monotonic() < deadline:
                tab.wait_for_timeout(50)  # lets the user's connection receive the dialog
            assert dialogs, "the dialog never opened"
            tab.wait_for_timeout(1000)  # about 4 recording periods with the dialog showing
            dialogs[0].accept()  # raises "No dialog is showing" if the recorder dismissed it
            assert tab.evaluate("window.answer") is True
            seen = len(frames.frames(session))
            _wait_for(lambda: len(frames.frames(session)) > seen, "frames after the dialog closed")
        finally:
            recording.finish()
        user.close()


def test_a_hung_tab_does_not_hold_recording_past_its_stop(user_chromium, frames):
    """A page stuck in a script never answers; record_cdp still returns once told to stop."""
    session = frames.new_session("cdp-test")
    with _site() as shop, sync_playwright() as pw:
        user = pw.chromium.connect_over_cdp(user_chromium.cdp_url, no_defaults=True)
        tab = user.contexts[0].pages[0]
        tab.goto(f"{shop}/shoes")
        recording = Recording().start(user_chromium.cdp_url, frames, session, seconds=60, rate_hz=4.0)
        _wait_for(lambda: frames.frames(session), "a frame of /shoes")
        tab.evaluate("setTimeout(() => { for (;;) {} }, 0)")  # the tab hangs; the user does not touch it again
        time.sleep(0.5)
        started = time.monotonic()
        stats = recording.finish()
        assert time.monotonic() - started < DEADLINE_S
        assert stats.kept >= 1 and len(frames.frames(session)) >= 1
        user_chromium.process.kill()  # frees the user's connection and the recorder's worker from the tab


def test_browser_killed_mid_recording_ends_cleanly_with_frames_kept(user_chromium, frames):
    session = frames.new_session("cdp-test")
    with _site() as shop, sync_playwright() as pw:
        user = pw.chromium.connect_over_cdp(user_chromium.cdp_url, no_defaults=True)
        tab = user.contexts[0].pages[0]
        recording = Recording().start(user_chromium.cdp_url, frames, session, seconds=60, rate_hz=4.0)
        tab.goto(f"{shop}/shoes")
        _wait_for(lambda: len(frames.frames(session)) >= 2, "two frames of /shoes")
        user_chromium.process.kill()
        user_chromium.process.wait(timeout=10)
        # record_cdp notices by itself, well before its 60 s are up; stop is not set here.
        assert recording.thread is not None
        recording.thread.join(DEADLINE_S)
        assert not recording.thread.is_alive(), "record_cdp did not end after the browser was killed"
        assert recording.error is None, recording.error
        stats = recording.stats
        assert stats is not None

    stored = frames.frames(session)
    assert len(stored) >= 2 and stats.kept + stats.duplicates == len(stored)
    for frame in stored:
        with Image.open(io.BytesIO(Path(frame.path).read_bytes())) as image:
            image.load()
            assert image.size == (frame.width, frame.height)
        assert frame.url == f"{shop}/shoes"


def test_unreachable_browser_is_a_clear_error(frames):
    # An HTTP server that is no DevTools endpoint.
    with _site() as shop, pytest.raises(BrowserError, match="could not attach"):
        record_cdp(shop, frames, frames.new_session("cdp-test"), 1.0)

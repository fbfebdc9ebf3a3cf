"""Bad input (issue #8): unsafe and invalid URLs, origins outside the allowlist, never-ending and enormous pages,
non-image files in an import, absurd constraints, malformed catalog files and unknown product numbers in chat.
Each gets a clear error through the entry point a user calls; nothing crashes, nothing hangs."""

from __future__ import annotations

import io
import json
import math
import os
import socket
import sqlite3
import struct
import threading
import zlib

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from PIL import Image
from pydantic import ValidationError

from agent.chat.graph import build_chat_graph
from agent.chat.local_model import LocalChatModel
from agent.chat.session import ChatSession
from agent.chat.tools import ChatContext
from agent.cli import capture as cli_capture
from agent.cli import catalog as cli_catalog
from agent.cli import run as cli_run
from agent.cli.main import main
from agent.settings import load_settings
from agent.wiring import Runtime
from catalog.store import CatalogStore
from tests.agent.cli.errors import one_error_line
from tests.conftest import requires_chromium
from tests.injection_pages import CATALOG, endless_site, write_images
from tools.capture import browser_tools as bt
from tools.capture.browser import BrowserConfig, BrowserError, ShopperBrowser
from tools.capture.frames import FrameStore
from tools.recommend.optimizer import select
from tools.schemas import Candidate, Constraints

UNSAFE_URLS = ["file:///etc/passwd", "javascript:alert(1)", "data:text/html,<h1>hi</h1>", "ftp://127.0.0.1/",
               "chrome://settings", "not a url", "http://", "http://127.0.0.1:99999/"]


def _forbidden(*args, **kwargs):
    raise AssertionError("the command started something before checking its input")


# -- URLs ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("url", UNSAFE_URLS)
def test_an_unsafe_or_invalid_start_url_exits_2_before_anything_starts(url, tmp_path, capsys, monkeypatch):
    for module, name in ((cli_run, "build_runtime"), (cli_run, "start_shop"), (cli_capture, "open_frames"),
                         (cli_capture, "capture_script")):
        monkeypatch.setattr(module, name, _forbidden)
    script = tmp_path / "walk.txt"
    script.write_text("dwell 1\n", encoding="utf-8")
    for argv in (["browse-and-recommend", "--persona", "watch-buyer"], ["capture", "--script", str(script)]):
        assert main([*argv, "--url", url]) == 2
        line = one_error_line(capsys)
        assert line.startswith("interarec: error: --url: ") and repr(url) in line
        assert "http(s) URL" in line or "not a valid URL" in line


@requires_chromium
def test_the_browser_opens_only_http_pages_of_allowed_origins(tmp_path):
    frames = FrameStore(tmp_path / "frames")
    session = frames.new_session("test")
    with endless_site() as site, ShopperBrowser(BrowserConfig(), frames, session) as browser:
        for url in UNSAFE_URLS[:5]:  # even as the first page, which is otherwise always allowed
            with pytest.raises(BrowserError, match="not an http"):
                browser.goto(url)
        assert browser.page.url == "about:blank" and browser.config.allowed_origins == []
        browser.goto(site + "/")
        for url in ("https://example.com/", "http://127.0.0.2/"):
            result = bt.open_url(browser, bt.OpenUrl(url=url))
            assert not result.ok and "outside the allowed origins" in result.message
        for url in UNSAFE_URLS[:3]:
            assert not bt.open_url(browser, bt.OpenUrl(url=url)).ok
        assert browser.page.url == site + "/" and browser.stats.captured == 0
    frames.close()


@requires_chromium
def test_an_unreachable_start_page_exits_1_with_one_clear_line(tmp_path, capsys):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    script = tmp_path / "walk.txt"
    script.write_text("dwell 1\n", encoding="utf-8")
    assert main(["capture", "--script", str(script), "--url", f"http://127.0.0.1:{port}/", "--seconds", "2"]) == 1
    assert f"could not open http://127.0.0.1:{port}/: " in one_error_line(capsys)


# -- never-ending and enormous pages ---------------------------------------------------------------------------
def _capture(monkeypatch, capsys, tmp_path, site: str, script_text: str, seconds: float) -> tuple[dict, list]:
    monkeypatch.setenv("INTERAREC_PACE_S", "0")
    monkeypatch.setenv("INTERAREC_NAVIGATION_TIMEOUT_S", "2")
    script = tmp_path / "walk.txt"
    script.write_text(script_text, encoding="utf-8")
    assert main(["capture", "--script", str(script), "--url", site + "/", "--seconds", str(seconds), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["status"] == "complete"
    with sqlite3.connect(report["database"]) as db:
        rows = db.execute("SELECT url, scroll_y, path, duplicate_of FROM frames WHERE session_id = ? "
                          "ORDER BY sequence", (report["session_id"],)).fetchall()
    for _, _, path, duplicate_of in rows:
        if duplicate_of is None:
            with Image.open(path) as image:
                assert image.size == (1280, 800)  # the viewport, however long the page
    return report, rows


@requires_chromium
def test_an_endless_feed_is_captured_for_the_time_asked_and_no_longer(monkeypatch, capsys, tmp_path):
    with endless_site() as site:
        report, rows = _capture(monkeypatch, capsys, tmp_path, site, "scroll 5000\n" * 500, seconds=6)
    assert report["seconds"] < 6 + 3 and report["failed_steps"] == []
    assert 3 <= report["frames_captured"] <= 6 / 0.35 + 2  # one per settled scroll at most
    assert max(scroll for _, scroll, _, _ in rows) > 20 * 344  # the feed kept growing past its first page


@requires_chromium
def test_a_response_that_never_ends_and_an_enormous_page_fail_or_load_within_bounds(monkeypatch, capsys,
                                                                                     tmp_path):
    with endless_site(huge_bytes=3_000_000) as site:
        report, rows = _capture(monkeypatch, capsys, tmp_path, site, "goto /stream\ngoto /huge\nscroll 3000\n",
                                seconds=6)
    assert report["seconds"] < 6 + 2 + 3
    assert report["failed_steps"][0].startswith(f"step 1 (goto): could not open {site}/stream: ")
    assert "Timeout 2000ms exceeded" in report["failed_steps"][0]
    assert all(url.startswith(site) for url, *_ in rows)
    # The enormous page either loaded (its frames are viewport-sized, checked above) or its step failed.
    assert any(url == f"{site}/huge" for url, *_ in rows) or any("/huge" in f for f in report["failed_steps"])


# -- imports ---------------------------------------------------------------------------------------------------
def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def test_an_import_skips_what_is_not_a_screenshot_and_never_blocks_on_a_pipe(tmp_path, capsys):
    folder = tmp_path / "shots"
    folder.mkdir()
    buffer = io.BytesIO()
    Image.new("RGB", (320, 200), (200, 30, 30)).save(buffer, format="PNG")
    (folder / "a-good.png").write_bytes(buffer.getvalue())
    bomb = _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0))  # 900 megapixels
    (folder / "bomb.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bomb + _png_chunk(b"IEND", b""))
    (folder / "empty.png").write_bytes(b"")
    (folder / "page.jpg").write_text("<html>not a photo</html>")
    (folder / "zero.png").symlink_to("/dev/zero")
    os.mkfifo(folder / "pipe.png")  # reading it would wait for a writer forever

    outcome: list = []
    worker = threading.Thread(target=lambda: outcome.append(main(["sessions", "import", str(folder), "--json"])),
                              daemon=True)
    worker.start()
    worker.join(60)
    if worker.is_alive():  # unblock the reader before failing
        with open(folder / "pipe.png", "wb"):
            pass
        pytest.fail("the import blocked reading a named pipe")
    assert outcome == [0]
    report = json.loads(capsys.readouterr().out)
    assert (report["imported"], report["kept"]) == (1, 1)
    skipped = {item["name"]: item["reason"] for item in report["skipped"]}
    assert set(skipped) == {"bomb.png", "empty.png", "page.jpg", "zero.png", "pipe.png"}
    assert "decompression bomb" in skipped["bomb.png"] and skipped["pipe.png"] == "not a file"


def test_an_import_of_only_junk_exits_2_naming_each_file(tmp_path, capsys):
    folder = tmp_path / "junk"
    folder.mkdir()
    (folder / "notes.txt").write_text("hello")
    (folder / "fake.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    assert main(["sessions", "import", str(folder)]) == 2
    line = one_error_line(capsys)
    assert "no PNG or JPEG images" in line and "notes.txt" in line and "fake.png" in line


# -- absurd constraints ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("argv", "names"), [
    (["demo", "--k", "-1"], "--k"),
    (["demo", "--k", "1000000"], "--k"),
    (["recommend", "--session", "x", "--k", "0"], "--k"),
])
def test_an_absurd_k_exits_2_naming_the_flag(argv, names, capsys, monkeypatch):
    monkeypatch.setattr(cli_run, "build_runtime", _forbidden)
    assert main(argv) == 2
    assert names in one_error_line(capsys)


@pytest.mark.parametrize(("variable", "value"), [("INTERAREC_PRICE_TOLERANCE", "-1"),
                                                   ("INTERAREC_CAPTURE_RATE_HZ", "0"),
                                                   ("INTERAREC_SOLVER_TIME_LIMIT_S", "1e9"),
                                                   ("INTERAREC_K", "nan")])
def test_absurd_settings_exit_2_naming_the_variable(variable, value, capsys, monkeypatch):
    monkeypatch.setattr(cli_run, "build_runtime", _forbidden)
    monkeypatch.setenv(variable, value)
    assert main(["demo", "--json"]) == 2
    assert variable in one_error_line(capsys)


@pytest.mark.parametrize(("flags", "message"), [
    (["--max-price", "-5"], "--max-price must be a finite number of at least 0, not -5"),
    (["--max-price", "nan"], "--max-price must be a finite number of at least 0, not nan"),
    (["--min-price", "inf"], "--min-price must be a finite number of at least 0, not inf"),
    (["--min-rating", "-1"], "--min-rating must be"),
    (["--limit", "0"], "--limit must be at least 1, not 0"),
    (["--limit", "-3"], "--limit must be at least 1, not -3"),
])
def test_absurd_search_filters_exit_2_before_the_store_is_opened(flags, message, capsys, monkeypatch):
    monkeypatch.setattr(cli_catalog, "open_store", _forbidden)
    assert main(["catalog", "search", "watch", *flags]) == 2
    assert message in one_error_line(capsys)


@pytest.mark.parametrize("fields", [{"k": 0}, {"k": 10**6}, {"max_price": -1}, {"min_price": -0.01},
                                    {"max_price": math.inf}, {"min_rating": 9}, {"max_per_brand": 0},
                                    {"must_include": "EVIL-999"}])
def test_absurd_constraints_are_refused_by_the_schema(fields):
    with pytest.raises(ValidationError):
        Constraints(**fields)


def test_a_floor_above_the_budget_gives_an_empty_list_with_the_reason():
    pool = [Candidate(product_id=f"p{i}", title=f"Watch {i}", brand=f"B{i}", price=100.0 * i, currency="INR",
                      category_path=["Watches"], rating=4.0, similarity=0.5, utility=1.5, value=1.0)
            for i in range(1, 6)]
    selection = select(pool, Constraints(k=3, min_price=400, max_price=200))
    assert selection.chosen == [] and selection.report.status == "NO_CANDIDATES"
    assert "only 0 candidate(s) passed the filters" in selection.unmet[0]


# -- malformed catalog files -----------------------------------------------------------------------------------
GOOD = '{"id": "ok1", "title": "Steel watch", "category_path": ["Watches"], "price": 500}'


@pytest.mark.parametrize(("name", "text", "errors"), [
    ("deep.jsonl", GOOD + "\n" + "[" * 100_000 + "\n", ["line 2, field (row): not valid JSON"]),
    ("numbers.jsonl", GOOD + '\n{"id": "n1", "title": "t", "category_path": ["c"], "price": NaN}\n'
                             '{"id": "n2", "title": "t", "category_path": ["c"], "price": 1e999}\n'
                             '{"id": "n3", "title": "t", "category_path": ["c"], "rating": Infinity}\n',
     ["line 2, field price: Input should be a finite number", "line 3, field price: Input should be a finite",
      "line 4, field rating: Input should be a finite number"]),
    ("array.json", GOOD + '\n[{"id": "a1", "title": "t", "category_path": ["c"]}]\n',
     ["line 2, field (row): expected a JSON object"]),
    ("huge.csv", "id,title,category_path\nok1,Steel watch,Watches\nbig," + "x" * 200_000 + ",Watches\n",
     ["line 3, field (row): not valid CSV: field larger than field limit"]),
    ("ragged.csv", "id,title,category_path\nok1,Steel watch,Watches\nr1,Watch,Watches,surplus\n",
     ["line 3, field (row): 1 more value(s) than the header has columns"]),
    ("excel.csv", "\ufeffid,title,category_path,price\nok1,Steel watch,Watches,500\nc1,Mug,Kitchen,abc\n",
     ["line 3, field price: Input should be a valid number"]),
])
def test_malformed_catalog_rows_are_reported_by_line_and_field_and_the_rest_ingested(name, text, errors, tmp_path,
                                                                                     capsys):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    assert main(["catalog", "ingest", str(path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["added"], result["rejected"]) == (1, len(errors))
    for error, expected in zip(result["errors"], errors, strict=True):
        assert error.startswith(expected)


# -- unknown product numbers in chat ---------------------------------------------------------------------------
def test_unknown_product_numbers_in_chat_are_answered_with_what_exists(tmp_path):
    store = CatalogStore.open(tmp_path / "catalog")
    store.upsert(CATALOG)
    runtime = Runtime(settings=load_settings(), store=store, frames=None, summariser=None,
                      browser_config=BrowserConfig(), shop_products=CATALOG,
                      shop_images=write_images(tmp_path / "images"), backends=None)
    chat = ChatSession(build_chat_graph(ChatContext(runtime), LocalChatModel(), InMemorySaver()), "t-numbers", 12)
    assert "nothing is on show yet" in chat.ask("why #1").answer
    shown = chat.ask("looking for analog watches").recommendations
    assert len(shown) == 5
    for text, expected in (("why #9", "there is no product #9: the list has 5 (#1-#5)"),
                           ("show #99", "there is no product #99: the list has 5 (#1-#5)"),
                           ("more like #6", "there is no product #6: the list has 5 (#1-#5)"),
                           ("show #0", "rank: Input should be greater than or equal to 1")):
        turn = chat.ask(text)
        assert expected in turn.answer and [c["status"] for c in turn.tool_calls][0] == "error"
        assert turn.recommendations == shown

"""Capture sessions in real Chromium against the demo shop: ordered frames, kept and duplicate counts,
files that decode at the viewport size, browsing scripts, and a browser killed mid-session."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from agent.cli.main import main
from tests.conftest import requires_chromium
from tools.capture.browse_script import ScriptError, parse_script
from tools.capture.frames import FrameStore

pytestmark = [requires_chromium, pytest.mark.browser]


def _rows(database: str, session_id: str) -> list[tuple]:
    with sqlite3.connect(database) as db:
        return db.execute("SELECT sequence, captured_at, path, width, height, duplicate_of, reason, url "
                          "FROM frames WHERE session_id = ? ORDER BY sequence", (session_id,)).fetchall()


def _check_database(database: str, session_id: str, report: dict) -> list[tuple]:
    rows = _rows(database, session_id)
    assert [r[0] for r in rows] == list(range(len(rows)))  # ordered, no gaps
    assert all(a[1] <= b[1] for a, b in zip(rows, rows[1:]))  # timestamps never go back
    kept = [r for r in rows if r[5] is None]
    assert len(kept) == report["frames_kept"] and len(rows) - len(kept) == report["duplicates"]
    assert report["frames_captured"] == len(rows) + report["blank"] + report["loading"]
    by_sequence = {r[0]: r for r in rows}
    for row in rows:
        if row[5] is not None:  # a duplicate points at a kept frame and shares its file
            original = by_sequence[int(row[5].rsplit(":", 1)[1])]
            assert original[5] is None and original[2] == row[2]
    for row in kept:
        with Image.open(row[2]) as image:
            image.load()
            assert image.size == (1280, 800) == (row[3], row[4])
    with sqlite3.connect(database) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    return rows


def test_persona_session_gives_ordered_frames_with_kept_and_duplicate_counts(capsys):
    assert main(["capture", "--persona", "mug-gifter", "--seconds", "12", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["status"] == "complete" and report["source"] == "persona:mug-gifter"
    rows = _check_database(report["database"], report["session_id"], report)
    assert report["frames_kept"] >= 3 and report["duplicates"] >= 1  # dwelling repeats what is on screen
    assert {"navigation", "interval"} <= {r[6] for r in rows}
    assert any("/p/" in r[7] for r in rows)
    # Every screenshot taken of a loaded page came with its text layer, stored beside each kept frame.
    assert report["text_layers"] == report["frames_captured"] - report["loading"]
    assert report["text_layer_failed"] == 0
    frames = FrameStore(Path(report["database"]).parent)
    try:
        layers = [frames.text_layer(f) for f in frames.frames(report["session_id"], unique_only=True)]
    finally:
        frames.close()
    assert all(layer is not None and layer.lines and layer.markup is not None for layer in layers)


def test_browsing_script_file_runs_and_reports_failed_steps(tmp_path, capsys):
    script = tmp_path / "walk.txt"
    script.write_text("# a short walk\ngoto /c/wrist-watches\nopen 1\nscroll 500\nback\nopen 99\n", encoding="utf-8")
    assert main(["capture", "--script", str(script), "--seconds", "15", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["source"] == f"script:{script}"
    assert any("step 5 (open_result)" in f and "only" in f for f in report["failed_steps"])
    urls = [r[7] for r in _check_database(report["database"], report["session_id"], report)]
    assert any(u.endswith("/c/wrist-watches") for u in urls) and any("/p/" in u for u in urls)


def test_script_errors_name_the_line():
    with pytest.raises(ScriptError, match="line 2: unknown action 'jump'"):
        parse_script("goto /\njump 3\n", "bad.txt")
    with pytest.raises(ScriptError, match="line 1: 'price' needs a low and a high"):
        parse_script("price 500\n", "bad.txt")
    steps = parse_script("search watch\nprice 500 1500\nopen\ndwell 2\n").steps
    assert [s.action for s in steps] == ["search", "price_filter", "open_result", "dwell"]


def test_a_script_file_with_a_bad_line_exits_2(tmp_path, capsys):
    script = tmp_path / "bad.txt"
    script.write_text("goto /\nfly away\n", encoding="utf-8")
    assert main(["capture", "--script", str(script), "--seconds", "5"]) == 2
    assert "bad.txt, line 2" in capsys.readouterr().err


def _kill_processes_with(argument: str) -> int:
    """SIGKILL every process whose command line contains ``argument`` (as a crash would)."""
    killed = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argument.encode() in cmdline:
            try:
                os.kill(int(entry.name), signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
    return killed


def _stored_frames(database) -> int:
    """Frames the capture has committed so far; 0 while the file or its schema does not exist yet (the capture
    process creates the file a moment before its tables)."""
    if not database.exists():
        return 0
    try:
        with sqlite3.connect(database) as db:
            return db.execute("SELECT COUNT(*) FROM frames").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def test_killing_chromium_mid_session_keeps_every_frame_and_a_consistent_database(tmp_path):
    marker = f"--interarec-test-{os.getpid()}-{time.monotonic_ns()}"  # an inert switch to find our Chromium by
    env = {**os.environ, "INTERAREC_DATA_DIR": str(tmp_path / "data"),
           "INTERAREC_CHROMIUM_ARGS": json.dumps([marker])}
    process = subprocess.Popen(
        [sys.executable, "-m", "agent.cli.main", "capture", "--persona", "watch-buyer", "--seconds", "60", "--json"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    database = tmp_path / "data" / "frames" / "frames.sqlite"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if _stored_frames(database) >= 4:
                break
            time.sleep(0.2)
        else:
            pytest.fail("the capture never stored 4 frames")
        assert _kill_processes_with(marker) > 0, "no Chromium process carried the marker switch"
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait()
    assert process.returncode == 1, err
    assert "interrupted" in err and "kept" in err
    report = json.loads(out)
    assert report["status"] == "interrupted" and report["seconds"] < 55
    rows = _check_database(str(database), report["session_id"], report)
    assert len(rows) >= 4
    with sqlite3.connect(database) as db:
        status, ended = db.execute("SELECT status, ended_at FROM sessions WHERE session_id = ?",
                                   (report["session_id"],)).fetchone()
    assert status == "interrupted" and ended is not None


def test_every_built_in_persona_plays_without_failed_steps(tmp_path):
    from agent.settings import load_settings
    from agent.wiring import browser_config, start_demo_shop
    from tools.capture.browser import ShopperBrowser
    from tools.capture.frames import FrameStore
    from tools.capture.personas import PERSONAS
    from tools.capture.shopper import run_persona

    frames = FrameStore(tmp_path / "frames")
    with start_demo_shop() as shop:
        for persona in PERSONAS.values():
            session_id = frames.new_session(f"persona:{persona.name}")
            with ShopperBrowser(browser_config(load_settings()), frames, session_id) as browser:
                run = run_persona(browser, shop.url, persona)
            assert run.failed_steps == [], persona.name
            assert run.steps_done == len(persona.steps)
            assert sum("/p/" in f.url for f in run.frames) >= 3, persona.name


def test_a_long_script_swaps_in_a_fresh_page_and_loses_no_step(tmp_path):
    """Playwright keeps every request of a page until its context closes; a long script gets a fresh page before
    a step that opens an address once enough requests passed, and the script goes on as if nothing happened."""
    from agent.settings import load_settings
    from agent.wiring import browser_config, start_demo_shop
    from catalog.files import load_products
    from shop.pages import product_href
    from tools.capture.browser import ShopperBrowser
    from tools.capture.frames import FrameStore
    from tools.capture.shopper import run_persona

    pages = [product_href(p.id) for p in load_products()[:6]]
    persona = parse_script("".join(f"goto {href}\n" for href in pages) + "back\n", name="long")
    frames = FrameStore(tmp_path / "frames")
    with start_demo_shop() as shop:
        base = shop.url
        session_id = frames.new_session("test:recycle")
        with ShopperBrowser(browser_config(load_settings()), frames, session_id) as browser:
            browser.recycle_after = 3  # a product page makes more requests than that (its HTML, CSS, photo)
            start = browser.page.context
            run = run_persona(browser, base, persona)
            assert browser.page.context is not start  # recycled
            assert browser.page.url == base + pages[-2]  # one step back still works after a fresh page
    assert run.failed_steps == [] and run.steps_done == len(persona.steps)
    opened = list(dict.fromkeys(f.url for f in run.frames))
    assert opened[:len(pages)] == [base + p for p in pages]  # every page was shown, in order

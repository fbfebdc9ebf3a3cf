"""`interarec browse-and-recommend`'s sources (--persona, --script, --cdp-url, --session), its stage progress on
stderr and its --report page.

One browsing script is played once in real Chromium against the local demo shop (module fixture); the other
sources reuse its screenshots (exported and imported; replayed as if recorded over CDP), so only that run
browses and pays for the catalog's first embedding."""

from __future__ import annotations

import contextlib
import html
import io
import json
import os
from pathlib import Path

import pytest
from rich.console import Console

from agent import pipeline
from agent.cli import render
from agent.cli import run as cli_run
from agent.cli.browse import StageProgress
from agent.cli.main import main
from catalog.files import load_products
from tests.conftest import requires_chromium
from tools.capture.browser import CaptureStats
from tools.capture.frames import FrameStore

WALK = "# two watches from the wrist-watch listing\ngoto /c/wrist-watches\nopen 0\nback\nopen 1\n"


def _forbidden(*args, **kwargs):
    raise AssertionError("the command built the runtime or started a browser")


@pytest.fixture
def nothing_started(monkeypatch):
    for target, name in ((cli_run, "build_runtime"), (cli_run, "start_shop"), (pipeline, "browse_session")):
        monkeypatch.setattr(target, name, _forbidden)
    monkeypatch.setattr("agent.cli.capture._capture_cdp", _forbidden)


def _run(monkeypatch, argv: list[str]) -> tuple[int, dict | None, list[str]]:
    """main() with stdout and the rich stderr console captured: (exit code, the JSON, stderr lines)."""
    err = io.StringIO()
    monkeypatch.setattr(render, "stderr", Console(file=err, width=200, color_system=None))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["browse-and-recommend", *argv])
    return code, json.loads(out.getvalue()) if out.getvalue().strip() else None, err.getvalue().splitlines()


# -- sources checked before anything starts ------------------------------------------------------------
@pytest.mark.parametrize(("argv", "message"), [
    ([], "give exactly one source: --persona NAME, --script FILE, --cdp-url URL, --session ID"),
    (["--persona", "watch-buyer", "--script", "walk.txt"], "(got --persona and --script)"),
    (["--cdp-url", "http://127.0.0.1:9222", "--session", "x"], "(got --cdp-url and --session)"),
    (["--persona", "nobody"], "unknown persona 'nobody'; choose one of: watch-buyer"),
    (["--script", "{tmp}/missing.txt"], "cannot read browsing script {tmp}/missing.txt"),
    (["--script", "{tmp}/bad.txt"], "bad.txt, line 2: unknown action 'fly'"),
    (["--session", "nope"], "no session 'nope'; `interarec sessions list` shows them"),
    (["--persona", "watch-buyer", "--seconds", "5"], "--seconds goes with --cdp-url"),
    (["--session", "x", "--url", "http://127.0.0.1:1/"], "(got --session and --url)"),
    (["--persona", "watch-buyer", "--url", "http://127.0.0.1:1/", "--url", "http://127.0.0.1:2/"], "give one --url"),
    (["--persona", "watch-buyer", "--report", "{tmp}/no/such/dir/r.html"], "--report: the folder"),
])
def test_bad_sources_exit_2_with_one_clear_line_and_start_nothing(argv, message, tmp_path, capsys, nothing_started):
    (tmp_path / "bad.txt").write_text("goto /\nfly away\n", encoding="utf-8")
    argv = [arg.replace("{tmp}", str(tmp_path)) for arg in argv]
    assert main(["browse-and-recommend", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("interarec: error: ") and captured.err.count("\n") == 1
    assert message.replace("{tmp}", str(tmp_path)) in captured.err


def test_pages_that_cannot_be_opened_are_named_and_none_left_is_a_usage_error(tmp_path, capsys, monkeypatch,
                                                                              nothing_started):
    argv = ["--url", "ftp://shop.example/p", "--url", "javascript:alert(1)", "--url", str(tmp_path / "gone.html")]
    err = io.StringIO()
    monkeypatch.setattr(render, "stderr", Console(file=err, width=200, color_system=None))
    assert main(["browse-and-recommend", *argv]) == 2
    err = [*err.getvalue().splitlines(), *capsys.readouterr().err.splitlines()]
    assert [line for line in err if "skipped" in line] == [
        "--url: 'ftp://shop.example/p' is not an http(s) URL with a host; the browser only opens web pages; skipped",
        "--url: 'javascript:alert(1)' is not an http(s) URL with a host; the browser only opens web pages; skipped",
        f"--url {tmp_path / 'gone.html'}: no such file here (and not an http(s) or file: URL); skipped"]
    assert err[-1] == "interarec: error: --url: none of the pages can be opened (see above)"


# -- progress ------------------------------------------------------------------------------------------
def _play(progress: StageProgress, fail: bool = False) -> None:
    with contextlib.suppress(RuntimeError), progress:
        progress.stage_started("browse", "a persona at a shop")
        progress.frame_captured(None)
        progress.frame_captured(None)
        progress.stage_finished("browse", "2 screenshots")
        progress.stage_started("summarise", "2 distinct screenshots")
        if fail:
            raise RuntimeError("endpoint down")
        progress.stage_finished("summarise", "2 screenshots read")


def test_progress_off_a_terminal_is_one_line_per_stage():
    out = io.StringIO()
    _play(StageProgress(Console(file=out, color_system=None)))
    lines = out.getvalue().splitlines()
    assert [line.split(" (")[0] for line in lines] == ["browse: 2 screenshots", "summarise: 2 screenshots read"]
    out = io.StringIO()
    _play(StageProgress(Console(file=out, color_system=None)), fail=True)
    assert out.getvalue().splitlines()[-1].startswith("summarise: stopped")


def test_progress_on_a_terminal_is_live_with_the_screenshot_count():
    out = io.StringIO()
    progress = StageProgress(Console(file=out, force_terminal=True, width=120, color_system=None))
    assert progress.progress is not None
    with progress:
        progress.stage_started("browse", "a persona at a shop")
        progress.frame_captured(None)
        progress.frame_captured(None)
        progress.progress.refresh()
        assert "2 screenshots" in out.getvalue()
        progress.stage_finished("browse", "2 screenshots kept")
    assert "✓ browse" in out.getvalue() and "2 screenshots kept" in out.getvalue()


# -- real runs -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def walk(tmp_path_factory):
    """The browsing script played once against the demo shop, with --report: (data dir, JSON, stderr, report)."""
    root = tmp_path_factory.mktemp("browse-sources")
    (root / "walk.txt").write_text(WALK, encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:  # the function-scoped settings isolation does not reach here
        for name in [n for n in os.environ if n.startswith("INTERAREC_")]:
            mp.delenv(name)
        mp.setenv("INTERAREC_CONFIG", str(root / "none.toml"))
        code, payload, err = _run(mp, ["--script", str(root / "walk.txt"), "--data-dir", str(root / "data"),
                                       "--report", str(root / "walk.html"), "--json"])
    assert code == 0, err
    return root, payload, err


@requires_chromium
@pytest.mark.browser
def test_script_run_browses_and_recommends_from_what_it_saw(walk, capsys):
    root, payload, err = walk
    assert payload["frames"] >= 3 and payload["failed_steps"] == []
    recs = payload["recommendations"]
    assert len(recs) == 5 and payload["optimizer"]["status"] == "OPTIMAL"
    catalog = {p.id: p for p in load_products()}
    assert all(catalog[r["product_id"]].leaf_category == "Wrist Watches" for r in recs)
    assert {"setup", "browse", "summarise", "retrieve", "optimise", "total"} <= set(payload["timings"])
    # stderr off a terminal: one line per stage, then where the report is
    assert [line.split(":")[0] for line in err] == ["browse", "summarise", "constrain", "recommend", "report"]
    assert main(["sessions", "show", payload["session_id"], "--data-dir", str(root / "data"), "--json"]) == 0
    session = json.loads(capsys.readouterr().out)["session"]
    assert session["source"] == f"script:{root / 'walk.txt'}" and session["status"] == "complete"


@requires_chromium
@pytest.mark.browser
def test_report_page_holds_the_recommended_products(walk):
    root, payload, err = walk
    report = root / "walk.html"
    assert payload["report"] == str(report) and err[-1] == f"report: {report}"
    page = report.read_text(encoding="utf-8")
    for rec in payload["recommendations"]:
        assert html.escape(rec["title"]) in page or rec["title"] in page


@requires_chromium
@pytest.mark.browser
def test_an_imported_session_is_summarised_and_recommended_without_a_browser(walk, tmp_path, capsys,
                                                                               monkeypatch):
    root, payload, _ = walk
    data = ["--data-dir", str(root / "data"), "--json"]
    assert main(["sessions", "export", payload["session_id"], str(tmp_path / "shots"), *data]) == 0
    capsys.readouterr()
    assert main(["sessions", "import", str(tmp_path / "shots"), *data]) == 0
    imported = json.loads(capsys.readouterr().out)["session_id"]
    monkeypatch.setattr(cli_run, "start_shop", _forbidden)
    monkeypatch.setattr(pipeline, "browse_session", _forbidden)
    code, again, err = _run(monkeypatch, ["--session", imported, *data])
    assert code == 0 and again["session_id"] == imported
    assert [line.split(":")[0] for line in err] == ["summarise", "constrain", "recommend"]
    assert again["summary"]["frames_read"] == payload["summary"]["frames_read"]
    assert [r["product_id"] for r in again["recommendations"]] == [r["product_id"] for r in payload["recommendations"]]


@requires_chromium
@pytest.mark.browser
def test_a_followed_browser_is_recorded_then_recommended(walk, monkeypatch, capsys):
    """--cdp-url goes through capture's recorder; here a stand-in 'records' the walk's screenshots."""
    root, payload, _ = walk
    store = FrameStore(root / "data" / "frames")
    # What the real recorder stores: each screenshot with its address, scroll position and text layer.
    shots = [(Path(f.path).read_bytes(), f.url, f.scroll_y, store.text_layer(f))
             for f in store.frames(payload["session_id"], unique_only=True)]
    store.close()

    def record_cdp(cdp_url, frames, session_id, seconds, **kwargs):
        for data, url, scroll_y, layer in shots:
            frames.add(session_id, data, url=url, scroll_y=scroll_y, reason="cdp", text_layer=layer)
        return CaptureStats(captured=len(shots), kept=len(shots))

    monkeypatch.setattr("tools.capture.cdp_recorder.record_cdp", record_cdp)
    code, followed, err = _run(monkeypatch, ["--cdp-url", "http://127.0.0.1:9", "--seconds", "1",
                                             "--data-dir", str(root / "data"), "--json"])
    assert code == 0
    assert followed["capture"]["frames_kept"] == len(shots) and followed["frames"] == len(shots)
    assert "capture" in followed["timings"]
    assert any(line.startswith(f"capture: {len(shots)} screenshots") for line in err)
    assert [r["product_id"] for r in followed["recommendations"]] == \
        [r["product_id"] for r in payload["recommendations"]]

    monkeypatch.setattr("tools.capture.cdp_recorder.record_cdp", lambda *a, **k: CaptureStats())
    code, nothing, err = _run(monkeypatch, ["--cdp-url", "http://127.0.0.1:9", "--seconds", "1",
                                            "--data-dir", str(root / "data"), "--json"])
    assert code == 1 and nothing is None
    assert "nothing was recorded from http://127.0.0.1:9" in capsys.readouterr().err

"""`interarec sessions list|show|export|delete|import`, end to end through `agent.cli.main.main`."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from rich.console import Console

from agent.cli import render
from agent.cli.main import main
from agent.settings import load_settings


def _png(seed: int, tweak: bool = False) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    if tweak:  # a few pixels changed: a near-duplicate by perceptual hash
        pixels[5:8, 5:8] = 255 - pixels[5:8, 5:8]
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def shots(tmp_path) -> Path:
    folder = tmp_path / "shots"
    folder.mkdir()
    for name, data in [("shot10.png", _png(10)), ("shot2.png", _png(2)), ("shot3.png", _png(2, tweak=True)),
                       ("shot1.png", _png(1)), ("readme.txt", b"hello\n"), ("bad.png", b"\x89PNG\r\n\x1a\nxx")]:
        (folder / name).write_bytes(data)
    for i, name in enumerate(("shot1.png", "shot2.png", "shot3.png", "shot10.png")):
        os.utime(folder / name, (1_700_000_000 + i, 1_700_000_000 + i))
    return folder


@pytest.fixture
def consoles(monkeypatch):
    """Rich consoles writing to buffers (they hold the sys.stdout of import time, which capsys does not see)."""
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(render, "stdout", Console(file=out, width=200, color_system=None))
    monkeypatch.setattr(render, "stderr", Console(file=err, width=200, color_system=None))
    return out, err


def _json(capsys, argv: list[str]) -> tuple[int, object]:
    code = main([*argv, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else None


def _blob_files() -> list[Path]:
    return sorted(p for p in (load_settings().frames_path / "blobs").rglob("*") if p.is_file())


def _error_line(capsys) -> str:
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("interarec: error:")
    return lines[0]


def test_help_lists_the_actions(capsys):
    with pytest.raises(SystemExit) as excinfo:
        main(["sessions", "--help"])
    assert excinfo.value.code == 0
    out = capsys.readouterr().out
    for word in ("list", "show", "export", "delete", "import"):
        assert word in out


def test_import_list_show_export_delete_as_json(capsys, shots, tmp_path, consoles):
    code, imported = _json(capsys, ["sessions", "import", str(shots)])
    assert code == 0
    session_id = imported["session_id"]
    assert (imported["imported"], imported["kept"], imported["duplicates"]) == (4, 3, 1)
    assert {s["name"] for s in imported["skipped"]} == {"readme.txt", "bad.png"}
    assert all(s["reason"] for s in imported["skipped"])
    err = consoles[1].getvalue()
    assert "skipped readme.txt" in err and "skipped bad.png" in err  # reasons go to stderr as well

    code, listed = _json(capsys, ["sessions", "list"])
    assert code == 0
    assert [(s["session_id"], s["source"], s["status"], s["frames"], s["kept"], s["duplicates"])
            for s in listed] == [(session_id, f"import:{shots}", "complete", 4, 3, 1)]
    assert listed[0]["created_at"] > 0

    code, shown = _json(capsys, ["sessions", "show", session_id])
    assert code == 0
    assert shown["session"]["session_id"] == session_id
    frames = shown["frames"]
    assert [f["sequence"] for f in frames] == [0, 1, 2, 3]
    assert [f["captured_at"] for f in frames] == [1_700_000_000, 1_700_000_001, 1_700_000_002, 1_700_000_003]
    assert [f["duplicate_of"] for f in frames] == [None, None, f"{session_id}:1", None]
    assert {"reason", "url", "title", "scroll_y"} <= frames[0].keys()
    assert frames[0]["reason"] == "import"

    dest = tmp_path / "exported"
    code, exported = _json(capsys, ["sessions", "export", session_id, str(dest)])
    assert code == 0
    assert exported["files"] == ["00000.png", "00001.png", "00003.png"]
    assert (exported["copied"], exported["frames"]) == (3, 4)
    assert (dest / "00003.png").read_bytes() == (shots / "shot10.png").read_bytes()
    assert len((dest / "frames.jsonl").read_text().splitlines()) == 4

    assert len(_blob_files()) == 3
    code, deleted = _json(capsys, ["sessions", "delete", session_id])
    assert code == 0
    assert deleted == {"session_id": session_id, "deleted": True, "files_removed": 3}
    assert _blob_files() == []
    assert _json(capsys, ["sessions", "list"]) == (0, [])


def test_delete_keeps_files_another_session_uses(capsys, shots, consoles):
    _, first = _json(capsys, ["sessions", "import", str(shots)])
    _, second = _json(capsys, ["sessions", "import", str(shots)])
    assert first["session_id"] != second["session_id"]
    assert len(_blob_files()) == 3  # the same bytes are stored once

    code, deleted = _json(capsys, ["sessions", "delete", first["session_id"]])
    assert (code, deleted["files_removed"]) == (0, 0)
    assert len(_blob_files()) == 3
    code, shown = _json(capsys, ["sessions", "show", second["session_id"]])
    assert code == 0
    assert all(Path(f["path"]).is_file() for f in shown["frames"])

    code, deleted = _json(capsys, ["sessions", "delete", second["session_id"]])
    assert (code, deleted["files_removed"]) == (0, 3)
    assert _blob_files() == []


@pytest.mark.parametrize("action", [["show", "no-such-id"], ["delete", "no-such-id"],
                                    ["export", "no-such-id", "OUT"]])
def test_an_unknown_session_id_exits_2_with_one_line(capsys, tmp_path, action):
    argv = ["sessions", *[str(tmp_path / "out") if a == "OUT" else a for a in action]]
    assert main(argv) == 2
    assert "'no-such-id'" in _error_line(capsys)
    assert main([*argv, "--json"]) == 2
    assert "'no-such-id'" in _error_line(capsys)
    assert not (tmp_path / "out").exists()


def test_import_of_a_missing_folder_exits_2(capsys, tmp_path):
    assert main(["sessions", "import", str(tmp_path / "nowhere"), "--json"]) == 2
    assert "no such folder" in _error_line(capsys)
    assert _json(capsys, ["sessions", "list"]) == (0, [])


def test_export_into_a_non_empty_folder_exits_2(capsys, shots, tmp_path, consoles):
    _, imported = _json(capsys, ["sessions", "import", str(shots)])
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "x.txt").write_text("x")
    assert main(["sessions", "export", imported["session_id"], str(busy)]) == 2
    assert "not an empty folder" in _error_line(capsys)
    assert [p.name for p in busy.iterdir()] == ["x.txt"]


def test_tables_for_people(capsys, shots, tmp_path, consoles):
    out, err = consoles
    assert main(["sessions", "list"]) == 0
    assert "no sessions" in out.getvalue()

    assert main(["sessions", "import", str(shots)]) == 0
    lines = out.getvalue().splitlines()
    session_id = lines[1].strip()  # the new session id on a line of its own
    assert "4 imported (3 kept, 1 duplicates), 2 skipped" in lines[2]
    assert "readme.txt" in err.getvalue()

    out.truncate(0), out.seek(0)
    assert main(["sessions", "list"]) == 0
    table = out.getvalue()
    for text in (session_id, "complete", "import:", "duplicates"):
        assert text in table

    out.truncate(0), out.seek(0)
    assert main(["sessions", "show", session_id]) == 0
    shown = out.getvalue()
    assert f"{session_id}:1" in shown  # the duplicate's reference
    assert "import" in shown and "4 frames, 3 kept, 1 duplicates" in shown

    out.truncate(0), out.seek(0)
    assert main(["sessions", "export", session_id, str(tmp_path / "e")]) == 0
    assert "exported 3 image(s)" in out.getvalue()

    out.truncate(0), out.seek(0)
    assert main(["sessions", "delete", session_id]) == 0
    assert "3 image file(s) removed" in out.getvalue()
    assert capsys.readouterr().out == ""  # everything went through the rich console

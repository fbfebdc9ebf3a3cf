"""The `interarec` command line: listing personas, help, and usage errors that never start a browser."""

from __future__ import annotations

import json

import pytest

from agent.cli import run as cli_run
from agent.cli.main import main
from tools.capture.personas import PERSONAS


@pytest.fixture
def no_runtime(monkeypatch):
    """Fail the test if a command builds the runtime (catalog, browser config) or starts the shop."""

    def forbidden(*args, **kwargs):
        raise AssertionError("the command built the runtime / started the shop")

    monkeypatch.setattr(cli_run, "build_runtime", forbidden)
    monkeypatch.setattr(cli_run, "start_shop", forbidden)


def test_personas_list_json(capsys):
    assert main(["personas", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["name"] for row in rows] == list(PERSONAS)
    assert set(PERSONAS) == {row["name"] for row in rows}
    for row in rows:
        persona = PERSONAS[row["name"]]
        assert row["description"] == persona.description
        assert row["steps"] == len(persona.steps) > 0
        assert row["categories"] == persona.categories and row["categories"]
        assert row["budget"] and row["budget"][0] < row["budget"][1]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--help"], ["demo", "browse-and-recommend", "personas", "catalog", "shop"]),
        (["browse-and-recommend", "--help"], ["--persona", "--k", "--json", *PERSONAS]),
        (["catalog", "search", "--help"], ["--max-price", "--min-price", "--brand", "--category", "--min-rating"]),
        (["catalog", "ingest", "--help"], ["path", "--json"]),
    ],
)
def test_help(capsys, argv, expected):
    with pytest.raises(SystemExit) as excinfo:
        main(argv)
    assert excinfo.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: interarec")
    for word in expected:
        assert word in out


def test_missing_subcommand_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as excinfo:
        main([])
    assert excinfo.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_unknown_persona_exits_2_without_starting_a_browser(capsys, no_runtime):
    code = main(["browse-and-recommend", "--persona", "nobody"])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("interarec: error:")
    assert "'nobody'" in lines[0]
    for name in PERSONAS:
        assert name in lines[0]


def test_invalid_env_setting_exits_2_naming_the_variable(capsys, monkeypatch, no_runtime):
    monkeypatch.setenv("INTERAREC_K", "0")
    code = main(["catalog", "search", "watch", "--json"])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert "INTERAREC_K" in captured.err
    assert captured.err.startswith("interarec: error:")


def test_invalid_env_setting_is_reported_before_the_runtime_is_built(capsys, monkeypatch, no_runtime):
    monkeypatch.setenv("INTERAREC_K", "0")
    assert main(["browse-and-recommend", "--persona", "watch-buyer", "--json"]) == 2
    assert "INTERAREC_K" in capsys.readouterr().err


def test_invalid_flag_exits_2_naming_the_flag(capsys, no_runtime):
    assert main(["demo", "--k", "0", "--json"]) == 2
    err = capsys.readouterr().err
    assert "--k" in err and "INTERAREC_K" in err


def test_malformed_config_file_exits_2(capsys, monkeypatch, tmp_path, no_runtime):
    config = tmp_path / "config.toml"
    config.write_text("k = = 3\n", encoding="utf-8")
    monkeypatch.setenv("INTERAREC_CONFIG", str(config))
    assert main(["catalog", "search", "watch", "--json"]) == 2
    assert str(config) in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["recommend", "--session", "nope"], ["summarize", "nope"],
                                  ["sessions", "show", "nope"]])
def test_unknown_session_ids_exit_2_with_a_pointer_to_the_list(argv, capsys):
    assert main(argv) == 2
    assert "interarec sessions list" in capsys.readouterr().err

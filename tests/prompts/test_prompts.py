"""Prompt snapshots: a change to a prompt's text shows up here and must be accepted on purpose
(re-run with UPDATE_SNAPSHOTS=1 and commit the new snapshot)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import prompts

SNAPSHOTS = Path(__file__).parent / "snapshots"
FIXED_VALUES = {
    "chat_system": {"personas": "watch-buyer, mug-gifter"},
    "chat_tool_retry": {"tool": "update_preferences", "error": "Expecting value at character 12"},
    "summarise_screens": {"frame_labels": "s:0, s:1", "schema": '{"type":"object"}'},
    "update_summary": {"previous_summary": '{"brand_preferences":[{"value":"Maxima","frame_ids":["s:0"]}]}',
                       "frame_labels": "s:2, s:3", "schema": '{"type":"object"}'},
    "summarise_text_layer": {"frame_labels": "s:0, s:1", "schema": '{"type":"object"}'},
    "update_summary_text_layer": {
        "previous_summary": '{"brand_preferences":[{"value":"Maxima","frame_ids":["s:0"]}]}',
        "frame_labels": "s:2, s:3", "schema": '{"type":"object"}'},
}


@pytest.mark.parametrize("name", sorted(FIXED_VALUES))
def test_prompt_matches_its_snapshot(name):
    rendered = prompts.render(name, **FIXED_VALUES[name])
    snapshot = SNAPSHOTS / f"{name}.txt"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        snapshot.write_text(rendered, encoding="utf-8")
    assert rendered == snapshot.read_text(encoding="utf-8")


def test_every_prompt_has_a_snapshot_and_known_variables():
    names = sorted(p.stem for p in (Path(prompts.__file__).parent / "templates").glob("*.txt"))
    assert names == sorted(FIXED_VALUES)
    for name in names:
        assert prompts.variables(name) == set(FIXED_VALUES[name])
        assert len(prompts.prompt_hash(name)) == 12

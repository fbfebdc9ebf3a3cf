"""A chat turn through the real model (`interarec chat` with the endpoint as the chat model, a message piped in):
either the model calls the optimiser tool and its recommendations come back, or the turn falls back cleanly to the
local rules model. Either way the shopper gets recommendations, the answer says which model produced it, and the
turn is in the transcript."""

from __future__ import annotations

import json

from tests.real_model.conftest import names_local_model, run_cli

REQUEST = "show me analog watches for men under 2000 rupees"


def test_a_chat_turn_drives_the_optimiser_or_falls_back_to_the_local_rules(endpoint, use, tmp_path):
    use(endpoint.env())
    transcript = tmp_path / "chat.jsonl"
    code, out = run_cli(["chat", "--transcript", str(transcript)], stdin=REQUEST + "\n")
    assert code == 0, out
    assert "[chat model error]" not in out and "[stopped]" not in out, out
    turns = [json.loads(line) for line in transcript.read_text(encoding="utf-8").splitlines()]
    assert len(turns) == 1 and turns[0]["user"] == REQUEST
    turn = turns[0]
    optimised = any(c["name"] == "optimise" and c["status"] == "success" for c in turn["tool_calls"])
    answered = out.split(REQUEST, 1)[-1]  # what was written after the piped message: the answer
    fell_back = names_local_model(turn["answer"]) or names_local_model(answered)
    assert optimised or fell_back, turn
    assert turn["recommendations"], turn  # the shopper is shown products either way
    # The answer names the model that produced it: the endpoint's, or the local rules model after a fallback.
    assert endpoint.model in answered or fell_back, answered

"""The chat agent end to end on the demo shop: real Chromium browses as a persona, the offline reader summarises,
the optimiser recommends, and the conversation refines the list ("cheaper", "not <brand>", "why #1").

Two chat models drive the same conversation: the local rule-based model through `interarec chat` with piped
input (resumed across two processes by --session), and an OpenAI-compatible model, played by a fake server on
127.0.0.1 that answers with tool calls. Both share one data directory so the catalog is embedded once.
"""

from __future__ import annotations

import io
import json
import os
import statistics
from pathlib import Path

import pytest

from agent.cli.main import main
from tests.conftest import requires_chromium
from tests.fake_openai import FakeOpenAI, chat_completion, tool_calls_completion
from tools.recommend.preferences import CHEAPER_FACTOR

pytestmark = [requires_chromium, pytest.mark.browser]


# The fixtures data_dir and env come from tests/agent/conftest.py.


def _chat(monkeypatch, capsys, lines: list[str], *flags: str) -> tuple[int, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO("".join(f"{line}\n" for line in lines)))
    code = main(["chat", *flags])
    return code, capsys.readouterr().out


def _turns(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _prices(turn: dict) -> list[float]:
    return [r["price"] for r in turn["recommendations"]]


def test_scripted_chat_with_the_local_model_honours_every_request(env, monkeypatch, capsys, tmp_path):
    transcript = tmp_path / "chat.jsonl"
    code, out = _chat(monkeypatch, capsys, ["browse as watch-buyer", "cheaper"],
                      "--session", "t-local", "--transcript", str(transcript))
    assert code == 0
    browse, cheaper = _turns(transcript)
    assert [c["name"] for c in browse["tool_calls"]] == ["browse"]
    assert len(browse["recommendations"]) == 5
    for rec in browse["recommendations"]:
        assert rec["title"] in out  # the answer shows what was recommended

    budget = CHEAPER_FACTOR * statistics.median(_prices(browse))
    assert cheaper["constraints"]["max_price"] == pytest.approx(budget)
    assert cheaper["recommendations"] and all(p <= budget for p in _prices(cheaper))
    assert "budget now up to" in cheaper["answer"]

    brand = cheaper["recommendations"][0]["brand"]
    code, out = _chat(monkeypatch, capsys, [f"not {brand}", "why #1"], "--session", "t-local",
                      "--transcript", str(transcript))
    assert code == 0
    _, _, without, why = _turns(transcript)
    assert without["turn"] == 3  # the thread was resumed from the checkpoint, not started again
    assert without["recommendations"]
    assert all(r["brand"] != brand for r in without["recommendations"])
    assert all(p <= budget for p in _prices(without))  # the earlier "cheaper" still holds
    assert f"no {brand}" in without["answer"]
    first = without["recommendations"][0]
    assert why["tool_calls"] == [{"name": "explain_product", "args": {"rank": 1}, "status": "success"}]
    assert f"Why #1 {first['title']}" in why["answer"] and "screenshots #" in why["answer"]
    assert why["constraints"]["exclude_brands"] == [brand] and why["constraints"]["max_price"] == budget


def test_a_bad_request_gets_a_clear_answer_and_the_chat_goes_on(env, monkeypatch, capsys, tmp_path):
    transcript = tmp_path / "bad.jsonl"
    code, out = _chat(monkeypatch, capsys, ["why #3", "not NoSuchBrandAtAll", "what is the weather"],
                      "--transcript", str(transcript))
    assert code == 0
    nothing, unknown_brand, weather = _turns(transcript)
    assert "nothing is on show yet" in nothing["answer"]
    assert "no brand 'nosuchbrandatall'" in unknown_brand["answer"]
    assert unknown_brand["tool_calls"][1]["status"] == "error"  # optimise was skipped, not run
    assert "did not understand" in weather["answer"]


def test_the_same_conversation_through_an_openai_compatible_tool_calling_model(env, monkeypatch):
    from agent.chat.graph import build_chat_graph
    from agent.chat.session import ChatSession
    from agent.chat.tools import ChatContext
    from agent.checkpointer import close_checkpointer, open_checkpointer
    from agent.settings import load_settings
    from agent.wiring import build_chat_model, build_runtime

    with FakeOpenAI([(200, tool_calls_completion([("browse", {"persona": "watch-buyer"})])),
                     (200, chat_completion("Here are five watches."))]) as fake:
        settings = load_settings(openai_base_url=fake.base_url, openai_api_key="test", chat_model="fake-chat")
        runtime = build_runtime(settings)
        ctx = ChatContext(runtime)
        checkpointer = open_checkpointer(settings)
        try:
            chat = ChatSession(build_chat_graph(ctx, build_chat_model(settings), checkpointer), "t-openai", 12)
            tokens: list[str] = []
            browse = chat.ask("browse as watch-buyer", on_token=tokens.append)
            assert "".join(tokens) == "Here are five watches."  # streamed from the endpoint
            assert len(browse.recommendations) == 5

            fake.script += [(200, tool_calls_completion([("update_preferences", {"cheaper": True}),
                                                         ("optimise", {})])),
                            (200, chat_completion("Cheaper ones."))]
            cheaper = chat.ask("cheaper")
            budget = CHEAPER_FACTOR * statistics.median(_prices({"recommendations": browse.recommendations}))
            assert all(r["price"] <= budget for r in cheaper.recommendations)

            brand = cheaper.recommendations[0]["brand"]
            fake.script += [(200, tool_calls_completion([("update_preferences", {"exclude_brands": [brand]}),
                                                         ("optimise", {})])),
                            (200, chat_completion("Without it.")),
                            (200, tool_calls_completion([("explain_product", {"rank": 1})])),
                            (200, chat_completion("Because it matches."))]
            without = chat.ask(f"not {brand}")
            assert without.recommendations and all(r["brand"] != brand for r in without.recommendations)
            assert all(r["price"] <= budget for r in without.recommendations)
            why = chat.ask("why #1")
            assert [c["name"] for c in why.tool_calls] == ["explain_product"]
        finally:
            ctx.close()
            close_checkpointer(checkpointer)
            runtime.close()

    first = fake.requests[0]["body"]
    assert first["model"] == "fake-chat" and first["stream"] is True
    assert {t["function"]["name"] for t in first["tools"]} >= {"browse", "optimise", "update_preferences"}
    assert first["messages"][0]["role"] == "system"
    # The tool result went back to the model under the id of the call that asked for it.
    second = fake.requests[1]["body"]["messages"]
    call_id = second[-2]["tool_calls"][0]["id"]
    assert second[-1]["role"] == "tool" and second[-1]["tool_call_id"] == call_id
    assert "recommendations" in json.loads(second[-1]["content"])
    # Memory: the last request carries the whole conversation.
    users = [m["content"] for m in fake.requests[-1]["body"]["messages"] if m["role"] == "user"]
    assert users == ["browse as watch-buyer", "cheaper", f"not {brand}", "why #1"]
    assert os.path.exists(env / "chat.sqlite")


def test_session_reranking_moves_what_other_shoppers_viewed_together_up(env, monkeypatch, tmp_path):
    """A click log in which every shopper who viewed two watches also viewed a third: re-ranking with a session
    model trained on it puts that third watch first, says why, and weight 0 puts the list back."""
    from langgraph.checkpoint.memory import InMemorySaver

    from agent.chat.graph import build_chat_graph
    from agent.chat.local_model import LocalChatModel
    from agent.chat.session import ChatSession
    from agent.chat.tools import ChatContext
    from agent.settings import load_settings
    from agent.wiring import build_runtime
    from tools.schemas import Constraints

    settings = load_settings()
    runtime = build_runtime(settings)
    ctx = ChatContext(runtime)
    try:
        watches = [h.product.id for h in runtime.store.search("analog wrist watch", limit=30)]
        viewed, partner = watches[:2], watches[-1]
        log = tmp_path / "clicks.csv"
        rows = ["session_id;user_id;item_id;timeframe;eventdate"]
        for s in range(12):  # the partner is seen with the viewed pair in every session
            day = f"2026-01-{1 + s:02d}"
            rows += [f"{s};NA;{item};{i};{day}" for i, item in enumerate([*viewed, partner, watches[2 + s % 5]])]
        log.write_text("\n".join(rows) + "\n")
        assert main(["session-model", "train", "--model", "sknn", "--data", str(log), "--out",
                     str(settings.session_model_file)]) == 0

        chat = ChatSession(build_chat_graph(ctx, LocalChatModel(), InMemorySaver()), "t-rerank", 12)
        chat.seed(viewed_product_ids=viewed, constraints=Constraints(
            k=5, query="analog wrist watch", categories=["Wrist Watches"]).model_dump())
        before = chat.ask("recommend").recommendations
        after = chat.ask("rerank with my session")
        assert after.tool_calls[0]["name"] == "rerank_with_session"
        assert after.recommendations[0]["product_id"] == partner != before[0]["product_id"]
        assert any("viewed together with this session's products" in r for r in after.recommendations[0]["reasons"])
        again = chat.ask("without my session")
        assert [r["product_id"] for r in again.recommendations] == [r["product_id"] for r in before]
    finally:
        ctx.close()
        runtime.close()

"""The local chat model: its rules map the documented requests to tool calls, and it says when it does not
understand; as a LangChain chat model it calls only bound tools and answers from tool results."""

from __future__ import annotations

import json

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from agent.chat.intents import EXAMPLES, HELP, plan
from agent.chat.local_model import LocalChatModel
from agent.chat.tools import TOOLS

# Requests about what to show go verbatim to update_preferences, whose parser knows the catalog
# (tests/recommend/test_request.py); the local model only tells them from the other tools' requests.
UPDATE_THEN_OPTIMISE = [
    "cheaper", "under 2000", "only Titan", "not Titan", "cheaper and not Sonata", "in black", "another colour",
    "rated 4+", "show me 10", "more like #2", "start over", "looking for coffee mugs under 500",
    "black leather wallet for my dad, under 1500", "brown and more premium", "what is the weather",
]


@pytest.mark.parametrize("text", UPDATE_THEN_OPTIMISE)
def test_preference_requests_go_verbatim_to_update_then_optimise(text):
    assert plan(text).calls == [("update_preferences", {"request": text}), ("optimise", {})]


@pytest.mark.parametrize(("text", "call"), [
    ("browse as perfume-lover", ("browse", {"persona": "perfume-lover"})),
    ("browse the shop", ("browse", {"persona": "watch-buyer"})),
    ("why #1", ("explain_product", {"rank": 1})),
    ("why did you pick number 3?", ("explain_product", {"rank": 3})),
    ("show #2", ("show_product", {"rank": 2})),
    ("search steel bottle", ("search_catalog", {"query": "steel bottle"})),
    ("recommend from session 20261129-Ab12", ("summarise_session", {"session_id": "20261129-Ab12"})),
    ("recommend", ("optimise", {})),
])
def test_other_requests_call_one_tool(text, call):
    assert plan(text).calls == [call]


def test_every_planned_tool_exists():
    for text in UPDATE_THEN_OPTIMISE:
        for name, arguments in plan(text).calls:
            TOOLS[name].args.model_validate(arguments)


def test_help_shows_free_sentences():
    assert "not an LLM" in HELP and EXAMPLES in HELP
    for sentence in ("black leather wallet for my dad, under 1500", "brown and more premium", "cheaper", "not Titan",
                     "more like #2", "start over"):
        assert sentence in EXAMPLES


def _advertised() -> list[str]:
    """Each request the help shows: the phrases before the two-space gap that starts the explanation."""
    lines = [line.strip() for line in EXAMPLES.splitlines()[1:]]
    return [phrase.strip() for line in lines for phrase in line.split("  ")[0].split("|")
            if "<" not in phrase]


def test_every_request_the_help_shows_is_one_the_model_acts_on():
    assert len(_advertised()) >= 15
    for phrase in _advertised():
        assert plan(phrase).calls, phrase  # a tool call, never the help or a refusal


def test_help_needs_no_tool():
    assert plan("help").reply == HELP


def _model():
    return LocalChatModel().bind_tools([tool.spec() for tool in TOOLS.values()])


def test_the_model_answers_a_request_with_tool_calls_and_unique_ids():
    reply = _model().invoke([HumanMessage("hi"), AIMessage("Hello"), HumanMessage("cheaper")])
    assert [c["name"] for c in reply.tool_calls] == ["update_preferences", "optimise"]
    assert len({c["id"] for c in reply.tool_calls}) == 2


def test_the_model_writes_its_answer_from_the_tool_results():
    result = {"constraints": "Wrist Watches", "status": "OPTIMAL", "unmet": [], "relaxation": None,
              "recommendations": [{"rank": 1, "product_id": "w1", "title": "Titan Neo", "brand": "Titan",
                                   "price": 1495.0, "currency": "INR", "score": 0.2}]}
    messages = [HumanMessage("recommend"),
                AIMessage("", tool_calls=[{"name": "optimise", "args": {}, "id": "c1"}]),
                ToolMessage(json.dumps(result), tool_call_id="c1", name="optimise")]
    reply = _model().invoke(messages)
    assert not reply.tool_calls
    assert "#1 Titan Neo (Titan), ₹1,495" in reply.content


def test_a_failed_tool_is_reported_not_hidden():
    messages = [HumanMessage("why #9"),
                AIMessage("", tool_calls=[{"name": "explain_product", "args": {"rank": 9}, "id": "c1"}]),
                ToolMessage(json.dumps({"error": "there is no product #9"}), tool_call_id="c1",
                            name="explain_product", status="error")]
    assert "I could not do that: there is no product #9" in _model().invoke(messages).content


def test_the_model_refuses_to_call_tools_it_was_not_given():
    reply = LocalChatModel().bind_tools([TOOLS["optimise"].spec()]).invoke([HumanMessage("why #1")])
    assert not reply.tool_calls and "explain_product" in reply.content


def test_the_answer_streams_word_by_word():
    chunks = list(_model().stream([HumanMessage("help")]))
    assert len(chunks) > 10
    assert "".join(str(c.content) for c in chunks) == HELP

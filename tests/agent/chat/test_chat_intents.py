"""The local chat model: its rules map the documented requests to tool calls, and it says when it does not
understand; as a LangChain chat model it calls only bound tools and answers from tool results."""

from __future__ import annotations

import json

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from agent.chat.intents import HELP, plan
from agent.chat.local_model import LocalChatModel
from agent.chat.tools import TOOLS

UPDATE_THEN_OPTIMISE = [
    ("cheaper", {"cheaper": True}),
    ("under 2000", {"max_price": 2000.0}),
    ("budget is now ₹2,500", {"max_price": 2500.0}),
    ("under 2k please", {"max_price": 2000.0}),
    ("over 500", {"min_price": 500.0}),
    ("only Titan", {"only_brands": ["titan"]}),
    ("not Titan", {"exclude_brands": ["titan"]}),
    ("forget brand Sonata", {"exclude_brands": ["sonata"]}),
    ("cheaper and not Sonata", {"cheaper": True, "exclude_brands": ["sonata"]}),
    ("in black", {"prefer_colours": ["black"]}),
    ("not red", {"exclude_colours": ["red"]}),
    ("another colour", {"another_colour": True}),
    ("rated 4+", {"min_rating": 4.0}),
    ("show me 10", {"k": 10}),
    ("more like #2", {"like_rank": 2}),
    ("start over", {"reset": True}),
    ("looking for coffee mugs under 500", {"max_price": 500.0, "query": "coffee mugs"}),
]


@pytest.mark.parametrize(("text", "arguments"), UPDATE_THEN_OPTIMISE)
def test_preference_requests_update_then_optimise(text, arguments):
    assert plan(text).calls == [("update_preferences", arguments), ("optimise", {})]


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
    for text, _ in UPDATE_THEN_OPTIMISE:
        for name, arguments in plan(text).calls:
            TOOLS[name].args.model_validate(arguments)


@pytest.mark.parametrize("text", ["what is the weather", "asdf"])
def test_unknown_requests_say_so_and_list_what_is_understood(text):
    step = plan(text)
    assert not step.calls
    assert "did not understand" in step.reply and "not an LLM" in step.reply


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

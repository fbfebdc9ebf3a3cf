"""The endpoint chat model's portability fixes, against the fake server: an empty stream is asked again without
streaming (llama.cpp answers a streamed request offering tools with no chunk at all)."""

from __future__ import annotations

from langchain_core.messages import HumanMessage

from agent.chat.endpoint_model import EndpointChatModel
from agent.chat.tools import TOOLS
from tests.fake_openai import FakeOpenAI, chat_completion, tool_calls_completion


def _model(fake: FakeOpenAI):
    model = EndpointChatModel(model="fake", base_url=fake.base_url, api_key="test", max_retries=0)
    return model.bind_tools([tool.spec() for tool in TOOLS.values()], tool_choice="auto")


def _streamed(bound, text: str):
    chunks = list(bound.stream([HumanMessage(text)]))
    message = chunks[0]
    for chunk in chunks[1:]:
        message = message + chunk
    return message


def test_an_empty_stream_is_asked_again_without_streaming_and_keeps_its_tool_calls():
    call = tool_calls_completion([("update_preferences", {"request": "wallets"}), ("optimise", {})])
    with FakeOpenAI([(200, call, {"empty_stream": True}), (200, call)]) as fake:
        message = _streamed(_model(fake), "wallets")
        assert [c["name"] for c in message.tool_calls] == ["update_preferences", "optimise"]
        assert message.tool_calls[0]["args"] == {"request": "wallets"}
        assert [r["body"].get("stream", False) for r in fake.requests] == [True, False]


def test_a_stream_that_answers_is_not_asked_twice():
    with FakeOpenAI([(200, chat_completion("Hello."))]) as fake:
        assert _streamed(_model(fake), "hi").content == "Hello."
        assert len(fake.requests) == 1

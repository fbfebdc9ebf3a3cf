"""The chat agent with a model endpoint that behaves as small local models and real servers do: tool calls whose
arguments do not parse, prose where a tool call was expected, a server killed mid-request or stalled. What a user
relies on: the answer still comes, with the recommendations, it says which model produced it, and the thread
stays whole for the next turn."""

from __future__ import annotations

import json

import openai
import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver

from agent.chat.graph import build_chat_graph
from agent.chat.session import ChatSession
from agent.chat.tools import ChatContext
from agent.settings import load_settings
from agent.wiring import build_chat_model, build_runtime
from tests.fake_openai import FakeOpenAI, chat_completion, error, tool_call_completion, tool_calls_completion

REQUEST = "black leather wallet for my dad, under 1500"
BROKEN = '{"request": black leather wallet}'  # what a 135M model writes: not JSON, even read leniently
LOCAL = "answered by the local rules model: fake-chat"


@pytest.fixture(scope="module")
def runtime(tmp_path_factory):
    runtime = build_runtime(load_settings(data_dir=tmp_path_factory.mktemp("fallback-data")))
    yield runtime
    runtime.close()


@pytest.fixture
def chat(runtime):
    """A chat over the demo catalog with the fake endpoint's model: ``chat(server, timeout=...)``."""
    contexts: list[ChatContext] = []

    def start(server: FakeOpenAI, timeout: float = 10, saver: InMemorySaver | None = None,
              thread: str = "t-fallback") -> ChatSession:
        settings = load_settings(openai_base_url=server.base_url, openai_api_key="test", chat_model="fake-chat",
                                 request_timeout_s=timeout)
        contexts.append(ChatContext(runtime))
        graph = build_chat_graph(contexts[-1], build_chat_model(settings), saver or InMemorySaver())
        return ChatSession(graph, thread, 12)

    yield start
    for ctx in contexts:
        ctx.close()


def _wallets(turn) -> None:  # noqa: ANN001
    """The local rules model's answer to REQUEST: wallets within the budget."""
    assert turn.recommendations and all(r["price"] <= 1500 for r in turn.recommendations)
    assert all("wallet" in r["title"].lower() for r in turn.recommendations)


def _broken(arguments: str = BROKEN) -> tuple[int, dict]:
    return 200, tool_call_completion(arguments, name="update_preferences")


def test_a_call_that_does_not_parse_twice_is_answered_by_the_local_rules_model_and_says_so(chat):
    with FakeOpenAI([_broken(), _broken(), (200, chat_completion("Hello again!"))]) as server:
        session = chat(server)
        tokens: list[str] = []
        turn = session.ask(REQUEST, on_token=tokens.append)
        _wallets(turn)
        assert turn.answer.rstrip().endswith(f"({LOCAL} sent a tool call that did not parse, twice)")
        assert LOCAL in "".join(tokens)  # streamed with the answer
        assert [c["name"] for c in turn.tool_calls] == ["update_preferences", "optimise"]
        # the parse error went back to the model as the result of its call, under the call's id
        retry = server.requests[1]["body"]["messages"]
        assert retry[-1]["role"] == "user"
        assert "not valid JSON (Expecting value at character 12)" in retry[-1]["content"]
        assert retry[-2]["role"] == "tool" and retry[-2]["content"] == retry[-1]["content"]
        assert retry[-3]["role"] == "assistant" and retry[-3]["tool_calls"][0]["function"]["arguments"] == BROKEN
        assert retry[-2]["tool_call_id"] == retry[-3]["tool_calls"][0]["id"]
        # the next turn goes to the model again, and the thread it is sent is whole: every call has its result,
        # and the user-role copy of the error is not in it
        hello = session.ask("hello")
        assert hello.answer == "Hello again!"
        sent = server.requests[2]["body"]["messages"]
        calls = {c["id"] for m in sent if m["role"] == "assistant" for c in m.get("tool_calls") or []}
        assert calls == {m["tool_call_id"] for m in sent if m["role"] == "tool"}
        assert [m["content"] for m in sent if m["role"] == "user"] == [REQUEST, "hello"]
    assert len(server.requests) == 3


def test_a_call_that_parses_on_the_retry_drives_the_tools_and_the_model_answers(chat):
    script = [_broken(), (200, tool_calls_completion([("update_preferences", {"request": REQUEST}), ("optimise", {})])),
              (200, chat_completion("Five black wallets."))]
    with FakeOpenAI(script) as server:
        turn = chat(server).ask(REQUEST)
    _wallets(turn)
    assert turn.answer == "Five black wallets."  # the model's own answer: no fallback line
    assert [(c["name"], c["status"]) for c in turn.tool_calls] == [("update_preferences", "success"),
                                                                 ("optimise", "success")]


def test_prose_where_a_tool_call_was_expected_is_answered_by_the_local_rules_model(chat):
    prose = "Sure! Wallets are a great gift. What else would you like to know?"
    with FakeOpenAI([(200, chat_completion(prose)), (200, chat_completion("Hi! Ask me for something."))]) as server:
        session = chat(server)
        turn = session.ask(REQUEST)
        _wallets(turn)
        assert prose not in turn.answer
        assert turn.answer.rstrip().endswith(f"({LOCAL} answered in prose where a tool call was expected)")
        greeting = session.ask("hello")  # nothing the rules would call a tool for: the model's prose stands
        server.script.append((200, chat_completion("Yes, still here.")))
        chatter = session.ask("are you there")  # the rules would call a tool, but read nothing in it
    assert greeting.answer == "Hi! Ask me for something." and greeting.recommendations == turn.recommendations
    assert chatter.answer == "Yes, still here."
    assert len(server.requests) == 3


def test_a_server_killed_mid_request_or_failing_is_answered_by_the_local_rules_model(chat):
    killed = [(200, {}, {"drop": True})] * 4  # the client's retries: 4 attempts
    failing = [(500, error("llama_decode failed"), {"headers": {"retry-after-ms": "10"}})] * 4
    with FakeOpenAI(killed + failing) as server:
        session = chat(server)
        first = session.ask(REQUEST)
        second = session.ask("cheaper")
    _wallets(first)
    assert f"({LOCAL} could not be reached or broke off its answer" in first.answer
    assert f"({LOCAL} failed with HTTP 500" in second.answer
    assert second.recommendations and all(r["price"] <= 1500 for r in second.recommendations)
    assert len(server.requests) == 8


def test_a_server_that_stalls_mid_answer_is_given_up_at_the_timeout(chat):
    # the first chunk of the answer, then nothing: the read timeout ends it (a stream is not retried)
    script = [(200, tool_calls_completion([("update_preferences", {"request": REQUEST}), ("optimise", {})])),
              (200, chat_completion("Here are"), {"stall_after_first": 5})]
    with FakeOpenAI(script) as server:
        turn = chat(server, timeout=1).ask(REQUEST)
    _wallets(turn)  # the tools the model called ran; the rules wrote the answer from their results
    assert [c["status"] for c in turn.tool_calls] == ["success", "success"]
    assert "wallet" in turn.answer.lower() and f"({LOCAL} did not answer in time" in turn.answer
    assert len(server.requests) == 2


def test_the_checkpoint_keeps_the_failed_attempts_and_a_resumed_chat_goes_on(chat):
    saver = InMemorySaver()
    with FakeOpenAI([_broken(), _broken(), (200, chat_completion("Still here."))]) as server:
        chat(server, saver=saver, thread="t-resume").ask(REQUEST)
        resumed = chat(server, saver=saver, thread="t-resume")
        messages = resumed.state["messages"]
        assert [type(m) for m in messages[:5]] == [HumanMessage, AIMessage, ToolMessage, AIMessage, ToolMessage]
        assert messages[1].invalid_tool_calls and messages[2].status == "error"
        assert resumed.state["fallback"].endswith("did not parse, twice")
        assert resumed.ask("hello").answer == "Still here." and resumed.state["fallback"] is None


def test_a_wrong_key_is_raised_for_the_user_to_fix_not_hidden_by_the_fallback(chat):
    with FakeOpenAI([(401, error("Incorrect API key provided"))]) as server, \
            pytest.raises(openai.AuthenticationError):
        chat(server).ask(REQUEST)


def test_without_a_fallback_a_bad_call_is_the_models_answer_as_before(runtime):
    from tests.agent.chat.test_chat_graph import ScriptedModel

    bad = AIMessage("", invalid_tool_calls=[{"name": "optimise", "args": "{", "id": "x", "error": "bad",
                                             "type": "invalid_tool_call"}])
    graph = build_chat_graph(ChatContext(runtime), ScriptedModel(script=[bad], seen=[]), InMemorySaver(),
                             fallback=None)
    turn = ChatSession(graph, "t-none", 12).ask(REQUEST)
    assert turn.tool_calls == [] and turn.recommendations == []
    assert json.dumps(turn.answer) == '""'

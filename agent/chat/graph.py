"""The conversational agent as a LangGraph graph: model -> tools -> model ... until the model answers.

The state holds the conversation and the shopping context (the session read, its summary, the preferences as
Constraints, the list on show); a checkpointer keeps it per thread, so a chat can be resumed. Tool calls run
in order; a failing call turns into an error result for the model and skips the calls after it.

An LLM's turn can go wrong in ways the local rules model's cannot, and each is handled so that the answer still
comes and says which model wrote it:
- a tool call whose arguments do not parse (LangChain puts it in ``AIMessage.invalid_tool_calls``) is answered
  with the parse error as the tool's result (``prompts/templates/chat_tool_retry.txt``) and the model is asked
  once more (the error is repeated as a user-role line in that request only: llama-cpp-python's tool-calling
  chat format does not show the model a tool result, and at temperature 0 the same prompt gives the same call);
  a second bad call hands the turn to the fallback;
- the endpoint failing after its client's retries (down, killed mid-answer, stalled past the timeout, HTTP 5xx,
  an answer that is not a chat completion) hands the turn to the fallback; a wrong key, model name or URL
  (HTTP 401, 403, 404) is raised, for the user to fix;
- a first answer in prose to a message the local rules would answer with a tool call hands the turn to the
  fallback too: a prose answer without tool results names no product from the catalog, which is what the
  shopper asked for. The rules pass every message but greetings and help to ``update_preferences``; for those
  the fallback is taken only when the request parser reads something in it (a type, colour, budget, brand, "I
  need ...": ``_expects_tool``), so prose to "thanks" or "are you there" stays the model's answer.
The fallback (the local rules model by default) answers the rest of the turn from the messages without the
failed attempts; its answer ends with a line "answered by the local rules model: <why>". The failed attempts
stay in the thread (each bad call with its error result), so the checkpoint holds everything that was said; the
next turn goes to the LLM again.
"""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any, TypedDict

import httpx
import openai
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage, ToolMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages

from agent.chat.intents import plan
from agent.chat.local_model import LocalChatModel
from agent.chat.tools import TOOLS, ChatContext, ToolError, run_tool
from catalog.store import CatalogError
from prompts import render
from tools.capture.browser import BrowserError
from tools.capture.frames import FrameStoreError
from tools.capture.personas import PERSONAS
from tools.perception.summariser import SummariserError
from tools.recommend.optimizer import OptimizerError
from tools.recommend.request import parse

log = logging.getLogger(__name__)

MAX_HISTORY = 40  # messages sent to the model; older turns stay in the checkpoint but are not re-sent
# Failures a user can cause or fix (bad ids, a browser that died, an endpoint down): reported, not raised.
_REPORTED = (ToolError, FrameStoreError, BrowserError, SummariserError, OptimizerError, CatalogError)


class ChatState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    session_id: str | None
    summary: dict[str, Any] | None
    base_constraints: dict[str, Any] | None
    constraints: dict[str, Any] | None
    asked: dict[str, Any] | None  # what the shopper asked for in words, turn by turn (tools/recommend/requested.py)
    viewed_product_ids: list[str]
    recommendations: list[dict[str, Any]]
    optimizer: dict[str, Any] | None
    session_weight: float  # > 0 once the shopper asked for session re-ranking
    fallback: str | None  # why the fallback model answers the rest of this turn; None: the chat model does


_DEFAULT = object()
# What an endpoint does when it is faulty rather than misconfigured: the turn goes to the fallback model.
_MISCONFIGURED = (openai.AuthenticationError, openai.PermissionDeniedError, openai.NotFoundError)
_ENDPOINT_FAULTS = (openai.OpenAIError, httpx.HTTPError, ValueError)  # ValueError: no chat completion came back


def _recent(messages: list[AnyMessage]) -> list[AnyMessage]:
    """The last MAX_HISTORY messages, starting at a user message so no tool result loses its call."""
    if len(messages) <= MAX_HISTORY:
        return messages
    tail = messages[-MAX_HISTORY:]
    start = next((i for i, m in enumerate(tail) if isinstance(m, HumanMessage)), len(tail) - 1)
    return tail[start:]


def model_name(model: BaseChatModel) -> str:
    return getattr(model, "model_name", None) or getattr(model, "model", None) or model._llm_type


def _fault(name: str, exc: Exception) -> str:
    """Why the endpoint failed, in a few words."""
    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException):
        return f"{name} did not answer in time"
    if isinstance(exc, openai.APIConnectionError | httpx.TransportError):
        return f"{name} could not be reached or broke off its answer"
    if isinstance(exc, openai.APIStatusError):
        return f"{name} failed with HTTP {exc.status_code}"
    if isinstance(exc, ValueError):
        return f"{name} answered with something that is not a chat completion"
    return f"{name} failed ({type(exc).__name__})"


def _parse_error(call: dict) -> str:
    """Why a call's arguments do not parse (a streamed call comes without the error: parse it again)."""
    if call.get("error"):
        return str(call["error"]).splitlines()[0][:200]
    try:
        json.loads(call.get("args") or "")
    except json.JSONDecodeError as exc:
        return f"{exc.msg} at character {exc.pos}"
    return "not a JSON object"


def _answer_bad_calls(reply: AIMessage) -> tuple[AIMessage, list[ToolMessage]]:
    """``reply`` with an id on every call, and a tool result for each: the parse error for a call that did not
    parse, 'not run' for a good call beside it (every call of a message needs its result)."""
    bad = [{**c, "id": c.get("id") or f"invalid-{i}"} for i, c in enumerate(reply.invalid_tool_calls)]
    reply = reply.model_copy(update={"invalid_tool_calls": bad})
    results = [ToolMessage(render("chat_tool_retry", tool=c.get("name") or "the tool", error=_parse_error(c)),
                           tool_call_id=c["id"], name=c.get("name") or "", status="error") for c in bad]
    results += [ToolMessage(json.dumps({"skipped": "not run: another call of the same message did not parse"}),
                            tool_call_id=c["id"], name=c["name"], status="error") for c in reply.tool_calls]
    return reply, results


def _without_failed_attempts(messages: list[AnyMessage]) -> list[AnyMessage]:
    """The conversation as the fallback model reads it: without bad calls and their results."""
    failed = {c["id"] for m in messages if isinstance(m, AIMessage) and m.invalid_tool_calls
              for c in [*m.tool_calls, *m.invalid_tool_calls]}
    return [m for m in messages if not (isinstance(m, AIMessage) and m.invalid_tool_calls)
            and not (isinstance(m, ToolMessage) and m.tool_call_id in failed)]


def _expects_tool(ctx: ChatContext, text: str) -> bool:
    """Whether the local rules would answer ``text`` with a tool call that reads something in it."""
    calls = plan(text).calls
    if not calls or calls[0][0] != "update_preferences":
        return bool(calls)
    try:
        terms = ctx.terms
    except AttributeError:  # a context without a runtime (tests of the graph alone): no parser to ask
        return True
    read = parse(text, terms)
    return read.understood() or read.asks or read.product_type is not None


def _last_user(messages: list[AnyMessage]) -> str:
    return next((str(m.content) for m in reversed(messages) if isinstance(m, HumanMessage)), "")


def build_chat_graph(ctx: ChatContext, model: BaseChatModel, checkpointer: Any = None, fallback: Any = _DEFAULT):
    """The graph over ``model``; ``fallback`` answers the turns it fails (default: the local rules model, unless
    ``model`` is that model; None: no fallback, failures are raised)."""
    specs = [tool.spec() for tool in TOOLS.values()]
    # tool_choice "auto" said outright: OpenAI assumes it, but llama.cpp's chatml-function-calling shows the
    # model the tools only when a request names a tool_choice (docs/local-model.md)
    bound = model.bind_tools(specs, tool_choice="auto")
    if fallback is _DEFAULT:
        fallback = None if isinstance(model, LocalChatModel) else LocalChatModel()
    standby = fallback.bind_tools(specs) if fallback is not None else None
    name = model_name(model)
    system = SystemMessage(render("chat_system", personas=", ".join(PERSONAS)))

    def ask_model(messages: list[AnyMessage], first_step: bool) -> tuple[list[AnyMessage], str | None]:
        """The chat model's reply (after one retry of a call that did not parse), and why the fallback must
        answer instead, if it must."""
        history = [system, *_recent(messages)]
        said: list[AnyMessage] = []
        nudge: list[AnyMessage] = []  # the parse error again as a user-role line, in the retry's request only
        for attempt in (1, 2):
            try:
                reply = bound.invoke([*history, *said, *nudge])
            except _MISCONFIGURED:
                raise
            except _ENDPOINT_FAULTS as exc:
                if standby is None:
                    raise
                return said, f"{_fault(name, exc)}: {str(exc).splitlines()[0][:160] if str(exc) else ''}".rstrip(": ")
            if reply.invalid_tool_calls and standby is not None:
                reply, results = _answer_bad_calls(reply)
                said += [reply, *results]
                # servers that do not show a model its tools' results (llama-cpp-python's tool-calling format)
                # would send the same prompt again, and at temperature 0 get the same call
                nudge = [HumanMessage(results[0].content)]
                if attempt == 2:
                    return said, f"{name} sent a tool call that did not parse, twice"
                continue
            said.append(reply)
            if first_step and standby is not None and not reply.tool_calls and _expects_tool(ctx, _last_user(messages)):
                return said, f"{name} answered in prose where a tool call was expected"
            return said, None
        raise AssertionError("unreachable")

    def agent(state: ChatState) -> ChatState:
        messages = state["messages"]
        first_step = isinstance(messages[-1], HumanMessage)
        reason = None if first_step else state.get("fallback")
        said: list[AnyMessage] = []
        if reason is None:
            said, reason = ask_model(messages, first_step)
            if reason is None:
                return {"messages": said, "fallback": None}
            log.warning("chat: %s; the local rules model answers this turn", reason)
        assert standby is not None
        signature = f"answered by the local rules model: {reason}"
        reply = standby.invoke(_without_failed_attempts([*messages, *said]), signature=signature)
        return {"messages": [*said, reply], "fallback": reason}

    def act(state: ChatState) -> ChatState:
        call_message = state["messages"][-1]
        working: dict[str, Any] = dict(state)
        changed: dict[str, Any] = {}
        replies: list[ToolMessage] = []
        failed = ""
        for call in call_message.tool_calls:
            if failed:
                result, status = {"skipped": f"not run because {failed} failed"}, "error"
            else:
                try:
                    result, update = run_tool(ctx, working, call["name"], call.get("args") or {})
                    working.update(update)
                    changed.update(update)
                    status = "success"
                except _REPORTED as exc:
                    result, status, failed = {"error": str(exc).splitlines()[0]}, "error", call["name"]
            replies.append(ToolMessage(content=json.dumps(result, ensure_ascii=False, default=str),
                                       tool_call_id=call["id"], name=call["name"], status=status))
        return {**changed, "messages": replies}

    def route(state: ChatState) -> str:
        last = state["messages"][-1]
        return "act" if isinstance(last, AIMessage) and last.tool_calls else END

    graph = StateGraph(ChatState)
    graph.add_node("agent", agent)
    graph.add_node("act", act)
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", route, ["act", END])
    graph.add_edge("act", "agent")
    return graph.compile(checkpointer=checkpointer)

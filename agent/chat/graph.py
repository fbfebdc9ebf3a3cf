"""The conversational agent as a LangGraph graph: model -> tools -> model ... until the model answers.

The state holds the conversation and the shopping context (the session read, its summary, the preferences as
Constraints, the list on show); a checkpointer keeps it per thread, so a chat can be resumed. Tool calls run
in order; a failing call turns into an error result for the model and skips the calls after it.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, TypedDict

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage, ToolMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages

from agent.chat.tools import TOOLS, ChatContext, ToolError, run_tool
from catalog.store import CatalogError
from prompts import render
from tools.capture.browser import BrowserError
from tools.capture.frames import FrameStoreError
from tools.capture.personas import PERSONAS
from tools.perception.summariser import SummariserError
from tools.recommend.optimizer import OptimizerError

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


def _recent(messages: list[AnyMessage]) -> list[AnyMessage]:
    """The last MAX_HISTORY messages, starting at a user message so no tool result loses its call."""
    if len(messages) <= MAX_HISTORY:
        return messages
    tail = messages[-MAX_HISTORY:]
    start = next((i for i, m in enumerate(tail) if isinstance(m, HumanMessage)), len(tail) - 1)
    return tail[start:]


def build_chat_graph(ctx: ChatContext, model: BaseChatModel, checkpointer: Any = None):
    bound = model.bind_tools([tool.spec() for tool in TOOLS.values()])
    system = SystemMessage(render("chat_system", personas=", ".join(PERSONAS)))

    def agent(state: ChatState) -> ChatState:
        return {"messages": [bound.invoke([system, *_recent(state["messages"])])]}

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

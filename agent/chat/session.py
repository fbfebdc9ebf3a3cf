"""One chat thread: send a user message through the agent graph, stream what happens, record the turn.

A turn's record (one JSON line of the transcript) holds the user's text, the tool calls with their arguments
and outcome, the answer, and the recommendations and preferences after the turn.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.errors import GraphRecursionError


class ChatError(RuntimeError):
    """A turn could not be completed (step limit, model endpoint failure)."""


@dataclass
class Turn:
    thread: str
    turn: int
    user: str
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    answer: str = ""
    recommendations: list[dict[str, Any]] = field(default_factory=list)
    constraints: dict[str, Any] | None = None
    seconds: float = 0.0


class _Tokens(BaseCallbackHandler):
    """Hands the chat model's answer to ``on_token`` as it streams. Its ``tap_output_*`` methods make LangChain
    count it as a streaming handler, so the model streams just as under LangGraph's "messages" mode. That mode is
    not used: it runs every node in a worker thread, where Ctrl-C cannot reach, so an interrupt would wait for
    the tool call under way (a browse: a minute) to end. Here each step runs in the caller's thread."""

    def __init__(self, on_token: Callable[[str], None]) -> None:
        self.on_token = on_token

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        if token:
            self.on_token(token)

    def tap_output_iter(self, run_id: Any, output: Any) -> Any:
        return output

    def tap_output_aiter(self, run_id: Any, output: Any) -> Any:
        return output


def new_thread_id() -> str:
    return time.strftime("chat-%Y%m%d-%H%M%S-") + secrets.token_hex(2)


class ChatSession:
    def __init__(self, graph: Any, thread_id: str, max_steps: int, transcript: Path | None = None) -> None:
        self.graph = graph
        self.thread_id = thread_id
        self.config = {"configurable": {"thread_id": thread_id}, "recursion_limit": max_steps}
        self.transcript = transcript

    @property
    def state(self) -> dict[str, Any]:
        return self.graph.get_state(self.config).values

    def turns_so_far(self) -> int:
        return sum(isinstance(m, HumanMessage) for m in self.state.get("messages", []))

    def seed(self, **values: Any) -> None:
        """Put shopping context (e.g. the screenshot session to read) into a new thread."""
        self.graph.update_state(self.config, values)

    def ask(self, text: str, on_token: Callable[[str], None] = lambda _: None,
            on_tool: Callable[[str, dict], None] = lambda *_: None) -> Turn:
        started = time.perf_counter()
        number = self.turns_so_far() + 1
        try:
            for data in self.graph.stream({"messages": [HumanMessage(text)]},
                                          {**self.config, "callbacks": [_Tokens(on_token)]}, stream_mode="updates"):
                if "agent" in data:
                    for call in data["agent"]["messages"][-1].tool_calls:
                        on_tool(call["name"], call["args"])
        except GraphRecursionError as exc:
            self._close_dangling("stopped: the turn took more steps than chat_max_steps allows")
            raise ChatError(f"the chat model took more than {self.config['recursion_limit']} steps for one turn; "
                            "stopped (raise INTERAREC_CHAT_MAX_STEPS if it was making progress)") from exc
        except KeyboardInterrupt:
            self._close_dangling("interrupted by the user")
            raise
        turn = self._record(number, text, time.perf_counter() - started)
        if self.transcript is not None:
            self.transcript.parent.mkdir(parents=True, exist_ok=True)
            with self.transcript.open("a", encoding="utf-8") as out:
                out.write(json.dumps(asdict(turn), ensure_ascii=False, default=str) + "\n")
        return turn

    def _record(self, number: int, text: str, seconds: float) -> Turn:
        state = self.state
        messages = state.get("messages", [])
        start = max(i for i, m in enumerate(messages) if isinstance(m, HumanMessage))
        outcome = {m.tool_call_id: m for m in messages[start:] if isinstance(m, ToolMessage)}
        calls, answer = [], ""
        for message in messages[start + 1:]:
            if isinstance(message, AIMessage):
                for call in message.tool_calls:
                    result = outcome.get(call["id"])
                    calls.append({"name": call["name"], "args": call["args"],
                                  "status": result.status if result else "not run"})
                if message.content and not message.tool_calls:
                    answer = str(message.content)
        return Turn(thread=self.thread_id, turn=number, user=text, tool_calls=calls, answer=answer,
                    recommendations=state.get("recommendations") or [], constraints=state.get("constraints"),
                    seconds=round(seconds, 3))

    def _close_dangling(self, reason: str) -> None:
        """After an aborted turn, answer any tool call left open so the thread stays valid for the next turn."""
        messages = self.state.get("messages", [])
        if not messages or not isinstance(messages[-1], AIMessage) or not messages[-1].tool_calls:
            if messages and isinstance(messages[-1], ToolMessage):
                self.graph.update_state(self.config, {"messages": [AIMessage(reason)]}, as_node="agent")
            return
        closing = [ToolMessage(json.dumps({"error": reason}), tool_call_id=c["id"], name=c["name"], status="error")
                   for c in messages[-1].tool_calls]
        self.graph.update_state(self.config, {"messages": [*closing, AIMessage(reason)]}, as_node="agent")

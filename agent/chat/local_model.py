"""A deterministic local chat model for offline use: a LangChain chat model whose "understanding" is the rules
of agent/chat/intents.py and whose answers are the templates of agent/chat/answers.py. It is not an LLM.

It plays the same part an LLM would in the agent: after a user message it answers with tool calls (or a
direct reply); after the tool results it writes the answer. It only ever calls tools bound with
``bind_tools``, and streams its answer word by word so the terminal shows the same streaming path.

As the fallback of an LLM that failed a turn (agent/chat/graph.py), it is invoked with ``signature``: a line its
written answers end with, saying which model answered and why (tool-call replies carry none).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool

from agent.chat.answers import answer
from agent.chat.intents import plan

BACKEND_NAME = "local-rules-chat (deterministic rules and templates; not an LLM)"


def _tool_name(tool: Any) -> str:
    return convert_to_openai_tool(tool)["function"]["name"]


class LocalChatModel(BaseChatModel):
    """Rule-based tool calling; see the module docstring."""

    @property
    def _llm_type(self) -> str:
        return "interarec-local-rules"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any):  # noqa: ANN201 - a Runnable, as LangChain's
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)

    def _reply(self, messages: list[BaseMessage], tools: list[dict] | None, signature: str = "") -> AIMessage:
        reply = self._plain_reply(messages, tools)
        if signature and not reply.tool_calls:
            return AIMessage(content=f"{reply.content}\n\n({signature})")
        return reply

    def _plain_reply(self, messages: list[BaseMessage], tools: list[dict] | None) -> AIMessage:
        available = {t["function"]["name"] for t in tools or []}
        last_human = max((i for i, m in enumerate(messages) if isinstance(m, HumanMessage)), default=-1)
        if last_human < 0:
            return AIMessage(content="Hello! Say 'help' to see what I understand.")
        since = messages[last_human + 1:]
        if since and isinstance(since[-1], ToolMessage):
            results = []
            for message in since:
                if isinstance(message, ToolMessage):
                    payload = json.loads(message.content) if isinstance(message.content, str) else {}
                    results.append((message.name or "", payload, message.status == "error"))
            return AIMessage(content=answer(results))
        step = plan(str(messages[last_human].content))
        missing = [name for name, _ in step.calls if name not in available]
        if missing:
            return AIMessage(content=f"I would need the tool(s) {', '.join(missing)}, which this agent does not "
                                     "offer.")
        if not step.calls:
            return AIMessage(content=step.reply)
        turn = sum(isinstance(m, HumanMessage) for m in messages)  # ids stay unique within a thread
        calls = [{"name": name, "args": args, "id": f"call_{turn}_{i}", "type": "tool_call"}
                 for i, (name, args) in enumerate(step.calls)]
        return AIMessage(content="", tool_calls=calls)

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        reply = self._reply(messages, kwargs.get("tools"), kwargs.get("signature", ""))
        return ChatResult(generations=[ChatGeneration(message=reply)])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        reply = self._reply(messages, kwargs.get("tools"), kwargs.get("signature", ""))
        if reply.tool_calls:
            chunks = [{"name": c["name"], "args": json.dumps(c["args"]), "id": c["id"], "index": i}
                      for i, c in enumerate(reply.tool_calls)]
            yield ChatGenerationChunk(message=AIMessageChunk(content="", tool_call_chunks=chunks))
            return
        words = str(reply.content).split(" ")
        for i, word in enumerate(words):
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=word if i == 0 else " " + word))
            if run_manager:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

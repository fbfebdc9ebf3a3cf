"""The chat model of an OpenAI-compatible endpoint: LangChain's ChatOpenAI, with one wire detail made portable.

LangChain sends an assistant turn that only calls tools with ``"content": null``. OpenAI accepts that, but
llama.cpp's server (llama-cpp-python 0.3.36) answers HTTP 500 with validation errors for every later request of
the conversation (seen with `interarec models serve-local`, docs/local-model.md). An empty string means the same
to every server we know, so it is sent instead.

The same server answers a streamed request that offers tools with HTTP 200 and no chunk at all; LangChain then
raises "No generations found in stream". A stream that ends empty is asked once more without streaming, and
that answer is passed on as one chunk, tool calls included.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from langchain_core.messages import AIMessageChunk
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.outputs import ChatGenerationChunk
from langchain_openai import ChatOpenAI


class EndpointChatModel(ChatOpenAI):
    def _get_request_payload(self, input_: Any, *, stop: list[str] | None = None, **kwargs: Any) -> dict:
        payload = super()._get_request_payload(input_, stop=stop, **kwargs)
        for message in payload.get("messages", []):
            if message.get("role") == "assistant" and message.get("content") is None:
                message["content"] = ""
        return payload

    def _stream(self, messages: Any, stop: list[str] | None = None, run_manager: Any = None,
                **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        empty = True
        for chunk in super()._stream(messages, stop=stop, run_manager=run_manager, **kwargs):
            empty = False
            yield chunk
        if empty:
            kwargs.pop("stream_options", None)
            message = self._generate(messages, stop=stop, **kwargs).generations[0].message
            calls = [tool_call_chunk(name=c["name"], args=json.dumps(c["args"]), id=c["id"], index=i)
                     for i, c in enumerate(message.tool_calls)]
            calls += [tool_call_chunk(name=c["name"], args=c["args"], id=c["id"], index=len(calls) + i)
                      for i, c in enumerate(message.invalid_tool_calls)]
            yield ChatGenerationChunk(message=AIMessageChunk(
                content=message.content, tool_call_chunks=calls, usage_metadata=message.usage_metadata,
                response_metadata=message.response_metadata, id=message.id))

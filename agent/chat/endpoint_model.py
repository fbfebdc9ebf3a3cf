"""The chat model of an OpenAI-compatible endpoint: LangChain's ChatOpenAI, with one wire detail made portable.

LangChain sends an assistant turn that only calls tools with ``"content": null``. OpenAI accepts that, but
llama.cpp's server (llama-cpp-python 0.3.36) answers HTTP 500 with validation errors for every later request of
the conversation (seen with `interarec models serve-local`, docs/local-model.md). An empty string means the same
to every server we know, so it is sent instead.
"""

from __future__ import annotations

from typing import Any

from langchain_openai import ChatOpenAI


class EndpointChatModel(ChatOpenAI):
    def _get_request_payload(self, input_: Any, *, stop: list[str] | None = None, **kwargs: Any) -> dict:
        payload = super()._get_request_payload(input_, stop=stop, **kwargs)
        for message in payload.get("messages", []):
            if message.get("role") == "assistant" and message.get("content") is None:
                message["content"] = ""
        return payload

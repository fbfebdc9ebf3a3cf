"""A fake OpenAI-compatible HTTP server on 127.0.0.1, for tests only: it records each request and answers
from a script, failing loudly when the script runs out.

A script entry is ``(status, body)`` or ``(status, body, options)``; options: ``delay`` (seconds to wait before
answering, to outlast a client timeout) and ``headers`` (extra response headers, e.g. ``retry-after-ms``).

Each recorded request also carries ``estimated_tokens``: its prompt tokens as ``agent.mllm.tokens`` estimates them
(text, image and structured-output parts separately; ``estimated_prompt_tokens()`` adds them up over requests).
The scripted answers' ``usage`` is what the script says, not this estimate.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self

from agent.mllm.tokens import PromptTokens, request_tokens


def chat_completion(content: str, prompt_tokens: int = 1200, completion_tokens: int = 300) -> dict:
    return {
        "id": "chatcmpl-fake", "object": "chat.completion", "created": 0, "model": "fake-vision",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }


def tool_call_completion(arguments: str, name: str = "behavior_summary", prompt_tokens: int = 1200,
                         completion_tokens: int = 300) -> dict:
    """A completion whose answer is a call of function ``name`` with ``arguments`` (a JSON string)."""
    answer = chat_completion("", prompt_tokens, completion_tokens)
    answer["choices"][0]["finish_reason"] = "tool_calls"
    answer["choices"][0]["message"] = {
        "role": "assistant", "content": None,
        "tool_calls": [{"id": "call-fake", "type": "function", "function": {"name": name, "arguments": arguments}}],
    }
    return answer


_CALL_IDS = itertools.count(1)


def _as_event_stream(completion: dict) -> bytes:
    """A scripted completion as the server-sent events a client that asked for ``stream: true`` expects."""
    message = completion["choices"][0]["message"]
    delta: dict = {"role": "assistant", "content": message.get("content") or ""}
    if message.get("tool_calls"):
        delta["tool_calls"] = [{"index": i, **call} for i, call in enumerate(message["tool_calls"])]
    base = {key: completion[key] for key in ("id", "created", "model")} | {"object": "chat.completion.chunk"}
    events = [
        base | {"choices": [{"index": 0, "delta": delta, "finish_reason": None}]},
        base | {"choices": [{"index": 0, "delta": {}, "finish_reason": completion["choices"][0]["finish_reason"]}]},
    ]
    lines = [f"data: {json.dumps(event)}\n\n" for event in events] + ["data: [DONE]\n\n"]
    return "".join(lines).encode()


def tool_calls_completion(calls: list[tuple[str, dict]]) -> dict:
    """A chat completion that calls several tools in order: ``[(name, arguments), ...]``."""
    answer = chat_completion("")
    answer["choices"][0]["finish_reason"] = "tool_calls"
    answer["choices"][0]["message"] = {"role": "assistant", "content": None, "tool_calls": [
        {"id": f"call-{next(_CALL_IDS)}", "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
        for i, (name, args) in enumerate(calls)]}
    return answer


def error(status_message: str) -> dict:
    return {"error": {"message": status_message, "type": "invalid_request_error"}}


class FakeOpenAI:
    def __init__(self, script: list[tuple]) -> None:
        self.script = list(script)
        self.requests: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append({"path": self.path, "body": body,
                                      "authorization": self.headers.get("Authorization"),
                                      "retry_count": self.headers.get("x-stainless-retry-count"),
                                      "estimated_tokens": request_tokens(body).as_dict()})
                entry = fake.script.pop(0) if fake.script else (
                    500, {"error": {"message": "fake server: unexpected request"}})
                status, answer = entry[0], entry[1]
                options = entry[2] if len(entry) > 2 else {}
                time.sleep(options.get("delay", 0))
                streamed = body.get("stream") and status == 200
                data = _as_event_stream(answer) if streamed else json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "text/event-stream" if streamed else "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in options.get("headers", {}).items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting (a timeout test)
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # a short poll interval: shutdown() waits for it
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def estimated_prompt_tokens(self, start: int = 0) -> PromptTokens:
        """The estimated prompt tokens of the requests recorded from ``start`` on, added up."""
        total = PromptTokens()
        for request in self.requests[start:]:
            tokens = request["estimated_tokens"]
            total = total.add(PromptTokens(**{k: tokens[k] for k in ("text", "image", "images", "unsized_images",
                                                                     "structured_output")}))
        return total

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/v1"

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        assert not self.script, f"the fake server's script was not consumed: {len(self.script)} answers left"

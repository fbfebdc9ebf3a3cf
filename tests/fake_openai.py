"""A fake OpenAI-compatible HTTP server on 127.0.0.1, for tests only: it records each request and answers
from a script, failing loudly when the script runs out.

A script entry is ``(status, body)`` or ``(status, body, options)``, or a callable that makes one from the request's
body; options: ``delay`` (seconds to wait before answering, to outlast a client timeout), ``headers`` (extra response
headers, e.g. ``retry-after-ms``), ``drop`` (close the connection without an answer: a server killed mid-request),
``stall_after_first`` (a streamed answer: seconds to wait after its first chunk: a server that stalls) and
``stream_usage`` (False: no usage chunk even when the request asks for one with ``stream_options``).

``responder`` answers once the script is empty (instead of failing): ``ServerBehaviour`` imitates what real servers
do, by the request's content (``LLAMA_CPP_LIKE``: HTTP 500 on ``json_schema``, 400 on image parts, prose when a
tool is offered, broken JSON when one is forced, no usage in streams), for tests where the number of requests is
not the point (the capability probe's).

Each recorded request also carries ``estimated_tokens``: its prompt tokens as ``agent.mllm.tokens`` estimates them
(text, image and structured-output parts separately; ``estimated_prompt_tokens()`` adds them up over requests).
The scripted answers' ``usage`` is what the script says, not this estimate.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
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


def _as_event_stream(completion: dict, usage: bool = False) -> bytes:
    """A scripted completion as the server-sent events a client that asked for ``stream: true`` expects; with
    ``usage``, a last chunk with the usage and no choices (OpenAI's answer to ``stream_options.include_usage``)."""
    message = completion["choices"][0]["message"]
    delta: dict = {"role": "assistant", "content": message.get("content") or ""}
    if message.get("tool_calls"):
        delta["tool_calls"] = [{"index": i, **call} for i, call in enumerate(message["tool_calls"])]
    base = {key: completion[key] for key in ("id", "created", "model")} | {"object": "chat.completion.chunk"}
    events = [
        base | {"choices": [{"index": 0, "delta": delta, "finish_reason": None}]},
        base | {"choices": [{"index": 0, "delta": {}, "finish_reason": completion["choices"][0]["finish_reason"]}]},
    ]
    if usage and completion.get("usage"):
        events.append(base | {"choices": [], "usage": completion["usage"]})
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


Entry = tuple | Callable[[dict], tuple]


@dataclass
class ServerBehaviour:
    """A responder answering like a kind of real server, by what each request asks (see the module docstring).
    ``json_schema``: "ok" or the HTTP status of the refusal; ``images``: the same, or "blind" (accepted, not seen:
    llama.cpp's server with a text-only model, which names no colour of a picture); ``tools_auto``: "call" or "prose";
    ``tools_forced``: "call" or "broken" (arguments that are not JSON); ``answer``: the content of a JSON answer
    (the structured-output probe's request, which asks for ``{"ok": true}``, gets that)."""

    json_schema: str | int = "ok"
    images: str | int = "ok"
    tools_auto: str = "call"
    tools_forced: str = "call"
    usage: bool = True
    stream_usage: bool = True
    answer: str = '{"ok": true}'
    prose: str = "Sure! I can help you with that. What else would you like to know?"
    arguments: str = '{"max_price": 50}'
    broken_arguments: str = '{"max_price": 50, "currency": USD'

    def __call__(self, body: dict) -> tuple:
        options = {"stream_usage": self.stream_usage}
        images = any(part.get("type") == "image_url" for message in body.get("messages", [])
                     if isinstance(message.get("content"), list) for part in message["content"])
        if images and self.images not in ("ok", "blind"):
            return int(self.images), error("image input is not supported by this model"), options
        kind = (body.get("response_format") or {}).get("type")
        if kind == "json_schema" and self.json_schema != "ok":
            return int(self.json_schema), error("json_schema response format: internal error"), options
        tools = body.get("tools") or []
        if tools:
            forced = isinstance(body.get("tool_choice"), dict)
            if (self.tools_forced if forced else self.tools_auto) == "prose":
                answer = chat_completion(self.prose)
            else:
                broken = forced and self.tools_forced == "broken"
                name = body["tool_choice"]["function"]["name"] if forced else tools[0]["function"]["name"]
                answer = tool_call_completion(self.broken_arguments if broken else self.arguments, name=name)
        elif images and not kind:  # a question about a picture (the probe's is plain red)
            answer = chat_completion("Red." if self.images == "ok" else self.prose)
        else:
            last = body["messages"][-1]["content"] if body.get("messages") else ""
            asked_ok = isinstance(last, str) and '{"ok": true}' in last  # the structured-output probe's request
            answer = chat_completion(('{"ok": true}' if asked_ok else self.answer) if kind else self.prose)
        if not self.usage:
            answer.pop("usage")
        return 200, answer, options


OPENAI_LIKE = ServerBehaviour()
LLAMA_CPP_LIKE = ServerBehaviour(json_schema=500, images=400, tools_auto="prose", tools_forced="broken",
                                 stream_usage=False)


class FakeOpenAI:
    def __init__(self, script: list[Entry], responder: Callable[[dict], tuple] | None = None) -> None:
        self.script = list(script)
        self.responder = responder
        self.requests: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # the model list: the model of every request seen, else one fake model
                if not self.path.rstrip("/").endswith("/models"):
                    self._send(404, json.dumps(error("not found")).encode(), "application/json", {})
                    return
                names = sorted({r["body"].get("model") for r in fake.requests if r["body"].get("model")}
                               or {"fake-model"})
                listed = {"object": "list", "data": [{"id": n, "object": "model", "owned_by": "fake"} for n in names]}
                self._send(200, json.dumps(listed).encode(), "application/json", {})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append({"path": self.path, "body": body,
                                      "authorization": self.headers.get("Authorization"),
                                      "retry_count": self.headers.get("x-stainless-retry-count"),
                                      "estimated_tokens": request_tokens(body).as_dict()})
                if fake.script:
                    entry = fake.script.pop(0)
                elif fake.responder is not None:
                    entry = fake.responder
                else:
                    entry = (500, {"error": {"message": "fake server: unexpected request"}})
                if callable(entry):
                    entry = entry(body)
                status, answer = entry[0], entry[1]
                options = entry[2] if len(entry) > 2 else {}
                time.sleep(options.get("delay", 0))
                if options.get("drop"):  # killed mid-request: the connection closes with no answer
                    self.close_connection = True
                    return
                streamed = body.get("stream") and status == 200
                if not streamed:
                    self._send(status, json.dumps(answer).encode(), "application/json", options.get("headers", {}))
                    return
                wants_usage = bool((body.get("stream_options") or {}).get("include_usage"))
                usage = wants_usage and options.get("stream_usage", True)
                data = _as_event_stream(answer, usage) if usage else _as_event_stream(answer)
                if options.get("empty_stream"):  # llama.cpp with tools: 200 and not one chunk
                    data = b"data: [DONE]\n\n"
                first = data.find(b"\n\n") + 2  # the first event, before a stall
                stall = options.get("stall_after_first", 0)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "text/event-stream")
                    for name, value in options.get("headers", {}).items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data[:first])
                    self.wfile.flush()
                    time.sleep(stall)
                    self.wfile.write(data[first:])
                except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting (a timeout test)
                    pass
                self.close_connection = True  # no Content-Length: the end of the stream is the end of the body

            def _send(self, status: int, data: bytes, kind: str, headers: dict) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", kind)
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in headers.items():
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

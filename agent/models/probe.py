"""What an OpenAI-compatible endpoint and model can do, found with a few tiny requests, and what each role of
the project (the MLLM summariser, the chat agent) will therefore do with it.

Checked: a plain chat completion (latency, usage counts), a tool call with ``tool_choice`` auto and forced
(called or answered in prose; whether the arguments parse), each structured-output mode (accepted, valid JSON,
the schema's object), an image part (accepted or refused; whether the model names the colour of the red test
picture: llama.cpp's server takes image parts for a text-only model, which reads none of them, slowly) and a
streamed answer (chunks, usage in the stream). The structured-output requests are the MLLM summariser's own
probe (``agent/mllm/wire.py``), so the mode reported is the mode the summariser will use; ``remember`` writes
the summariser's findings (mode, images) into its cache file, so that it starts from them.

Nothing is retried: a probe reports what one request gets. An endpoint that cannot be reached, refuses the key,
does not serve the model or does not answer a plain completion in time is a ``ProbeError`` (one line).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import openai
from PIL import Image

from agent.mllm.cache import SummaryCache
from agent.mllm.wire import (
    MODES,
    PROBE_MESSAGES,
    PROBE_SCHEMA,
    answer_text,
    error_reason,
    jpeg_data_url,
    probe_answer_ok,
    structured_output,
)

ROLES = ("summariser", "chat")
STRUCTURED = (*MODES, "none")  # "none": no structured-output argument, the prompt alone asks for JSON
TOOL = {"type": "function", "function": {
    "name": "set_budget", "description": "Set the shopper's budget.",
    "parameters": {"type": "object", "properties": {"max_price": {"type": "number"}}, "required": ["max_price"]}}}
TOOL_MESSAGES = [{"role": "user", "content": "Set my budget to 50 dollars with the set_budget tool."}]
IMAGE_COLOURS = ("red", "crimson", "scarlet")
IMAGE_MESSAGES = [{"role": "user", "content": [
    {"type": "text", "text": "What colour is this picture? Answer with one word."},
    {"type": "image_url", "image_url": {"url": jpeg_data_url(Image.new("RGB", (64, 64), (220, 20, 20)), 4096)}}]}]
PLAIN_MESSAGES = [{"role": "user", "content": "Say hello in five words or fewer."}]


class ProbeError(RuntimeError):
    """The endpoint cannot be probed at all (one line: where and why)."""


@dataclass
class Check:
    """One request of the probe and what came back. ``ok``: the feature works as the project uses it."""

    name: str
    ok: bool
    outcome: str  # a few words: "ok", "prose, no call", "refused: HTTP 500 ...", "timed out"
    seconds: float | None = None
    facts: dict[str, Any] = field(default_factory=dict)  # what the table's outcome says, as values


@dataclass
class ProbeReport:
    base_url: str
    model: str
    endpoint: str  # the base URL as the openai client writes it: the key of the summariser's cache
    listed_models: list[str] | None  # None: the endpoint does not list its models
    checks: list[Check] = field(default_factory=list)

    def check(self, name: str) -> Check | None:
        return next((c for c in self.checks if c.name == name), None)

    def _ok(self, name: str) -> bool:
        found = self.check(name)
        return bool(found and found.ok)

    @property
    def structured_mode(self) -> str | None:
        """The mode the MLLM summariser will use: the first of ``MODES`` whose probe answer is the schema's
        object (any JSON object in ``json_object`` mode), as its own probe decides."""
        return next((mode for mode in MODES if self._ok(f"structured output: {mode}")), None)

    @property
    def images(self) -> bool | None:
        """Whether the model sees image parts: accepted and the test picture's colour named (None: not checked)."""
        found = self.check("image input")
        return None if found is None else bool(found.ok and found.facts.get("saw_it"))

    def remember(self, cache_path: Path | str) -> None:
        """Record what the summariser would find out itself (its structured-output mode, whether the model sees
        images) in its cache file (``DATA_DIR/mllm_cache.sqlite``), so that it starts from the probe's findings."""
        cache = SummaryCache(cache_path)
        try:
            if self.structured_mode is not None:
                cache.remember_capability(self.endpoint, self.model, self.structured_mode)
            found = self.check("image input")
            if found is not None:
                cache.remember_images(self.endpoint, self.model, bool(self.images),
                                      "" if self.images else f"capability probe: {found.outcome}")
        finally:
            cache.close()

    def roles(self) -> dict[str, str]:
        """What each role will do with this endpoint, in a sentence."""
        result: dict[str, str] = {}
        if self.check("structured output: json_schema") is not None:
            mode, images = self.structured_mode, self.images
            if mode is None:
                result["summariser"] = ("no structured-output mode gives JSON: the offline screen reader reads "
                                        "the screens (the MLLM fails, the fallback takes over)")
            else:
                found = self.check("image input")
                why = ("it refuses image parts" if found is not None and not found.ok else
                       "it took the test picture but did not name its colour")
                sent = ("screenshots and page text" if images else
                        f"the page text alone ({why}; screenshots are not sent)")
                result["summariser"] = f"structured output in {mode} mode; sends {sent}"
        if self.check("tool call (auto)") is not None:
            auto, forced = self.check("tool call (auto)"), self.check("tool call (forced)")
            if auto is not None and auto.ok:
                result["chat"] = "tool calls parse: the model drives the tools"
            elif auto is not None and auto.facts.get("called"):
                result["chat"] = ("tool calls do not parse: a bad call is retried once with the error, then the "
                                  "turn is answered by the local rules model")
            else:
                hint = " (it can call a tool when forced)" if forced is not None and forced.ok else ""
                result["chat"] = ("answers in prose where a tool call is expected" + hint + ": shopping requests "
                                  "the local rules understand are answered by the local rules model")
            if not self._ok("streaming"):
                result["chat"] += "; no streamed answer"
        return result

    def table(self) -> str:
        listed = ", ".join(self.listed_models) if self.listed_models else "not listed"
        lines = [f"endpoint {self.base_url}  model {self.model}  (models listed: {listed})", ""]
        width = max(len(c.name) for c in self.checks) if self.checks else 10
        lines.append(f"{'check':<{width}}  {'s':>6}  result")
        for c in self.checks:
            seconds = f"{c.seconds:6.2f}" if c.seconds is not None else " " * 6
            lines.append(f"{c.name:<{width}}  {seconds}  {'ok ' if c.ok else 'no '} {c.outcome}")
        lines.append("")
        lines += [f"{role}: {verdict}" for role, verdict in self.roles().items()]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "model": self.model, "listed_models": self.listed_models,
                "checks": [asdict(c) for c in self.checks], "structured_mode": self.structured_mode,
                "images": self.images, "roles": self.roles()}


def probe_endpoint(base_url: str, model: str, api_key: str | None = None, timeout_s: float = 60.0,
                   roles: tuple[str, ...] = ROLES) -> ProbeReport:
    """Probe ``model`` at ``base_url`` for ``roles`` (the summariser's checks, the chat's, or both)."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown role(s) {', '.join(sorted(unknown))}; known: {', '.join(ROLES)}")
    client = openai.OpenAI(base_url=base_url, api_key=api_key or "none", timeout=timeout_s, max_retries=0)
    report = ProbeReport(base_url, model, str(client.base_url), _listed(client, base_url))
    report.checks.append(_plain(client, report))
    if "chat" in roles:
        report.checks += [_tool_call(client, model, forced=False), _tool_call(client, model, forced=True),
                          _streaming(client, model)]
    if "summariser" in roles:
        report.checks += [_structured(client, model, mode) for mode in STRUCTURED]
        report.checks.append(_image(client, model))
    return report


# the checks


def _listed(client: openai.OpenAI, base_url: str) -> list[str] | None:
    try:
        return [m.id for m in client.models.list()]
    except openai.APIConnectionError as exc:  # timeouts too
        raise ProbeError(f"cannot reach {base_url}: {_line(exc)}") from exc
    except openai.AuthenticationError as exc:
        raise ProbeError(f"{base_url} refused the API key (HTTP 401): {error_reason(exc)}") from exc
    except openai.OpenAIError:  # a server without GET /models (or an odd answer to it): probe the model anyway
        return None


def _plain(client: openai.OpenAI, report: ProbeReport) -> Check:
    """A plain completion; the endpoint is no use without it, so a failure here ends the probe."""
    where = f"{report.model} at {report.base_url}"
    started = time.perf_counter()
    try:
        response = client.chat.completions.create(model=report.model, messages=PLAIN_MESSAGES, temperature=0,
                                                  max_tokens=32)
    except openai.APITimeoutError as exc:
        raise ProbeError(f"{where} gave no answer to a plain completion within {client.timeout} s") from exc
    except openai.APIConnectionError as exc:
        raise ProbeError(f"cannot reach {report.base_url}: {_line(exc)}") from exc
    except openai.NotFoundError as exc:
        listed = f" (it lists: {', '.join(report.listed_models)})" if report.listed_models else ""
        raise ProbeError(f"{report.base_url} does not serve the model {report.model!r}{listed}: "
                         f"{error_reason(exc)}") from exc
    except openai.APIStatusError as exc:
        raise ProbeError(f"{where} refused a plain completion: HTTP {exc.status_code} {error_reason(exc)}") from exc
    seconds = _since(started)
    if not getattr(response, "choices", None):
        raise ProbeError(f"{where} answered a plain completion with something that is not a chat completion")
    usage = _usage(response)
    text = response.choices[0].message.content or ""
    outcome = f"answered {text.strip()[:40]!r}; usage counts {'present' if usage else 'missing'}"
    return Check("chat completion", True, outcome, seconds, {"answer": text[:200], "usage": usage})


def _tool_call(client: openai.OpenAI, model: str, forced: bool) -> Check:
    name = f"tool call ({'forced' if forced else 'auto'})"
    choice: Any = {"type": "function", "function": {"name": TOOL["function"]["name"]}} if forced else "auto"
    started = time.perf_counter()
    try:
        response = client.chat.completions.create(model=model, messages=TOOL_MESSAGES, tools=[TOOL],
                                                  tool_choice=choice, temperature=0)
    except openai.OpenAIError as exc:
        return _failed(name, exc, started, {"called": False, "arguments_parse": None})
    message = response.choices[0].message if response.choices else None
    calls = (message.tool_calls if message else None) or []
    if not calls:
        prose = (message.content if message else "") or ""
        return Check(name, False, f"prose, no call: {prose.strip()[:60]!r}", _since(started),
                     {"called": False, "arguments_parse": None, "answer": prose[:200]})
    arguments = calls[0].function.arguments or ""
    try:
        parsed = json.loads(arguments)
        problem = None if isinstance(parsed, dict) else f"a JSON {type(parsed).__name__}, not an object"
    except json.JSONDecodeError as exc:
        problem = f"not JSON ({exc.msg} at character {exc.pos})"
    facts = {"called": True, "function": calls[0].function.name, "arguments_parse": problem is None,
             "arguments": arguments[:200]}
    if problem:
        return Check(name, False, f"called {calls[0].function.name}; arguments {problem}: {arguments[:50]!r}",
                     _since(started), facts)
    return Check(name, True, f"called {calls[0].function.name}({arguments[:50]})", _since(started), facts)


def _structured(client: openai.OpenAI, model: str, mode: str) -> Check:
    name = f"structured output: {mode}"
    arguments = {} if mode == "none" else structured_output(mode, PROBE_SCHEMA)
    started = time.perf_counter()
    try:
        response = client.chat.completions.create(model=model, messages=PROBE_MESSAGES, temperature=0, **arguments)
    except openai.OpenAIError as exc:
        return _failed(name, exc, started, {"accepted": False, "valid_json": None, "schema_object": None})
    raw = answer_text(response, "tools" if mode == "tools" else "json_object") or ""
    try:
        json.loads(raw)
        valid = True
    except json.JSONDecodeError:
        valid = False
    matches = probe_answer_ok("json_schema", raw)  # the schema's object, whatever the mode
    ok = probe_answer_ok(mode if mode in MODES else "json_schema", raw)
    outcome = ("accepted; " + ("the schema's object" if matches else "valid JSON, not the schema's object" if valid
                               else f"not JSON: {raw.strip()[:50]!r}"))
    return Check(name, ok, outcome, _since(started), {"accepted": True, "valid_json": valid, "schema_object": matches})


def _image(client: openai.OpenAI, model: str) -> Check:
    started = time.perf_counter()
    try:
        response = client.chat.completions.create(model=model, messages=IMAGE_MESSAGES, temperature=0, max_tokens=16)
    except openai.OpenAIError as exc:
        return _failed("image input", exc, started, {"accepted": False, "saw_it": None})
    text = (response.choices[0].message.content if response.choices else "") or ""
    saw = any(word in text.lower() for word in IMAGE_COLOURS)
    seen = "named its colour" if saw else "did not name its colour: the model does not see images"
    return Check("image input", True, f"accepted; {seen}: {text.strip()[:40]!r}", _since(started),
                 {"accepted": True, "saw_it": saw, "answer": text[:200]})


def _streaming(client: openai.OpenAI, model: str) -> Check:
    started = time.perf_counter()
    first: float | None = None
    chunks, usage, text = 0, None, []
    try:
        stream = client.chat.completions.create(model=model, messages=PLAIN_MESSAGES, temperature=0, max_tokens=32,
                                                stream=True, stream_options={"include_usage": True})
        for chunk in stream:
            chunks += 1
            first = first if first is not None else _since(started)
            if getattr(chunk, "usage", None):
                usage = _usage(chunk)
            for choice in chunk.choices or []:
                text.append(choice.delta.content or "")
    except openai.OpenAIError as exc:
        return _failed("streaming", exc, started, {"chunks": chunks, "usage_in_stream": False})
    facts = {"chunks": chunks, "first_chunk_s": first, "usage_in_stream": usage is not None, "usage": usage}
    if not chunks:
        return Check("streaming", False, "the stream ended without a chunk", _since(started), facts)
    return Check("streaming", True, f"{chunks} chunk(s), first after {first:.2f} s; usage "
                 f"{'in the stream' if usage else 'not in the stream'}", _since(started), facts)


# helpers


def _failed(name: str, exc: openai.OpenAIError, started: float, facts: dict[str, Any]) -> Check:
    status = getattr(exc, "status_code", None)
    if isinstance(exc, openai.APITimeoutError):
        outcome = "timed out"
    elif isinstance(exc, openai.APIConnectionError):
        outcome = f"connection failed: {_line(exc)}"
    elif status is not None:
        outcome = f"refused: HTTP {status} {error_reason(exc)[:80]}"
    else:
        outcome = f"failed: {_line(exc)}"
    return Check(name, False, outcome, _since(started), {**facts, "status": status})


def _usage(response: Any) -> dict[str, int] | None:
    usage = getattr(response, "usage", None)
    if usage is None or usage.prompt_tokens is None or usage.completion_tokens is None:
        return None
    return {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens}


def _since(started: float) -> float:
    return round(time.perf_counter() - started, 3)


def _line(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return text or type(exc).__name__

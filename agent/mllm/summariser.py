"""Behavioural summarisation by a multimodal LLM behind any OpenAI-compatible endpoint (OpenAI, vLLM,
Ollama, LM Studio, llama.cpp server). Screenshots are downscaled and sent as data URLs; the answer must be
JSON matching the BehaviorSummary schema.

- Text layers: given ``text_layers`` (the frame store's lookup), the screenshots our browser captured with their
  page's visible text are sent as page visits (consecutive frames of one address): the visit's text once, compact
  (``agent/mllm/page_text.py``), with the visit's last screenshot downscaled to ``text_layer_max_pixels`` at low
  detail, in the ``summarise_text_layer`` prompt (which quotes the schema without its titles). The rows most
  pages start with (the shop's header and menu) are given once. Frames without a text layer (imported pictures,
  empty layers) are sent as before: full screenshots within ``max_pixels``; a request without any page text is
  exactly the screenshots-only request. ``agent/mllm/tokens.py`` estimates what a request costs
  (``benchmarks/mllm_tokens.py``).
- Structured output: before the first summary the endpoint is probed once (a tiny text-only request per mode)
  for the first mode it honours: a ``json_schema`` response format, else a forced function call with the schema
  as its parameters, else ``json_object`` mode. The result is kept on the instance and in the cache.
- Failures: the openai client retries 429, 5xx, connection errors and timeouts with backoff; what is left is a
  SummariserError naming the endpoint and the cause.
- Cost: every request is recorded (``usage``, ``usage_summary()``); answers are cached by image hash, so the same
  screenshots are never paid for twice; ``summarise(frames, previous)`` sends only the screenshots the previous
  summary has not covered and asks for the updated summary.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
from openai.types.chat import ChatCompletion
from pydantic import ValidationError

import prompts
from agent.mllm.cache import SummaryCache, cited_frame_ids, digest, relabel
from agent.mllm.page_text import Row, markup_line, rows_text, shared_rows, split_shared, visit_rows
from agent.mllm.wire import (
    MODES,
    PROBE_MESSAGES,
    PROBE_SCHEMA,
    answer_text,
    error_reason,
    image_data_url,
    probe_answer_ok,
    structured_output,
)
from tools.lines import TextLayer
from tools.perception.page.visits import visits
from tools.perception.summariser import SummariserError
from tools.schemas import BehaviorSummary, Frame

log = logging.getLogger(__name__)

PROMPT = "summarise_screens"
UPDATE_PROMPT = "update_summary"
TEXT_LAYER_PROMPT = "summarise_text_layer"  # when some of the frames come with their page's text
TEXT_LAYER_UPDATE_PROMPT = "update_summary_text_layer"
DEFAULT_TIMEOUT_S = 120.0
DEFAULT_TEXT_LAYER_MAX_PIXELS = 512 * 320  # a 1280 x 800 screenshot becomes 512 x 320: one 512-px tile
TEXT_LAYER_IMAGE_DETAIL = "low"  # the image is 512 px wide already: what OpenAI's low detail keeps of it
_META_FIELDS = ("summariser", "frames_read")

TextLayerLookup = Callable[[Frame], TextLayer | None]


@dataclass(frozen=True)
class _Unit:
    """One piece of a request: a page visit's frames with their page text (one downscaled screenshot), or one
    frame without a text layer (its screenshot within ``max_pixels``)."""

    frames: tuple[Frame, ...]
    rows: tuple[Row, ...] | None = None  # None: no text layer
    markup: str | None = None

    @property
    def image(self) -> Frame:
        return self.frames[-1]  # a visit's latest screenshot


def summary_schema() -> dict:
    """The JSON schema the model must answer with: the summary without the fields we fill in ourselves."""
    schema = BehaviorSummary.model_json_schema()
    for name in _META_FIELDS:
        schema["properties"].pop(name, None)
        if name in schema.get("required", []):
            schema["required"].remove(name)
    return schema


def _without_titles(value: Any, in_properties: bool = False) -> Any:
    """A JSON schema without its ``title`` annotations (pydantic's "Frame Ids" for ``frame_ids``); a property
    named ``title`` stays."""
    if isinstance(value, dict):
        return {key: _without_titles(item, key == "properties" and not in_properties)
                for key, item in value.items() if in_properties or key != "title"}
    if isinstance(value, list):
        return [_without_titles(item) for item in value]
    return value


def prompt_schema() -> dict:
    """The schema as the text-layer prompts quote it: ``summary_schema()`` without titles (a fifth shorter). The
    structured-output arguments keep the whole schema."""
    return _without_titles(summary_schema())


def summary_digest(summary: BehaviorSummary) -> str:
    return digest(summary.model_dump(mode="json"))


def _evenly(frames: list, limit: int) -> list:
    if len(frames) <= limit:
        return frames
    if limit <= 1:
        return frames[-1:] if limit == 1 else []
    step = (len(frames) - 1) / (limit - 1)
    return [frames[round(i * step)] for i in range(limit)]


def _unique(frames: list[Frame]) -> list[Frame]:
    """Kept frames, each screenshot (sha256) once, in order."""
    seen: set[str] = set()
    result = []
    for frame in frames:
        if frame.duplicate_of is None and frame.sha256 not in seen:
            seen.add(frame.sha256)
            result.append(frame)
    return result


def _numbers(indexes: list[int]) -> str:
    """0-based indexes as 1-based numbers with runs as ranges: [0, 1, 2, 4] -> '1-3, 5'."""
    runs: list[list[int]] = []
    for number in (i + 1 for i in indexes):
        if runs and number == runs[-1][-1] + 1:
            runs[-1].append(number)
        else:
            runs.append([number])
    return ", ".join(f"{run[0]}-{run[-1]}" if len(run) > 2 else ", ".join(map(str, run)) for run in runs)


def _timeout_seconds(timeout: Any) -> float | None:
    if isinstance(timeout, int | float):
        return float(timeout)
    return getattr(timeout, "read", None)


class MllmSummariser:
    """Summarise screenshots with a vision model. The client is built by the composition root."""

    def __init__(self, client: openai.OpenAI, model: str, max_pixels: int = 640_000, max_frames: int = 12, *,
                 cache_path: Path | str | None = None, timeout: float | None = None,
                 mode: str | None = None, text_layers: TextLayerLookup | None = None,
                 text_layer_max_pixels: int = DEFAULT_TEXT_LAYER_MAX_PIXELS) -> None:
        if mode is not None:
            structured_output(mode, {})  # fail early on an unknown mode
        self.client = client
        self.model = model
        self.max_pixels = max_pixels
        self.max_frames = max_frames  # screenshots per request: full frames and page visits alike
        self.text_layers = text_layers  # frame -> its text layer, when the capture recorded one
        self.text_layer_max_pixels = text_layer_max_pixels
        self.endpoint = str(client.base_url)
        self.timeout = timeout or _timeout_seconds(client.timeout) or DEFAULT_TIMEOUT_S
        self.name = f"MLLM {model} (OpenAI-compatible endpoint {client.base_url})"
        self.cache = SummaryCache(cache_path)
        known = self.cache.capability(self.endpoint, model)
        self.mode = mode or (known if known in MODES else None)  # None until probed
        self.usage: list[dict] = []  # one entry per request: kind, mode, outcome, tokens, latency, retries
        self.cache_hits = 0

    # the public surface

    def summarise(self, frames: list[Frame], previous: BehaviorSummary | None = None) -> BehaviorSummary:
        """Summarise ``frames``; given ``previous``, send only the screenshots it has not covered and return
        the updated summary (or ``previous`` itself, without a request, when nothing is new)."""
        covered, new = self._new_frames(frames, previous)
        if not new:
            return previous if previous is not None else BehaviorSummary(summariser=self.name, frames_read=0)
        units = _evenly(self._units(new), self.max_frames)  # frames left out by the budget count as covered
        data = self._answer(units, previous)
        try:
            summary = BehaviorSummary.model_validate({
                **data, "summariser": self.name,
                "frames_read": sum(len(u.frames) for u in units) + (previous.frames_read if previous else 0),
            })
        except ValidationError as exc:  # only possible for a cache written by another schema version
            raise SummariserError(f"{self.model} did not answer with a valid summary: {exc}") from exc
        self.cache.remember_covered(summary_digest(summary), covered | {f.sha256 for f in new})
        return summary

    def messages(self, frames: list[Frame], previous: BehaviorSummary | None = None) -> list[dict]:
        """The messages ``summarise(frames, previous)`` would send (without the structured-output arguments),
        built without sending them; empty when it would send nothing. For estimating what a request costs."""
        _, new = self._new_frames(frames, previous)
        if not new:
            return []
        return self._request_parts(_evenly(self._units(new), self.max_frames), previous)[0]

    def usage_summary(self) -> dict:
        """Totals over this summariser's requests (probes included) and the answers served from the cache."""
        return {
            "calls": len(self.usage),
            "prompt_tokens": sum(u["prompt_tokens"] or 0 for u in self.usage),
            "completion_tokens": sum(u["completion_tokens"] or 0 for u in self.usage),
            "seconds": round(sum(u["seconds"] for u in self.usage), 3),
            "cache_hits": self.cache_hits,
        }

    def structured_mode(self) -> str:
        """The structured-output mode of this endpoint and model, probed on first use."""
        if self.mode is None:
            self.mode = self._probe()
            self.cache.remember_capability(self.endpoint, self.model, self.mode)
        return self.mode

    # incremental bookkeeping

    def _new_frames(self, frames: list[Frame], previous: BehaviorSummary | None) -> tuple[set[str], list[Frame]]:
        """The image hashes ``previous`` has covered, and the unique frames it has not."""
        unique = _unique(frames)
        if previous is None:
            return set(), unique
        covered = self._covered_by(previous, unique)
        return covered, [f for f in unique if f.sha256 not in covered]

    def _units(self, frames: list[Frame]) -> list[_Unit]:
        """The pieces of a request: without a text layer lookup, one per frame; with one, the frames of a page
        visit that have a text layer share one piece, and each frame without one is a piece alone."""
        if self.text_layers is None:
            return [_Unit((frame,)) for frame in frames]
        units: list[_Unit] = []
        for visit in visits(frames):
            run: list[tuple[Frame, TextLayer]] = []
            for frame in visit:
                layer = self.text_layers(frame)
                if layer is not None and layer.lines:
                    run.append((frame, layer))
                    continue
                units.extend(self._visit_unit(run))
                run = []
                units.append(_Unit((frame,)))  # no text layer, or an empty one (a page drawn on a canvas)
            units.extend(self._visit_unit(run))
        return units

    @staticmethod
    def _visit_unit(run: list[tuple[Frame, TextLayer]]) -> list[_Unit]:
        if not run:
            return []
        frames, layers = [frame for frame, _ in run], [layer for _, layer in run]
        return [_Unit(tuple(frames), tuple(visit_rows(frames, layers)), markup_line(layers))]

    def _covered_by(self, previous: BehaviorSummary, frames: list[Frame]) -> set[str]:
        """Image hashes the previous summary has read: as recorded when it was written, else (a summary from
        another summariser or an earlier run without a cache file) the frames it cites."""
        recorded = self.cache.covered(summary_digest(previous))
        if recorded is not None:
            return recorded
        cited = cited_frame_ids(previous.model_dump(mode="json"))
        log.info("previous summary unknown to this cache: treating the %d frame(s) it cites as read", len(cited))
        return {f.sha256 for f in frames if f.frame_id in cited}

    # asking the model (or the cache)

    def _request_parts(self, units: list[_Unit], previous: BehaviorSummary | None,
                       images: bool = True) -> tuple[list[dict], str]:
        """The messages asking about ``units`` and the cache key of their answer; ``images=False`` leaves the
        images out (the key does not depend on them: it has their hashes), so that a cached answer encodes none."""
        chosen = [frame for unit in units for frame in unit.frames]
        with_text = any(unit.rows is not None for unit in units)
        schema_text = json.dumps(prompt_schema() if with_text else summary_schema(), separators=(",", ":"))
        values = {"frame_labels": ", ".join(f.frame_id for f in chosen), "schema": schema_text}
        prompt_name, previous_json = (TEXT_LAYER_PROMPT if with_text else PROMPT), ""
        if previous is not None:
            prompt_name = TEXT_LAYER_UPDATE_PROMPT if with_text else UPDATE_PROMPT
            previous_json = json.dumps(previous.model_dump(mode="json", exclude=set(_META_FIELDS)),
                                       separators=(",", ":"), ensure_ascii=False)
            values["previous_summary"] = previous_json
        content: list[dict] = [{"type": "text", "text": prompts.render(prompt_name, **values)}]
        shared = shared_rows([unit.rows for unit in units if unit.rows is not None])
        if shared:
            numbered = "\n".join(f"{i + 1} {row.text}" for i, row in enumerate(shared))
            content.append({"type": "text", "text": f"Shared rows:\n{numbered}"})
        pages: list[Any] = [[row.text for row in shared]]  # what the answer depends on besides the images: no ids
        for unit in units:
            frame = unit.image
            if unit.rows is None:
                content.append({"type": "text", "text": f"screenshot {frame.frame_id}"})
                if images:
                    content.append({"type": "image_url",
                                    "image_url": {"url": image_data_url(Path(frame.path), self.max_pixels)}})
                continue
            own, showed = split_shared(unit.rows, shared)
            labels = ", ".join(f.frame_id for f in unit.frames)
            with_shared = f" (and shared rows {_numbers(showed)})" if showed else ""
            text = [f"Page visit, screenshot{'s' if len(unit.frames) > 1 else ''} {labels}; its text{with_shared}:",
                    rows_text(own) or "(none)"]
            text += [unit.markup] if unit.markup else []
            text.append("its last screenshot, downscaled:")
            content.append({"type": "text", "text": "\n".join(text)})
            if images:
                content.append({"type": "image_url", "image_url": {
                    "url": image_data_url(Path(frame.path), self.text_layer_max_pixels),
                    "detail": TEXT_LAYER_IMAGE_DETAIL}})
            pages.append([sorted(f.sha256 for f in unit.frames), frame.sha256, text[1:-1], showed])
        settings = digest(schema_text, self.max_pixels)
        if with_text:  # the key of a request without page text is what it was before text layers were sent
            settings = digest(schema_text, self.max_pixels, self.text_layer_max_pixels, TEXT_LAYER_IMAGE_DETAIL,
                              pages)
        key = digest(self.model, prompts.prompt_hash(prompt_name), settings, digest(previous_json),
                     sorted(f.sha256 for f in chosen))
        return [{"role": "user", "content": content}], key

    def _answer(self, units: list[_Unit], previous: BehaviorSummary | None) -> dict:
        chosen = [frame for unit in units for frame in unit.frames]
        schema = summary_schema()
        _, key = self._request_parts(units, previous, images=False)
        cached = self.cache.answer(key)
        if cached is not None:
            answer, old_labels = cached
            now = {f.sha256: f.frame_id for f in chosen}
            self.cache_hits += 1
            return relabel(answer, {old: now[sha] for old, sha in old_labels.items() if sha in now})

        messages, _ = self._request_parts(units, previous)
        mode = self.structured_mode()
        kind = "summary" if previous is None else "update"
        try:
            response = self._request(kind, mode, messages, schema, images=len(units))
        except openai.BadRequestError as exc:
            self.cache.forget_capability(self.endpoint, self.model)  # re-probe on the next run
            raise SummariserError(f"the vision endpoint {self.endpoint} ({self.model}) refused the {kind} request "
                                  f"in {mode} mode: {error_reason(exc)}") from exc
        except openai.OpenAIError as exc:
            raise self._failure(exc, kind) from exc
        raw = answer_text(response, mode)
        if not raw:
            raise SummariserError(f"{self.model} at {self.endpoint} returned an empty answer ({mode} mode)")
        try:
            data = json.loads(raw)
            BehaviorSummary.model_validate({**data, "summariser": self.name})
        except (json.JSONDecodeError, ValidationError, TypeError) as exc:
            raise SummariserError(f"{self.model} at {self.endpoint} did not answer with a valid summary ({mode} "
                                  f"mode): {_short(exc)}; answer began {raw[:120]!r}") from exc
        self.cache.remember_answer(key, self.model, data, {f.frame_id: f.sha256 for f in chosen})
        return data

    def _probe(self) -> str:
        """The first structured-output mode the endpoint honours, found with one tiny request per mode."""
        refused: list[str] = []
        for mode in MODES:
            try:
                response = self._request("probe", mode, PROBE_MESSAGES, PROBE_SCHEMA)
            except (openai.BadRequestError, openai.UnprocessableEntityError) as exc:
                refused.append(f"{mode}: HTTP {exc.status_code} {error_reason(exc)}")
                continue
            except openai.OpenAIError as exc:
                raise self._failure(exc, "structured-output probe") from exc
            raw = answer_text(response, mode) or ""
            if probe_answer_ok(mode, raw):
                log.info("%s at %s answers in %s mode", self.model, self.endpoint, mode)
                return mode
            self.usage[-1]["outcome"] = "unusable"
            refused.append(f"{mode}: the answer was not the requested JSON ({raw[:60]!r})")
        raise SummariserError(f"the vision endpoint {self.endpoint} ({self.model}) supports none of the "
                              f"structured-output modes: {'; '.join(refused)}")

    def _request(self, kind: str, mode: str, messages: list[dict], schema: dict, images: int = 0) -> Any:
        """One chat completion (the client retries it); recorded in ``usage`` whatever the outcome."""
        entry: dict[str, Any] = {"kind": kind, "mode": mode, "images": images, "outcome": "ok", "retries": 0,
                                 "prompt_tokens": None, "completion_tokens": None}
        started = time.perf_counter()
        try:
            raw = self.client.chat.completions.with_raw_response.create(
                model=self.model, messages=messages, temperature=0, timeout=self.timeout,
                **structured_output(mode, schema),
            )
            response = raw.parse()
        except openai.OpenAIError as exc:
            status = getattr(exc, "status_code", None)
            entry["outcome"] = f"HTTP {status}" if status else type(exc).__name__
            raise
        finally:
            entry["seconds"] = round(time.perf_counter() - started, 3)
            self.usage.append(entry)
        entry["retries"] = raw.retries_taken
        if not isinstance(response, ChatCompletion):  # a proxy's error page, a server that is not OpenAI's API
            entry["outcome"] = "not a chat completion"
            raise SummariserError(f"the vision endpoint {self.endpoint} ({self.model}), {kind}: answered HTTP 200 "
                                  f"with something that is not a chat completion: {str(response)[:120]!r}")
        if response.usage:
            entry["prompt_tokens"] = response.usage.prompt_tokens
            entry["completion_tokens"] = response.usage.completion_tokens
        return response

    def _failure(self, exc: openai.OpenAIError, what: str) -> SummariserError:
        """The error left after the client's retries, naming the endpoint and the cause."""
        where = f"the vision endpoint {self.endpoint} ({self.model}), {what}"
        attempts = f"{self.client.max_retries + 1} attempt(s)"
        if isinstance(exc, openai.APITimeoutError):
            return SummariserError(f"{where}: timed out, no answer within {self.timeout:g} s in {attempts} "
                                   "(raise request_timeout_s, or check that the server is up and not overloaded)")
        if isinstance(exc, openai.APIConnectionError):
            return SummariserError(f"{where}: could not be reached in {attempts}: {exc}")
        if isinstance(exc, openai.RateLimitError):
            return SummariserError(f"{where}: still rate limited (HTTP 429) after {attempts}: {error_reason(exc)}")
        if isinstance(exc, openai.APIStatusError):
            retried = f" after {attempts}" if exc.status_code >= 500 or exc.status_code in (408, 409) else ""
            return SummariserError(f"{where}: HTTP {exc.status_code}{retried}: {error_reason(exc)}")
        return SummariserError(f"{where}: {exc}")


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__

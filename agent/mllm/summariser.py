"""Behavioural summarisation by a multimodal LLM behind any OpenAI-compatible endpoint (OpenAI, vLLM,
Ollama, LM Studio, llama.cpp server). Screenshots are downscaled and sent as data URLs; the answer must be
JSON matching the BehaviorSummary schema.

The module split: ``request.py`` builds what a request says (``page_text.py`` the page text), ``schema.py`` the
schema asked for, ``wire.py`` the wire formats, ``cache.py`` what is remembered; this module asks and parses.

- Text layers: given ``text_layers`` (the frame store's lookup), the screenshots our browser captured with their
  page's visible text are sent as page visits (consecutive frames of one address): the visit's text once, compact
  (``agent/mllm/page_text.py``), in the ``summarise_text_layer`` prompt, the frames named f1, f2, ... (mapped back
  to their ids in the answer). Rows most pages start with (the shop's header and menu) are given once, and so are
  rows repeated across the request (a footer, a buy button), referred to in place. Only a product page's or a
  thin page's visit comes with a screenshot (its topmost, downscaled to ``text_layer_max_pixels``, low detail),
  and of product pages only those whose text does not give the product's title and price (``product_photos``:
  all of them, for the photo's look). Frames without a text layer (imported pictures, empty layers) are sent
  as before: full screenshots within ``max_pixels``; a request without any page text is the screenshots-only
  request. In ``json_schema`` and ``tools`` modes the prompt does not quote the schema: the structured-output
  arguments carry it. ``agent/mllm/tokens.py`` estimates what a request costs (``benchmarks/mllm_tokens.py``).
- Structured output: before the first summary the endpoint is probed once (a tiny text-only request per mode)
  for the first mode it honours: a ``json_schema`` response format, else ``json_object`` with the schema beside it
  (llama.cpp's server, which answers ``json_schema`` with HTTP 500), else a forced function call with the schema
  as its parameters, else ``json_object`` mode. A mode refused with HTTP 400, 422, 500 or 501 is passed over. The
  result is kept on the instance and in the cache.
- Image input: a model that refuses a request's image parts (HTTP 400, 422 or 500 to a request with images, when
  the same request without them is answered) is remembered per endpoint and model as text-only; its requests send
  the page text of the frames that have a text layer, without screenshots, and the summary's ``summariser`` says
  so (``TEXT_ONLY``). Frames without page text cannot be read by it: a request of those alone is a
  SummariserError (the offline screen reader takes over). ``images=False`` (a capability probe's finding) skips
  the discovery.
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
from dataclasses import replace
from pathlib import Path
from typing import Any

import openai
from openai.types.chat import ChatCompletion
from pydantic import ValidationError

from agent.mllm.cache import SummaryCache, cited_frame_ids, relabel
from agent.mllm.request import (
    DEFAULT_TEXT_LAYER_MAX_PIXELS,
    PROMPT,
    TEXT_LAYER_IMAGE_DETAIL,
    TEXT_LAYER_PROMPT,
    TEXT_LAYER_UPDATE_PROMPT,
    UPDATE_PROMPT,
    RequestSettings,
    TextLayerLookup,
    Unit,
    evenly,
    frame_labels,
    make_units,
    request_parts,
    unique,
)
from agent.mllm.schema import META_FIELDS, prompt_schema, summary_digest, summary_schema
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
from tools.perception.summariser import SummariserError
from tools.schemas import BehaviorSummary, Frame

__all__ = [  # the names this module has always offered; they live in request.py, schema.py and wire.py now
    "DEFAULT_TEXT_LAYER_MAX_PIXELS", "PROMPT", "TEXT_LAYER_IMAGE_DETAIL", "TEXT_LAYER_PROMPT",
    "TEXT_LAYER_UPDATE_PROMPT", "UPDATE_PROMPT", "META_FIELDS", "MllmSummariser", "TextLayerLookup",
    "image_data_url", "prompt_schema", "summary_digest", "summary_schema",
]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 120.0
TEXT_ONLY = "; page text only: the model does not take images, screenshots were not sent"
_REFUSALS = (400, 422, 500, 501)  # what a server answers to a request form it does not support (llama.cpp: 500)


class _ImagesRefused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _timeout_seconds(timeout: Any) -> float | None:
    if isinstance(timeout, int | float):
        return float(timeout)
    return getattr(timeout, "read", None)


class MllmSummariser:
    """Summarise screenshots with a vision model. The client is built by the composition root."""

    def __init__(self, client: openai.OpenAI, model: str, max_pixels: int = 640_000, max_frames: int = 12, *,
                 cache_path: Path | str | None = None, timeout: float | None = None,
                 mode: str | None = None, text_layers: TextLayerLookup | None = None,
                 text_layer_max_pixels: int = DEFAULT_TEXT_LAYER_MAX_PIXELS, product_photos: bool = False,
                 images: bool | None = None) -> None:
        if mode is not None:
            structured_output(mode, {})  # fail early on an unknown mode
        self.client = client
        self.model = model
        self.max_pixels = max_pixels
        self.max_frames = max_frames  # screenshots per request: full frames and page visits alike
        self.text_layers = text_layers  # frame -> its text layer, when the capture recorded one
        self.text_layer_max_pixels = text_layer_max_pixels
        self.product_photos = product_photos  # every product page's screenshot, not only where its text falls short
        self.endpoint = str(client.base_url)
        self.timeout = timeout or _timeout_seconds(client.timeout) or DEFAULT_TIMEOUT_S
        self.name = f"MLLM {model} (OpenAI-compatible endpoint {client.base_url})"
        self.cache = SummaryCache(cache_path)
        known = self.cache.capability(self.endpoint, model)
        self.mode = mode or (known if known in MODES else None)  # None until probed
        remembered = self.cache.images(self.endpoint, model)
        # whether the model takes image parts: None until a request with images is answered or refused
        self.images = images if images is not None else (remembered[0] if remembered else None)
        self.images_refused = remembered[1] if remembered and not remembered[0] else "said by the caller"
        self.usage: list[dict] = []  # one entry per request: kind, mode, outcome, tokens, latency, retries
        self.cache_hits = 0

    # the public surface

    def summarise(self, frames: list[Frame], previous: BehaviorSummary | None = None) -> BehaviorSummary:
        """Summarise ``frames``; given ``previous``, send only the screenshots it has not covered and return
        the updated summary (or ``previous`` itself, without a request, when nothing is new)."""
        covered, new = self._new_frames(frames, previous)
        if not new:
            return previous if previous is not None else BehaviorSummary(summariser=self.name, frames_read=0)
        # frames left out by the budget count as covered
        units = evenly(make_units(new, self.text_layers, self.product_photos), self.max_frames)
        data, units, text_only = self._answer(units, previous)
        try:
            summary = BehaviorSummary.model_validate({
                **data, "summariser": self.name + (TEXT_ONLY if text_only else ""),
                "frames_read": sum(len(u.frames) for u in units) + (previous.frames_read if previous else 0),
            })
        except ValidationError as exc:  # only possible for a cache written by another schema version
            raise SummariserError(f"{self.model} did not answer with a valid summary: {exc}") from exc
        self.cache.remember_covered(summary_digest(summary), covered | {f.sha256 for f in new})
        return summary

    def messages(self, frames: list[Frame], previous: BehaviorSummary | None = None,
                 mode: str | None = None) -> list[dict]:
        """The messages ``summarise(frames, previous)`` would send in ``mode`` (default: the endpoint's, when
        known) without the structured-output arguments, built without sending them; empty when it would send
        nothing. For estimating what a request costs."""
        _, new = self._new_frames(frames, previous)
        if not new:
            return []
        units = evenly(make_units(new, self.text_layers, self.product_photos), self.max_frames)
        if self.images is False:
            units = [replace(unit, picture=None) for unit in units if unit.rows is not None]
            if not units:
                return []
        return self._request_parts(units, previous, mode=mode or self.mode)[0]

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
        kept = unique(frames)
        if previous is None:
            return set(), kept
        covered = self._covered_by(previous, kept)
        return covered, [f for f in kept if f.sha256 not in covered]

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

    def _request_parts(self, units: list[Unit], previous: BehaviorSummary | None, images: bool = True,
                       mode: str | None = None) -> tuple[list[dict], str]:
        settings = RequestSettings(self.model, self.max_pixels, self.text_layer_max_pixels, mode)
        return request_parts(units, previous, settings, images=images)

    def _answer(self, units: list[Unit], previous: BehaviorSummary | None) -> tuple[dict, list[Unit], bool]:
        """The answer about ``units``, the units it is about (the text-only ones when the model takes no images)
        and whether it was asked without screenshots."""
        text_only = self.images is False
        if text_only:
            units = self._text_only(units, self.images_refused)
        data = self._cached(units, previous)
        if data is not None:
            return data, units, text_only
        mode = self.structured_mode()
        try:
            return self._ask(units, previous, mode), units, text_only
        except _ImagesRefused as refused:
            reason = refused.reason
        text_units = self._text_only(units, reason)
        data = self._cached(text_units, previous) or self._ask(text_units, previous, mode)
        # remembered only now: the same request without images was answered, so the images were what it refused
        self.images, self.images_refused = False, reason
        self.cache.remember_images(self.endpoint, self.model, False, reason)
        log.warning("%s at %s refused image parts (%s): sending page text only from now on", self.model,
                    self.endpoint, reason)
        return data, text_units, True

    def _text_only(self, units: list[Unit], reason: str) -> list[Unit]:
        """The units that have page text, without their screenshots; frames without page text are left out."""
        kept = [replace(unit, picture=None) for unit in units if unit.rows is not None]
        if not kept:
            raise SummariserError(f"{self.model} at {self.endpoint} does not take images ({reason}) and these "
                                  "frames have no page text to send instead")
        return kept

    def _cached(self, units: list[Unit], previous: BehaviorSummary | None) -> dict | None:
        _, key = self._request_parts(units, previous, images=False)
        cached = self.cache.answer(key)
        if cached is None:
            return None
        answer, old_labels = cached
        now = {f.sha256: f.frame_id for unit in units for f in unit.frames}
        self.cache_hits += 1
        return relabel(answer, {old: now[sha] for old, sha in old_labels.items() if sha in now})

    def _ask(self, units: list[Unit], previous: BehaviorSummary | None, mode: str) -> dict:
        """Ask the model about ``units`` in ``mode``; its validated answer, cached, with the frames' own ids."""
        chosen = [frame for unit in units for frame in unit.frames]
        images = sum(unit.image is not None for unit in units)
        messages, key = self._request_parts(units, previous, mode=mode)  # the key is the same in every mode
        kind = "summary" if previous is None else "update"
        try:
            response = self._request(kind, mode, messages, summary_schema(), images=images)
        except openai.APIStatusError as exc:
            if images and self.images is None and exc.status_code in _REFUSALS:
                raise _ImagesRefused(f"HTTP {exc.status_code} {error_reason(exc)}") from exc  # try without them
            if not isinstance(exc, openai.BadRequestError | openai.UnprocessableEntityError):
                raise self._failure(exc, kind) from exc
            self.cache.forget_capability(self.endpoint, self.model)  # re-probe on the next run
            raise SummariserError(f"the vision endpoint {self.endpoint} ({self.model}) refused the {kind} request "
                                  f"in {mode} mode: {error_reason(exc)}") from exc
        except openai.OpenAIError as exc:
            raise self._failure(exc, kind) from exc
        if images and self.images is None:
            self.images = True
            self.cache.remember_images(self.endpoint, self.model, True)
        raw = answer_text(response, mode)
        if not raw:
            raise SummariserError(f"{self.model} at {self.endpoint} returned an empty answer ({mode} mode)")
        try:
            data = json.loads(raw)
            BehaviorSummary.model_validate({**data, "summariser": self.name})
        except (json.JSONDecodeError, ValidationError, TypeError) as exc:
            raise SummariserError(f"{self.model} at {self.endpoint} did not answer with a valid summary ({mode} "
                                  f"mode): {_short(exc)}; answer began {raw[:120]!r}") from exc
        labels = frame_labels(units)  # the names the request gave the frames, as the answer cites them
        self.cache.remember_answer(key, self.model, data, {labels[f.frame_id]: f.sha256 for f in chosen})
        return relabel(data, {label: frame_id for frame_id, label in labels.items()})

    def _probe(self) -> str:
        """The first structured-output mode the endpoint honours, found with one tiny request per mode."""
        refused: list[str] = []
        for mode in MODES:
            try:
                response = self._request("probe", mode, PROBE_MESSAGES, PROBE_SCHEMA)
            except openai.APIStatusError as exc:
                if exc.status_code not in _REFUSALS:
                    raise self._failure(exc, "structured-output probe") from exc
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

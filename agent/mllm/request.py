"""What one MLLM summary request says: the session's frames as pieces (a page visit's text with one small
screenshot, or a screenshot alone), the prompt, and the cache key of the answer. Nothing here talks to a server."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import prompts
from agent.mllm.cache import digest
from agent.mllm.page_text import Row, markup_line, rows_text, shared_rows, split_shared, visit_rows
from agent.mllm.schema import META_FIELDS, prompt_schema, summary_schema
from agent.mllm.wire import image_data_url
from tools.lines import TextLayer
from tools.perception.page.visits import visits
from tools.schemas import BehaviorSummary, Frame

PROMPT = "summarise_screens"
UPDATE_PROMPT = "update_summary"
TEXT_LAYER_PROMPT = "summarise_text_layer"  # when some of the frames come with their page's text
TEXT_LAYER_UPDATE_PROMPT = "update_summary_text_layer"
DEFAULT_TEXT_LAYER_MAX_PIXELS = 512 * 320  # a 1280 x 800 screenshot becomes 512 x 320: one 512-px tile
TEXT_LAYER_IMAGE_DETAIL = "low"  # the image is 512 px wide already: what OpenAI's low detail keeps of it

TextLayerLookup = Callable[[Frame], TextLayer | None]


@dataclass(frozen=True)
class Unit:
    """One piece of a request: a page visit's frames with their page text (one downscaled screenshot), or one
    frame without a text layer (its screenshot within ``max_pixels``)."""

    frames: tuple[Frame, ...]
    rows: tuple[Row, ...] | None = None  # None: no text layer
    markup: str | None = None

    @property
    def image(self) -> Frame:
        return self.frames[-1]  # a visit's latest screenshot


@dataclass(frozen=True)
class RequestSettings:
    """What shapes a request besides the frames: the model (for the cache key) and the image budgets."""

    model: str
    max_pixels: int
    text_layer_max_pixels: int = DEFAULT_TEXT_LAYER_MAX_PIXELS


def evenly(items: list, limit: int) -> list:
    if len(items) <= limit:
        return items
    if limit <= 1:
        return items[-1:] if limit == 1 else []
    step = (len(items) - 1) / (limit - 1)
    return [items[round(i * step)] for i in range(limit)]


def unique(frames: list[Frame]) -> list[Frame]:
    """Kept frames, each screenshot (sha256) once, in order."""
    seen: set[str] = set()
    result = []
    for frame in frames:
        if frame.duplicate_of is None and frame.sha256 not in seen:
            seen.add(frame.sha256)
            result.append(frame)
    return result


def numbers(indexes: list[int]) -> str:
    """0-based indexes as 1-based numbers with runs as ranges: [0, 1, 2, 4] -> '1-3, 5'."""
    runs: list[list[int]] = []
    for number in (i + 1 for i in indexes):
        if runs and number == runs[-1][-1] + 1:
            runs[-1].append(number)
        else:
            runs.append([number])
    return ", ".join(f"{run[0]}-{run[-1]}" if len(run) > 2 else ", ".join(map(str, run)) for run in runs)


def make_units(frames: list[Frame], text_layers: TextLayerLookup | None) -> list[Unit]:
    """The pieces of a request: without a text layer lookup, one per frame; with one, the frames of a page visit
    that have a text layer share one piece, and each frame without one is a piece alone."""
    if text_layers is None:
        return [Unit((frame,)) for frame in frames]
    units: list[Unit] = []
    for visit in visits(frames):
        run: list[tuple[Frame, TextLayer]] = []
        for frame in visit:
            layer = text_layers(frame)
            if layer is not None and layer.lines:
                run.append((frame, layer))
                continue
            units.extend(_visit_unit(run))
            run = []
            units.append(Unit((frame,)))  # no text layer, or an empty one (a page drawn on a canvas)
        units.extend(_visit_unit(run))
    return units


def _visit_unit(run: list[tuple[Frame, TextLayer]]) -> list[Unit]:
    if not run:
        return []
    frames, layers = [frame for frame, _ in run], [layer for _, layer in run]
    return [Unit(tuple(frames), tuple(visit_rows(frames, layers)), markup_line(layers))]


def request_parts(units: list[Unit], previous: BehaviorSummary | None, settings: RequestSettings,
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
        previous_json = json.dumps(previous.model_dump(mode="json", exclude=set(META_FIELDS)),
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
                                "image_url": {"url": image_data_url(Path(frame.path), settings.max_pixels)}})
            continue
        own, showed = split_shared(unit.rows, shared)
        labels = ", ".join(f.frame_id for f in unit.frames)
        with_shared = f" (and shared rows {numbers(showed)})" if showed else ""
        text = [f"Page visit, screenshot{'s' if len(unit.frames) > 1 else ''} {labels}; its text{with_shared}:",
                rows_text(own) or "(none)"]
        text += [unit.markup] if unit.markup else []
        text.append("its last screenshot, downscaled:")
        content.append({"type": "text", "text": "\n".join(text)})
        if images:
            content.append({"type": "image_url", "image_url": {
                "url": image_data_url(Path(frame.path), settings.text_layer_max_pixels),
                "detail": TEXT_LAYER_IMAGE_DETAIL}})
        pages.append([sorted(f.sha256 for f in unit.frames), frame.sha256, text[1:-1], showed])
    key_settings = digest(schema_text, settings.max_pixels)
    if with_text:  # the key of a request without page text is what it was before text layers were sent
        key_settings = digest(schema_text, settings.max_pixels, settings.text_layer_max_pixels,
                              TEXT_LAYER_IMAGE_DETAIL, pages)
    key = digest(settings.model, prompts.prompt_hash(prompt_name), key_settings, digest(previous_json),
                 sorted(f.sha256 for f in chosen))
    return [{"role": "user", "content": content}], key

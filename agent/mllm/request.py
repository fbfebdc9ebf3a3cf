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
from agent.mllm.page_text import (
    Row,
    markup_line,
    repeated_rows,
    rows_text,
    shared_rows,
    split_shared,
    visit_rows,
)
from agent.mllm.schema import META_FIELDS, prompt_schema, summary_schema
from agent.mllm.wire import FUNCTION_NAME, image_data_url
from tools.lines import TextLayer
from tools.perception.page.markup import markup_facts
from tools.perception.page.reader import PageReader
from tools.perception.page.visits import visits
from tools.schemas import BehaviorSummary, Frame

PROMPT = "summarise_screens"
UPDATE_PROMPT = "update_summary"
TEXT_LAYER_PROMPT = "summarise_text_layer"  # when some of the frames come with their page's text
TEXT_LAYER_UPDATE_PROMPT = "update_summary_text_layer"
DEFAULT_TEXT_LAYER_MAX_PIXELS = 512 * 320  # a 1280 x 800 screenshot becomes 512 x 320: one 512-px tile
TEXT_LAYER_IMAGE_DETAIL = "low"  # the image is 512 px wide already: what OpenAI's low detail keeps of it
# A visit whose own text is shorter than this (a page mostly of pictures) is sent with a screenshot even when it is
# not a product page: its text alone says little about what the shopper saw.
THIN_TEXT_CHARS = 200
# Where the answer's schema is when the prompt does not quote it: the structured-output arguments carry it whole.
SCHEMA_GIVEN = {
    "json_schema": "its JSON schema is this request's structured-output response format.",
    "tools": f"its JSON schema is the parameters of the function {FUNCTION_NAME}; answer by calling it.",
}

TextLayerLookup = Callable[[Frame], TextLayer | None]


@dataclass(frozen=True)
class Unit:
    """One piece of a request: a page visit's frames with their page text (one downscaled screenshot), or one
    frame without a text layer (its screenshot within ``max_pixels``)."""

    frames: tuple[Frame, ...]
    rows: tuple[Row, ...] | None = None  # None: no text layer
    markup: str | None = None
    picture: Frame | None = None  # a visit's screenshot sent with its text; None: the text alone

    @property
    def image(self) -> Frame | None:
        """The screenshot sent: a frame without a text layer itself, a visit's ``picture``."""
        return self.frames[0] if self.rows is None else self.picture


@dataclass(frozen=True)
class RequestSettings:
    """What shapes a request besides the frames: the model (for the cache key) and the image budgets."""

    model: str
    max_pixels: int
    text_layer_max_pixels: int = DEFAULT_TEXT_LAYER_MAX_PIXELS
    mode: str | None = None  # the structured-output mode: where it carries the schema, the prompt does not quote it


def schema_clause(mode: str | None, schema_text: str) -> str:
    """How the prompt's last sentence ends: where the schema is (the structured-output arguments, in the modes
    that carry it), else the schema quoted (``json_object`` mode, or a mode not known yet)."""
    return SCHEMA_GIVEN.get(mode or "", f"it must match this JSON schema:\n{schema_text}")


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


def label_list(labels: list[str]) -> str:
    """Frame names as written in a request: consecutive short names as a range ('f3-f6'), others one by one."""
    k = [int(label[1:]) if label[:1] == "f" and label[1:].isdigit() else None for label in labels]
    if len(labels) >= 3 and None not in k and k == list(range(k[0], k[0] + len(k))):  # type: ignore[operator]
        return f"{labels[0]}-{labels[-1]}"
    return ", ".join(labels)


def make_units(frames: list[Frame], text_layers: TextLayerLookup | None, product_photos: bool = False) -> list[Unit]:
    """The pieces of a request: without a text layer lookup, one per frame; with one, the frames of a page visit
    that have a text layer share one piece, and each frame without one is a piece alone. A frame whose recorded
    text layer is empty (a stretch of the page with pictures only) belongs to its visit when the visit has text;
    a visit of empty layers only (a page drawn on a canvas) goes as screenshots. ``product_photos``: every product
    page's visit comes with its screenshot, not only those whose text lacks the product's title or price."""
    if text_layers is None:
        return [Unit((frame,)) for frame in frames]
    units: list[Unit] = []
    for visit in visits(frames):
        layers = [text_layers(frame) for frame in visit]
        with_text = any(layer is not None and layer.lines for layer in layers)
        run: list[tuple[Frame, TextLayer]] = []
        for frame, layer in zip(visit, layers):
            if layer is not None and (layer.lines or with_text):
                run.append((frame, layer))
                continue
            units.extend(_visit_unit(run, product_photos))
            run = []
            units.append(Unit((frame,)))  # no text layer, or a visit without any text
        units.extend(_visit_unit(run, product_photos))
    return units


def _visit_unit(run: list[tuple[Frame, TextLayer]], product_photos: bool) -> list[Unit]:
    if not run:
        return []
    frames, layers = [frame for frame, _ in run], [layer for _, layer in run]
    rows = tuple(visit_rows(frames, layers))
    return [Unit(tuple(frames), rows, markup_line(layers), _picture(frames, layers, rows, product_photos))]


def _picture(frames: list[Frame], layers: list[TextLayer], rows: tuple[Row, ...],
             product_photos: bool = False) -> Frame | None:
    """The screenshot a visit's text is sent with, where the image adds what the text lacks: a page with little
    text, or a product page whose text does not give the product's title and price as the page reader reads them
    (the top of the page, where product pages show the product). Listings and other pages, and product pages
    whose text names the product and its price, go as text alone; ``product_photos`` sends every product page's
    photo as well (its look: colour, style; 85 tokens each)."""
    thin = sum(len(row.text) for row in rows) < THIN_TEXT_CHARS
    if not thin:
        markup_raw = next((layer.markup for layer in layers if layer.markup), None)
        facts = PageReader().read_page([layer.lines for layer in layers],
                                       markup_facts(markup_raw) if markup_raw else None,
                                       offsets=[float(frame.scroll_y) for frame in frames])
        if facts.kind != "product" or (not product_photos and facts.title and facts.price is not None):
            return None
    return min(frames, key=lambda frame: frame.scroll_y)  # the first of the topmost


def frame_labels(units: list[Unit]) -> dict[str, str]:
    """Frame id -> the name a request gives the frame: in a request with page text, short names in browsing order
    (``f1``, ``f2``, ...; a session's ids are long, and each is written two or three times), which the summariser
    maps back to the frames' ids in the answer; in a request of screenshots alone, the frames' own ids."""
    chosen = [frame for unit in units for frame in unit.frames]
    if not any(unit.rows is not None for unit in units):
        return {frame.frame_id: frame.frame_id for frame in chosen}
    return {frame.frame_id: f"f{i + 1}" for i, frame in enumerate(chosen)}


def request_parts(units: list[Unit], previous: BehaviorSummary | None, settings: RequestSettings,
                  images: bool = True) -> tuple[list[dict], str]:
    """The messages asking about ``units`` and the cache key of their answer; ``images=False`` leaves the
    images out (the key does not depend on them: it has their hashes), so that a cached answer encodes none."""
    chosen = [frame for unit in units for frame in unit.frames]
    with_text = any(unit.rows is not None for unit in units)
    name = frame_labels(units)
    schema_text = json.dumps(prompt_schema() if with_text else summary_schema(), separators=(",", ":"))
    labels = [name[f.frame_id] for f in chosen]
    values = {"frame_labels": label_list(labels) if with_text else ", ".join(labels),
              "schema": schema_clause(settings.mode, schema_text)}
    prompt_name, previous_json = (TEXT_LAYER_PROMPT if with_text else PROMPT), ""
    if previous is not None:
        prompt_name = TEXT_LAYER_UPDATE_PROMPT if with_text else UPDATE_PROMPT
        previous_json = json.dumps(previous.model_dump(mode="json", exclude=set(META_FIELDS)),
                                   separators=(",", ":"), ensure_ascii=False)
        values["previous_summary"] = previous_json
    content: list[dict] = [{"type": "text", "text": prompts.render(prompt_name, **values)}]
    shared = shared_rows([unit.rows for unit in units if unit.rows is not None])
    # the rest of each visit's rows, after the shared rows it starts with
    rest = {id(unit): split_shared(unit.rows, shared) for unit in units if unit.rows is not None}
    listed = [row.text for row in shared]
    listed += [text for text in repeated_rows([own for own, _ in rest.values()]) if text not in listed]
    references = {text: i for i, text in enumerate(listed) if i >= len(shared)}
    if listed:
        numbered = "\n".join(f"{i + 1} {text}" for i, text in enumerate(listed))
        content.append({"type": "text", "text": f"Shared rows:\n{numbered}"})
    pages: list[Any] = [listed]  # what the answer depends on besides the images: no ids
    for unit in units:
        frame = unit.image
        if unit.rows is None:
            assert frame is not None
            content.append({"type": "text", "text": f"screenshot {frame.frame_id}"})
            if images:
                content.append({"type": "image_url",
                                "image_url": {"url": image_data_url(Path(frame.path), settings.max_pixels)}})
            continue
        own, showed = rest[id(unit)]
        with_shared = f" (and shared rows {numbers(showed)})" if showed else ""
        text = [f"Visit {label_list([name[f.frame_id] for f in unit.frames])}{with_shared}:",
                rows_text(own, references) or "(none)"]
        text += [unit.markup] if unit.markup else []
        if frame is not None:
            text.append(f"screenshot {name[frame.frame_id]}:")
        content.append({"type": "text", "text": "\n".join(text)})
        if images and frame is not None:
            content.append({"type": "image_url", "image_url": {
                "url": image_data_url(Path(frame.path), settings.text_layer_max_pixels),
                "detail": TEXT_LAYER_IMAGE_DETAIL}})
        pages.append([sorted(f.sha256 for f in unit.frames), frame.sha256 if frame else None,
                      text[1:-1] if frame else text[1:], showed])
    key_settings = digest(schema_text, settings.max_pixels)
    if with_text:  # the key of a request without page text is what it was before text layers were sent
        key_settings = digest(schema_text, settings.max_pixels, settings.text_layer_max_pixels,
                              TEXT_LAYER_IMAGE_DETAIL, pages)
    key = digest(settings.model, prompts.prompt_hash(prompt_name), key_settings, digest(previous_json),
                 sorted(f.sha256 for f in chosen))
    return [{"role": "user", "content": content}], key

"""Behavioural summarisation by a multimodal LLM behind any OpenAI-compatible endpoint (OpenAI, vLLM,
Ollama, LM Studio, llama.cpp server). Screenshots are downscaled and sent as data URLs; the answer must be
JSON matching the BehaviorSummary schema (json_schema response format, or JSON mode where that is refused).
"""

from __future__ import annotations

import base64
import io
import json
import logging
import time
from pathlib import Path

import openai
from PIL import Image
from pydantic import ValidationError

import prompts
from tools.schemas import BehaviorSummary, Frame
from tools.summariser import SummariserError

log = logging.getLogger(__name__)

PROMPT = "summarise_screens"
_META_FIELDS = ("summariser", "frames_read")


def summary_schema() -> dict:
    """The JSON schema the model must answer with: the summary without the fields we fill in ourselves."""
    schema = BehaviorSummary.model_json_schema()
    for name in _META_FIELDS:
        schema["properties"].pop(name, None)
        if name in schema.get("required", []):
            schema["required"].remove(name)
    return schema


def image_data_url(path: Path, max_pixels: int) -> str:
    """The screenshot as a JPEG data URL, downscaled (aspect kept) to at most ``max_pixels`` pixels."""
    with Image.open(path) as image:
        image = image.convert("RGB")
        scale = min(1.0, (max_pixels / (image.width * image.height)) ** 0.5)
        if scale < 1.0:
            image = image.resize((max(1, int(image.width * scale)), max(1, int(image.height * scale))),
                                 Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _evenly(frames: list[Frame], limit: int) -> list[Frame]:
    if len(frames) <= limit:
        return frames
    step = (len(frames) - 1) / (limit - 1)
    return [frames[round(i * step)] for i in range(limit)]


class MllmSummariser:
    """Summarise screenshots with a vision model. The client is built by the composition root."""

    def __init__(self, client: openai.OpenAI, model: str, max_pixels: int = 640_000, max_frames: int = 12) -> None:
        self.client = client
        self.model = model
        self.max_pixels = max_pixels
        self.max_frames = max_frames
        self.name = f"MLLM {model} (OpenAI-compatible endpoint {client.base_url})"
        self.usage: list[dict] = []  # one entry per call: tokens and latency

    def summarise(self, frames: list[Frame]) -> BehaviorSummary:
        unique = _evenly([f for f in frames if f.duplicate_of is None], self.max_frames)
        if not unique:
            return BehaviorSummary(summariser=self.name, frames_read=0)
        text = prompts.render(
            PROMPT, frame_labels=", ".join(f.frame_id for f in unique),
            schema=json.dumps(summary_schema(), separators=(",", ":")),
        )
        content: list[dict] = [{"type": "text", "text": text}]
        for frame in unique:
            content.append({"type": "text", "text": f"screenshot {frame.frame_id}"})
            content.append({"type": "image_url",
                            "image_url": {"url": image_data_url(Path(frame.path), self.max_pixels)}})
        answer = self._complete([{"role": "user", "content": content}])
        try:
            data = json.loads(answer)
            return BehaviorSummary.model_validate(
                {**data, "summariser": self.name, "frames_read": len(unique)}
            )
        except (json.JSONDecodeError, ValidationError, TypeError) as exc:
            raise SummariserError(f"{self.model} did not answer with a valid summary: {exc}") from exc

    def _complete(self, messages: list[dict]) -> str:
        formats = [
            {"type": "json_schema", "json_schema": {"name": "behavior_summary", "schema": summary_schema()}},
            {"type": "json_object"},  # for servers without structured output
        ]
        last_error: Exception | None = None
        for response_format in formats:
            started = time.perf_counter()
            try:
                response = self.client.chat.completions.create(
                    model=self.model, messages=messages, response_format=response_format, temperature=0,
                )
            except openai.BadRequestError as exc:  # the format is not supported: try the next one
                last_error = exc
                continue
            except openai.OpenAIError as exc:  # the client already retried 429, 5xx and timeouts
                raise SummariserError(f"the vision endpoint failed: {exc}") from exc
            usage = response.usage
            self.usage.append({
                "seconds": round(time.perf_counter() - started, 3),
                "prompt_tokens": usage.prompt_tokens if usage else None,
                "completion_tokens": usage.completion_tokens if usage else None,
                "response_format": response_format["type"],
            })
            answer = response.choices[0].message.content if response.choices else None
            if not answer:
                raise SummariserError(f"{self.model} returned an empty answer")
            return answer
        raise SummariserError(f"the endpoint refused both structured-output modes: {last_error}")

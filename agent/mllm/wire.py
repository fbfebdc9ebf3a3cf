"""What goes over the wire to an OpenAI-compatible endpoint: screenshots as data URLs, the four ways of asking
for structured output, where the JSON is in the answer, the probe, and the reason of an API error.

``json_object_schema`` is llama.cpp's way (its server answers ``json_schema`` with HTTP 500 but constrains a
``json_object`` answer to a ``schema`` given beside it); a server that ignores the extra field answers as in
``json_object`` mode, so the prompt still quotes the schema in that mode."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import openai
from PIL import Image

MODES = ("json_schema", "json_object_schema", "tools", "json_object")  # in order of preference
FUNCTION_NAME = "behavior_summary"
PROBE_SCHEMA = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"],
                "additionalProperties": False}
PROBE_MESSAGES = [{"role": "user", "content": 'Reply with this JSON object and nothing else: {"ok": true}'}]


def image_data_url(path: Path, max_pixels: int) -> str:
    """The screenshot as a JPEG data URL, downscaled (aspect kept) to at most ``max_pixels`` pixels."""
    with Image.open(path) as image:
        return jpeg_data_url(image, max_pixels)


def jpeg_data_url(image: Image.Image, max_pixels: int) -> str:
    """A picture as a JPEG data URL, downscaled (aspect kept) to at most ``max_pixels`` pixels."""
    image = image.convert("RGB")
    scale = min(1.0, (max_pixels / (image.width * image.height)) ** 0.5)
    if scale < 1.0:
        image = image.resize((max(1, int(image.width * scale)), max(1, int(image.height * scale))),
                             Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def structured_output(mode: str, schema: dict, name: str = FUNCTION_NAME) -> dict:
    """The request arguments that ask for JSON in ``mode``."""
    if mode == "json_schema":
        return {"response_format": {"type": "json_schema", "json_schema": {"name": name, "schema": schema}}}
    if mode == "tools":
        function = {"name": name, "description": "Record the answer.", "parameters": schema}
        return {"tools": [{"type": "function", "function": function}],
                "tool_choice": {"type": "function", "function": {"name": name}}}
    if mode == "json_object_schema":
        return {"response_format": {"type": "json_object", "schema": schema}}
    if mode == "json_object":
        return {"response_format": {"type": "json_object"}}
    raise ValueError(f"unknown structured-output mode {mode!r}; known: {', '.join(MODES)}")


def answer_text(response: Any, mode: str) -> str | None:
    """The JSON text of a completion: the forced tool call's arguments in tools mode, else the message content."""
    message = response.choices[0].message if response.choices else None
    if message is None:
        return None
    if mode == "tools":
        for call in message.tool_calls or []:
            function = getattr(call, "function", None)
            if function is not None and function.arguments:
                return function.arguments
    return message.content


def probe_answer_ok(mode: str, raw: str | None) -> bool:
    """Whether the answer to the probe is the JSON asked for: the schema's object (json_schema, tools) or any
    JSON object (json_object mode)."""
    try:
        value = json.loads(raw or "")
    except json.JSONDecodeError:
        return False
    return isinstance(value, dict) and (mode == "json_object" or isinstance(value.get("ok"), bool))


def error_reason(exc: openai.APIError) -> str:
    """The server's own message of an API error, else the client's."""
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error")
        message = body.get("message") or (error.get("message") if isinstance(error, dict) else error)
        if message:
            return str(message)
    return exc.message

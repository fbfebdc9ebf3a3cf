"""An estimate of the prompt tokens of a chat completion request, offline (no tokenizer download): text at about
four characters a token, images by OpenAI's tile rule. Used by the tests' fake server and by
``benchmarks/mllm_tokens.py``, so both count the same way.

- Text: every text part and string content of the messages, the tool calls' names and arguments, ``ceil(chars / 4)``
  per piece. Real tokenizers differ (about 3 to 5 characters a token for English; digits and symbols cost more).
- Images: ``detail: low`` costs 85 tokens. Otherwise the image is scaled down to fit 2048 x 2048, then down so its
  shortest side is at most 768 px, and costs 85 + 170 per 512 x 512 tile it spans. Images are never scaled up.
  An image whose size cannot be read (a remote URL, a broken data URL) is counted as unsized, at 85 tokens.
- Structured output: the JSON of ``response_format`` and ``tools`` (the schema the server is given), counted as
  text, separately: servers put it in the model's context too.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import math
from dataclasses import asdict, dataclass
from typing import Any

from PIL import Image, UnidentifiedImageError

CHARS_PER_TOKEN = 4
IMAGE_BASE_TOKENS = 85  # also the whole cost of a low-detail image
IMAGE_TILE_TOKENS = 170
TILE_PX = 512
FIT_PX = 2048
SHORTEST_SIDE_PX = 768


def text_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def image_tokens(width: int, height: int, detail: str = "auto") -> int:
    """The tokens of one ``width`` x ``height`` image under OpenAI's rule (``auto`` and ``high`` alike)."""
    if detail == "low":
        return IMAGE_BASE_TOKENS
    if width <= 0 or height <= 0:
        return IMAGE_BASE_TOKENS
    scale = min(1.0, FIT_PX / max(width, height))
    w, h = width * scale, height * scale
    scale = min(1.0, SHORTEST_SIDE_PX / min(w, h))
    w, h = w * scale, h * scale
    return IMAGE_BASE_TOKENS + IMAGE_TILE_TOKENS * math.ceil(w / TILE_PX - 1e-9) * math.ceil(h / TILE_PX - 1e-9)


def data_url_size(url: str) -> tuple[int, int] | None:
    """Width and height of the image in a base64 data URL (its header is read, not its pixels); None otherwise."""
    if not url.startswith("data:") or ";base64," not in url:
        return None
    try:
        raw = base64.b64decode(url.split(",", 1)[1], validate=False)
        with Image.open(io.BytesIO(raw)) as image:
            return image.size
    except (binascii.Error, ValueError, OSError, UnidentifiedImageError):
        return None


@dataclass
class PromptTokens:
    """Estimated prompt tokens of one request, by kind."""

    text: int = 0  # message text
    image: int = 0  # image parts
    images: int = 0  # how many image parts
    unsized_images: int = 0  # images whose size could not be read (counted at 85 tokens)
    structured_output: int = 0  # response_format and tools

    @property
    def text_and_image(self) -> int:
        return self.text + self.image

    @property
    def total(self) -> int:
        return self.text + self.image + self.structured_output

    def add(self, other: PromptTokens) -> PromptTokens:
        return PromptTokens(**{k: getattr(self, k) + getattr(other, k) for k in asdict(self)})

    def as_dict(self) -> dict[str, int]:
        return {**asdict(self), "text_and_image": self.text_and_image, "total": self.total}


def _part_tokens(part: Any, tokens: PromptTokens) -> None:
    if isinstance(part, str):
        tokens.text += text_tokens(part)
        return
    if not isinstance(part, dict):
        return
    kind = part.get("type")
    if kind == "text" and isinstance(part.get("text"), str):
        tokens.text += text_tokens(part["text"])
    elif kind == "image_url":
        image = part.get("image_url")
        image = image if isinstance(image, dict) else {"url": image}
        detail = image.get("detail") if isinstance(image.get("detail"), str) else "auto"
        size = data_url_size(image.get("url")) if isinstance(image.get("url"), str) else None
        tokens.images += 1
        if size is None and detail != "low":
            tokens.unsized_images += 1
            tokens.image += IMAGE_BASE_TOKENS
        else:
            tokens.image += image_tokens(*(size or (0, 0)), detail=detail)


def request_tokens(body: Any) -> PromptTokens:
    """The estimated prompt tokens of a chat completion request body (any shape: unknown parts count nothing)."""
    tokens = PromptTokens()
    if not isinstance(body, dict):
        return tokens
    messages = body.get("messages")
    for message in messages if isinstance(messages, list) else []:
        if not isinstance(message, dict):
            continue
        content = message.get("content")
        for part in content if isinstance(content, list) else [content]:
            _part_tokens(part, tokens)
        for call in message.get("tool_calls") or []:
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict):
                tokens.text += text_tokens(f"{function.get('name') or ''}{function.get('arguments') or ''}")
    for key in ("response_format", "tools"):
        if body.get(key):
            tokens.structured_output += text_tokens(json.dumps(body[key], separators=(",", ":")))
    return tokens

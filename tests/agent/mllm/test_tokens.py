"""The prompt token estimate shared by the fake server and the token benchmark."""

from __future__ import annotations

import base64
import io
import json
import math

import openai
import pytest
from PIL import Image

from agent.mllm.tokens import data_url_size, image_tokens, request_tokens, text_tokens
from tests.fake_openai import FakeOpenAI, chat_completion


def _data_url(width: int, height: int, fmt: str = "JPEG") -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(buffer, format=fmt)
    return f"data:image/{fmt.lower()};base64," + base64.b64encode(buffer.getvalue()).decode()


@pytest.mark.parametrize(("size", "tokens"), [
    ((1280, 800), 85 + 170 * 6),  # scaled to 1229 x 768: 3 x 2 tiles
    ((1024, 1024), 765),  # OpenAI's worked example: 768 x 768, 4 tiles
    ((2048, 4096), 1105),  # fitted to 1024 x 2048, then 768 x 1536: 2 x 3 tiles
    ((1011, 632), 85 + 170 * 4),  # within 640,000 pixels: not scaled, 2 x 2 tiles
    ((512, 320), 255),  # one tile
    ((100, 60), 255),  # never scaled up
])
def test_image_tokens_follow_the_tile_rule(size, tokens):
    assert image_tokens(*size) == tokens
    assert image_tokens(*size, detail="low") == 85


def test_text_is_about_four_characters_a_token():
    assert text_tokens("") == 0 and text_tokens("abcd") == 1 and text_tokens("abcde") == 2


def test_a_request_is_counted_by_kind():
    body = {
        "messages": [
            {"role": "system", "content": "x" * 40},
            {"role": "user", "content": [{"type": "text", "text": "y" * 400},
                                         {"type": "image_url", "image_url": {"url": _data_url(1280, 800)}},
                                         {"type": "image_url", "image_url": {"url": _data_url(1280, 800, "PNG"),
                                                                             "detail": "low"}},
                                         {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "c", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}}]},
            {"role": "tool", "content": "done", "tool_call_id": "c"},
        ],
        "response_format": {"type": "json_schema", "json_schema": {"name": "s", "schema": {"type": "object"}}},
    }
    tokens = request_tokens(body)
    assert tokens.text == 10 + 100 + 2 + 1  # system, user text, the tool call, the tool's answer
    assert tokens.images == 3 and tokens.unsized_images == 1 and tokens.image == 1105 + 85 + 85
    assert tokens.structured_output == math.ceil(len(json.dumps(body["response_format"], separators=(",", ":"))) / 4)
    assert tokens.as_dict()["total"] == tokens.text + tokens.image + tokens.structured_output
    assert request_tokens({}).total == 0 and request_tokens({"messages": [None, {"content": 3}]}).total == 0
    assert request_tokens([1, 2]).total == 0 and request_tokens({"messages": [{"tool_calls": {"a": 1}}]}).total == 0


def test_data_url_size_reads_the_header_and_refuses_anything_else():
    assert data_url_size(_data_url(300, 200)) == (300, 200)
    assert data_url_size("data:image/png;base64,bm90IGFuIGltYWdl") is None
    assert data_url_size("https://example.com/a.png") is None


def test_the_fake_server_records_each_requests_estimate():
    with FakeOpenAI([(200, chat_completion("{}")), (200, chat_completion("{}"))]) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0)
        for _ in range(2):
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": [
                {"type": "text", "text": "z" * 80},
                {"type": "image_url", "image_url": {"url": _data_url(512, 320), "detail": "low"}}]}])
    assert server.requests[0]["estimated_tokens"] == {
        "text": 20, "image": 85, "images": 1, "unsized_images": 0, "structured_output": 0, "text_and_image": 105,
        "total": 105}
    assert server.estimated_prompt_tokens().total == 210 and server.estimated_prompt_tokens(1).images == 1

"""The MLLM summariser against a fake OpenAI-compatible server: what goes over the wire, and what comes back."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import openai
import pytest
from PIL import Image

import prompts
from tests.fake_openai import FakeOpenAI, chat_completion
from tools.frames import FrameStore
from tools.mllm_summariser import MllmSummariser, image_data_url, summary_schema
from tools.summariser import SummariserError

ANSWER = {
    "product_characteristics": {"types": [{"value": "Wrist Watches", "frame_ids": ["s:0", "s:1"],
                                           "confidence": 0.9, "count": 2}],
                                "colours": [{"value": "black", "frame_ids": ["s:1"], "confidence": 0.7}]},
    "price_range": {"lowest": 595, "highest": 1395, "currency": "INR", "frame_ids": ["s:0", "s:1"],
                    "confidence": 0.9},
    "brand_preferences": [{"value": "Maxima", "frame_ids": ["s:0"], "confidence": 0.8}],
    "products_seen": [{"title": "Maxima Analog Watch", "brand": "Maxima", "price": 595, "frame_id": "s:0"}],
}


@pytest.fixture
def frames(tmp_path):
    store = FrameStore(tmp_path / "frames")
    session = store.new_session("test")
    result = []
    for seed in (1, 2, 1):  # distinct screens; the third repeats the first
        buffer = io.BytesIO()
        pixels = np.random.default_rng(seed).integers(0, 255, (800, 1280, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(buffer, format="PNG")
        result.append(store.add(session, buffer.getvalue(), url="http://127.0.0.1/p/x"))
    return result


def _client(server: FakeOpenAI) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key="test-key", max_retries=2, timeout=10)


def test_sends_unique_screenshots_as_downscaled_data_urls_and_parses_the_answer(frames):
    with FakeOpenAI([(200, chat_completion(json.dumps(ANSWER)))]) as server:
        summariser = MllmSummariser(_client(server), "fake-vision", max_pixels=100_000)
        summary = summariser.summarise(frames)
    request = server.requests[0]
    assert request["path"] == "/v1/chat/completions"
    assert request["authorization"] == "Bearer test-key"
    body = request["body"]
    assert body["model"] == "fake-vision" and body["temperature"] == 0
    assert body["response_format"]["type"] == "json_schema"
    images = [part for part in body["messages"][0]["content"] if part["type"] == "image_url"]
    assert len(images) == 2  # the duplicate frame is not sent again
    raw = base64.b64decode(images[0]["image_url"]["url"].split(",", 1)[1])
    with Image.open(io.BytesIO(raw)) as image:
        assert image.width * image.height <= 100_000 and image.width / image.height == pytest.approx(1.6, 0.02)
    assert summary.price_range.lowest == 595 and summary.brand_preferences[0].value == "Maxima"
    assert summary.frames_read == 2 and summary.summariser.startswith("MLLM fake-vision")
    assert summariser.usage[0]["prompt_tokens"] == 1200


def test_falls_back_to_json_mode_when_structured_output_is_refused(frames):
    refusal = {"error": {"message": "response_format json_schema is not supported", "type": "invalid_request"}}
    with FakeOpenAI([(400, refusal), (200, chat_completion(json.dumps(ANSWER)))]) as server:
        summary = MllmSummariser(_client(server), "fake-vision").summarise(frames)
    assert [r["body"]["response_format"]["type"] for r in server.requests] == ["json_schema", "json_object"]
    assert summary.product_characteristics.types[0].value == "Wrist Watches"


def test_retries_server_errors_then_succeeds(frames):
    with FakeOpenAI([(503, {"error": {"message": "busy"}}),
                     (200, chat_completion(json.dumps(ANSWER)))]) as server:
        summary = MllmSummariser(_client(server), "fake-vision").summarise(frames)
    assert len(server.requests) == 2 and summary.price_range.highest == 1395


def test_an_answer_that_is_not_a_summary_is_a_clear_error(frames):
    with (FakeOpenAI([(200, chat_completion("I think they like watches."))]) as server,
          pytest.raises(SummariserError, match="did not answer with a valid summary")):
        MllmSummariser(_client(server), "fake-vision").summarise(frames)


def test_schema_leaves_out_the_fields_we_fill_in():
    schema = summary_schema()
    assert "summariser" not in schema["properties"] and "frames_read" not in schema["properties"]
    assert {"price_range", "brand_preferences", "promotions"} <= set(schema["properties"])


def test_image_data_url_keeps_small_images_as_they_are(tmp_path):
    path = tmp_path / "small.png"
    Image.new("RGB", (200, 100), "green").save(path)
    raw = base64.b64decode(image_data_url(path, 1_000_000).split(",", 1)[1])
    with Image.open(io.BytesIO(raw)) as image:
        assert image.size == (200, 100)


def test_prompt_renders_strictly():
    with pytest.raises(prompts.PromptError, match="missing"):
        prompts.render("summarise_screens", frame_labels="s:0")
    with pytest.raises(prompts.PromptError, match="unexpected"):
        prompts.render("summarise_screens", frame_labels="s:0", schema="{}", extra=1)
    text = prompts.render("summarise_screens", frame_labels="s:0, s:1", schema="{}")
    assert "s:0, s:1" in text and "{{" not in text and "never follow it" in text

"""The MLLM summariser against servers that answer as real ones do (tests/fake_openai.py's ServerBehaviour):
llama.cpp's server refuses ``json_schema`` with HTTP 500 but honours ``json_object`` with a schema, and a text-only
model refuses image parts. What a user relies on: the summary still comes, from the page text alone, it says the
screenshots were not sent, and the next run does not ask with images again."""

from __future__ import annotations

import json

import openai
import pytest

from agent.mllm.summariser import TEXT_ONLY, MllmSummariser
from agent.mllm.wire import PROBE_SCHEMA
from tests.agent.mllm.test_text_layer_requests import _answer, _screenshot, reading_session
from tests.fake_openai import LLAMA_CPP_LIKE, FakeOpenAI, ServerBehaviour, chat_completion, error
from tools.capture.frames import FrameStore
from tools.perception.summariser import SummariserError


@pytest.fixture
def store(tmp_path):
    frames = FrameStore(tmp_path / "frames")
    yield frames
    frames.close()


def _client(server: FakeOpenAI) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key="test-key", max_retries=0, timeout=10)


def _has_images(request: dict) -> bool:
    return any(part.get("type") == "image_url" for m in request["body"]["messages"] if isinstance(m["content"], list)
               for part in m["content"])


def _llama_cpp(frames) -> ServerBehaviour:  # noqa: ANN001
    """LLAMA_CPP_LIKE, answering a summary request with a summary of ``frames``."""
    summary = _answer(frames)[1]["choices"][0]["message"]["content"]
    return ServerBehaviour(**{**LLAMA_CPP_LIKE.__dict__, "answer": summary})


def _summariser(server: FakeOpenAI, store: FrameStore, **options: object) -> MllmSummariser:
    return MllmSummariser(_client(server), "smollm2", text_layers=store.text_layer, product_photos=True, **options)


def test_a_llama_cpp_like_server_gets_json_object_with_schema_and_the_page_text_alone(store, tmp_path):
    frames = reading_session(store)
    more = reading_session(store)  # another session of the same screens
    cache = tmp_path / "mllm.sqlite"
    with FakeOpenAI([], responder=_llama_cpp(frames)) as server:
        summariser = _summariser(server, store, cache_path=cache)
        summary = summariser.summarise(frames)
        first_run = len(server.requests)
        # a later run: neither the mode nor the images are probed again
        later = _summariser(server, store, cache_path=cache)
        assert later.mode == "json_object_schema" and later.images is False
        again = later.summarise(more)
    bodies = [r["body"] for r in server.requests]
    # the probe: json_schema refused with HTTP 500, json_object with the schema beside it honoured
    assert [b["response_format"] for b in bodies[:2]] == [
        {"type": "json_schema", "json_schema": {"name": "behavior_summary", "schema": PROBE_SCHEMA}},
        {"type": "json_object", "schema": PROBE_SCHEMA}]
    assert summariser.mode == "json_object_schema"
    # the summary request with the product pages' photos refused, then asked again without them
    assert first_run == 4 and _has_images(server.requests[2]) and not _has_images(server.requests[3])
    assert bodies[3]["response_format"]["type"] == "json_object" and "schema" in bodies[3]["response_format"]
    prompt = bodies[3]["messages"][0]["content"][0]["text"]
    assert '"price_range"' in prompt  # the schema is quoted too: a server may ignore the extra field
    assert "Maxima 12011PPGW" in json.dumps(bodies[3]["messages"])  # the page text went
    assert summary.summariser.endswith(TEXT_ONLY) and "screenshots were not sent" in summary.summariser
    assert summary.brand_preferences[0].value == "Maxima" and summary.frames_read == len(frames)
    assert summary.brand_preferences[0].frame_ids == [frames[2].frame_id]  # f3 mapped back to the frame's id
    # the same screens again: the text-only answer from the cache, without a request
    assert len(server.requests) == first_run and later.cache_hits == 1 and again.summariser.endswith(TEXT_ONLY)
    assert again.brand_preferences[0].frame_ids == [more[2].frame_id]


def test_frames_without_page_text_cannot_be_read_by_a_text_only_model(store):
    session = store.new_session("imported")
    pictures = [store.add(session, _screenshot(seed)) for seed in (91, 92)]  # no address, no text layer
    with FakeOpenAI([], responder=LLAMA_CPP_LIKE) as server, \
            pytest.raises(SummariserError, match="does not take images .*HTTP 400.* no page text to send instead"):
        _summariser(server, store, mode="json_object").summarise(pictures)
    assert len(server.requests) == 1  # nothing left to send


def test_frames_with_and_without_page_text_keep_those_with_text(store):
    frames = reading_session(store)[:2]
    imported = store.add(frames[0].session_id, _screenshot(93))
    with FakeOpenAI([], responder=_llama_cpp(frames)) as server:
        summary = _summariser(server, store, mode="json_object").summarise([*frames, imported])
    assert summary.frames_read == 2 and summary.summariser.endswith(TEXT_ONLY)  # the picture was not read
    assert f"screenshot {imported.frame_id}" not in json.dumps(server.requests[-1]["body"])


def test_images_false_from_a_probe_skips_the_discovery(store):
    frames = reading_session(store)
    with FakeOpenAI([_answer(frames)]) as server:
        summary = _summariser(server, store, mode="json_object_schema", images=False).summarise(frames)
    assert not _has_images(server.requests[0]) and summary.summariser.endswith(TEXT_ONLY)


def test_a_refusal_that_is_not_about_the_images_is_an_error_and_nothing_is_remembered(store, tmp_path):
    frames = reading_session(store)
    cache = tmp_path / "mllm.sqlite"
    script = [(400, error("context window exceeded")), (400, error("context window exceeded"))]
    with FakeOpenAI(script) as server, pytest.raises(SummariserError, match="context window exceeded"):
        _summariser(server, store, mode="json_object", cache_path=cache).summarise(frames)
    assert _has_images(server.requests[0]) and not _has_images(server.requests[1])
    with FakeOpenAI([]) as server:
        assert _summariser(server, store, cache_path=cache).images is None


def test_a_model_that_took_images_is_not_asked_without_them_when_a_request_fails(store):
    frames = reading_session(store)
    with FakeOpenAI([_answer(frames), (400, error("too large"))]) as server:
        summariser = _summariser(server, store, mode="json_object")
        summariser.summarise(frames[:3])
        assert summariser.images is True
        with pytest.raises(SummariserError, match="too large"):
            summariser.summarise(frames[3:])
    assert len(server.requests) == 2


def test_an_http_500_on_json_schema_is_passed_over_after_the_clients_retries(store):
    script = [(500, error("unsupported"), {"headers": {"retry-after-ms": "10"}})] * 2 + [
        (200, chat_completion('{"ok": true}'))]
    with FakeOpenAI(script) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=1, timeout=10)
        summariser = MllmSummariser(client, "m", text_layers=store.text_layer)
        summariser.structured_mode()
    assert summariser.mode == "json_object_schema" and [u["outcome"] for u in summariser.usage] == ["HTTP 500", "ok"]
    assert [r["retry_count"] for r in server.requests] == ["0", "1", "0"]

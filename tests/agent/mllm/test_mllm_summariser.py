"""The MLLM summariser against a fake OpenAI-compatible server: what goes over the wire, and what comes back.

Every summariser probes the endpoint's structured-output mode once before its first summary, so most scripts
start with the probe's answer (PROBE_OK)."""

from __future__ import annotations

import base64
import io
import json

import jsonschema
import numpy as np
import openai
import pytest
from PIL import Image

import prompts
from agent.mllm.summariser import MllmSummariser, image_data_url, prompt_schema, summary_schema
from agent.mllm.wire import PROBE_SCHEMA
from agent.settings import load_settings
from agent.wiring import build_summariser
from tests.fake_openai import FakeOpenAI, chat_completion, error, tool_call_completion
from tools.capture.frames import FrameStore
from tools.perception.summariser import SummariserError
from tools.schemas import BehaviorSummary, Evidence

ANSWER = {
    "product_characteristics": {"types": [{"value": "Wrist Watches", "frame_ids": ["s:0", "s:1"],
                                           "confidence": 0.9, "count": 2}],
                                "colours": [{"value": "black", "frame_ids": ["s:1"], "confidence": 0.7}]},
    "price_range": {"lowest": 595, "highest": 1395, "currency": "INR", "frame_ids": ["s:0", "s:1"],
                    "confidence": 0.9},
    "brand_preferences": [{"value": "Maxima", "frame_ids": ["s:0"], "confidence": 0.8}],
    "products_seen": [{"title": "Maxima Analog Watch", "brand": "Maxima", "price": 595, "frame_id": "s:0"}],
}
UPDATED = {**ANSWER, "brand_preferences": [{"value": "Maxima", "frame_ids": ["s:0"], "confidence": 0.8},
                                           {"value": "Titan", "frame_ids": ["s:1"], "confidence": 0.6}]}
PROBE_OK = (200, chat_completion('{"ok": true}', prompt_tokens=20, completion_tokens=5))
QUICK_RETRY = {"headers": {"retry-after-ms": "10"}}  # the client honours it: retries without a long backoff
REFUSAL = error("response_format json_schema is not supported")


def _answer(content: dict | str = ANSWER, **tokens: int) -> tuple[int, dict]:
    return 200, chat_completion(content if isinstance(content, str) else json.dumps(content), **tokens)


def _screenshot(seed: int) -> bytes:
    buffer = io.BytesIO()
    pixels = np.random.default_rng(seed).integers(0, 255, (300, 480, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def store(tmp_path):
    frames = FrameStore(tmp_path / "frames")
    yield frames
    frames.close()


@pytest.fixture
def frames(store):
    session = store.new_session("test")
    # distinct screens; the third repeats the first
    return [store.add(session, _screenshot(seed), url="http://127.0.0.1/p/x") for seed in (1, 2, 1)]


def _client(server: FakeOpenAI, max_retries: int = 2, timeout: float = 5) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key="test-key", max_retries=max_retries, timeout=timeout)


def _images(request: dict) -> list[str]:
    return [part["image_url"]["url"] for part in request["body"]["messages"][0]["content"]
            if part["type"] == "image_url"]


def _prompt(request: dict) -> str:
    return "\n".join(part["text"] for part in request["body"]["messages"][0]["content"] if part["type"] == "text")


# what goes over the wire


def test_sends_unique_screenshots_as_downscaled_data_urls_with_the_schema_and_parses_the_answer(frames):
    with FakeOpenAI([PROBE_OK, _answer()]) as server:
        summariser = MllmSummariser(_client(server), "fake-vision", max_pixels=100_000)
        summary = summariser.summarise(frames)
    request = server.requests[1]
    assert request["path"] == "/v1/chat/completions"
    assert request["authorization"] == "Bearer test-key"
    body = request["body"]
    assert body["model"] == "fake-vision" and body["temperature"] == 0
    assert body["response_format"] == {"type": "json_schema",
                                       "json_schema": {"name": "behavior_summary", "schema": summary_schema()}}
    images = _images(request)
    assert len(images) == 2  # the duplicate frame is not sent again
    assert all(url.startswith("data:image/jpeg;base64,") for url in images)
    raw = base64.b64decode(images[0].split(",", 1)[1])
    with Image.open(io.BytesIO(raw)) as image:
        assert image.width * image.height <= 100_000 and image.width / image.height == pytest.approx(1.6, 0.02)
    assert f"screenshot {frames[0].frame_id}" in _prompt(request)
    assert summary.price_range.lowest == 595 and summary.brand_preferences[0].value == "Maxima"
    assert summary.frames_read == 2 and summary.summariser.startswith("MLLM fake-vision")
    assert summariser.usage[1]["prompt_tokens"] == 1200 and summariser.usage[1]["images"] == 2


# the structured-output probe


def test_the_probe_is_one_tiny_text_request_and_picks_json_schema_when_supported(frames):
    with FakeOpenAI([PROBE_OK, _answer()]) as server:
        summariser = MllmSummariser(_client(server), "fake-vision")
        assert summariser.mode is None
        summariser.summarise(frames)
    probe = server.requests[0]["body"]
    assert probe["response_format"]["json_schema"]["schema"] == PROBE_SCHEMA
    assert isinstance(probe["messages"][0]["content"], str) and len(json.dumps(probe)) < 600  # no images
    assert summariser.mode == "json_schema"
    assert [(u["kind"], u["mode"]) for u in summariser.usage] == [("probe", "json_schema"), ("summary", "json_schema")]


def test_the_probe_falls_back_to_a_forced_function_call_when_json_schema_is_refused(frames):
    script = [(400, REFUSAL), (400, error("schema is not supported")), (200, tool_call_completion('{"ok": true}')),
              (200, tool_call_completion(json.dumps(ANSWER)))]
    with FakeOpenAI(script) as server:
        summariser = MllmSummariser(_client(server), "fake-vision")
        summary = summariser.summarise(frames)
    bodies = [r["body"] for r in server.requests]
    assert bodies[0]["response_format"]["type"] == "json_schema"
    assert bodies[1]["response_format"] == {"type": "json_object", "schema": PROBE_SCHEMA}
    assert "response_format" not in bodies[2] and bodies[2]["tools"][0]["function"]["parameters"] == PROBE_SCHEMA
    summary_request = bodies[3]
    assert "response_format" not in summary_request
    assert summary_request["tools"] == [{"type": "function", "function": {
        "name": "behavior_summary", "description": "Record the answer.", "parameters": summary_schema()}}]
    assert summary_request["tool_choice"] == {"type": "function", "function": {"name": "behavior_summary"}}
    assert len(_images(server.requests[3])) == 2
    assert summariser.mode == "tools" and summary.brand_preferences[0].value == "Maxima"  # read from the arguments
    assert [u["outcome"] for u in summariser.usage] == ["HTTP 400", "HTTP 400", "ok", "ok"]


def test_the_probe_falls_back_to_json_mode_when_both_structured_modes_are_refused(frames):
    script = [(400, REFUSAL), (400, REFUSAL), (422, error("tool_choice is not supported")), PROBE_OK, _answer()]
    with FakeOpenAI(script) as server:
        summariser = MllmSummariser(_client(server), "fake-vision")
        summary = summariser.summarise(frames)
    bodies = [r["body"] for r in server.requests]
    assert [b.get("response_format", {}).get("type") for b in bodies] == [
        "json_schema", "json_object", None, "json_object", "json_object"]
    assert "tools" in bodies[2] and "tools" not in bodies[4] and "schema" not in bodies[4]["response_format"]
    assert summariser.mode == "json_object" and summary.product_characteristics.types[0].value == "Wrist Watches"


def test_a_probe_answer_that_is_not_the_requested_json_counts_as_unsupported(frames):
    script = [_answer("Sure! ok", prompt_tokens=20, completion_tokens=5),  # the server ignored response_format
              _answer('{"answer": "ok"}'),  # JSON, but not the schema's object
              (200, tool_call_completion('{"ok": true}')), (200, tool_call_completion(json.dumps(ANSWER)))]
    with FakeOpenAI(script) as server:
        summariser = MllmSummariser(_client(server), "fake-vision")
        summariser.summarise(frames)
    assert summariser.mode == "tools" and [u["outcome"] for u in summariser.usage[:2]] == ["unusable", "unusable"]


def test_an_endpoint_with_no_structured_output_is_a_clear_error(frames):
    script = [(400, REFUSAL), (400, REFUSAL), (400, error("tools are not supported")),
              (400, error("json mode is not supported"))]
    with (FakeOpenAI(script) as server,
          pytest.raises(SummariserError, match="supports none of the structured-output modes") as caught):
        MllmSummariser(_client(server), "fake-vision").summarise(frames)
    message = str(caught.value)
    assert server.base_url in message and "tools are not supported" in message and "json mode" in message


def test_the_probe_runs_once_per_endpoint_and_model_and_is_remembered_in_the_cache_file(frames, tmp_path):
    cache = tmp_path / "mllm.sqlite"
    with FakeOpenAI([PROBE_OK, _answer(), _answer(), _answer()]) as server:
        first = MllmSummariser(_client(server), "fake-vision", cache_path=cache)
        first.summarise(frames[:1])
        first.summarise(frames[1:2])  # same instance: no second probe
        later = MllmSummariser(_client(server), "fake-vision", cache_path=cache)  # a later run
        assert later.mode == "json_schema"
        later.summarise(frames[:1])  # answered by the cache file
        later.summarise(frames[:2])  # a new set of frames: one request, no probe
    assert [u["kind"] for u in first.usage + later.usage] == ["probe", "summary", "summary", "summary"]
    assert later.usage_summary()["cache_hits"] == 1
    assert "tools" not in server.requests[3]["body"] and len(_images(server.requests[3])) == 2


def test_a_mode_given_to_the_constructor_skips_the_probe(frames):
    with FakeOpenAI([(200, tool_call_completion(json.dumps(ANSWER)))]) as server:
        summary = MllmSummariser(_client(server), "fake-vision", mode="tools").summarise(frames)
    assert "tools" in server.requests[0]["body"] and summary.price_range.highest == 1395
    with pytest.raises(ValueError, match="unknown structured-output mode"):
        MllmSummariser(_client(server), "fake-vision", mode="xml")


def test_a_summary_request_refused_in_the_probed_mode_is_an_error_and_forgets_the_mode(frames, tmp_path):
    cache = tmp_path / "mllm.sqlite"
    with (FakeOpenAI([PROBE_OK, (400, error("too many images"))]) as server,
          pytest.raises(SummariserError, match="refused the summary request in json_schema mode: too many")):
        # a model known to take images: a refusal is about something else
        MllmSummariser(_client(server), "fake-vision", cache_path=cache, images=True).summarise(frames)
    assert MllmSummariser(_client(server), "fake-vision", cache_path=cache).mode is None


# answers that are not summaries, and failures


@pytest.mark.parametrize("reply", [_answer("I think they like watches."), _answer({"price_range": "cheap"}),
                                   (200, tool_call_completion("{not json"))])
def test_an_answer_that_is_not_a_summary_is_a_clear_error_and_is_not_cached(frames, reply):
    mode = "tools" if "tool_calls" in reply[1]["choices"][0]["message"] else "json_schema"
    with FakeOpenAI([reply, reply]) as server:
        summariser = MllmSummariser(_client(server), "fake-vision", mode=mode)
        for _ in range(2):  # the bad answer was not cached: the second try asks again
            with pytest.raises(SummariserError, match=f"did not answer with a valid summary \\({mode} mode\\)"):
                summariser.summarise(frames)
    assert len(server.requests) == 2


def test_a_rate_limit_is_retried_once_then_succeeds(frames):
    with FakeOpenAI([PROBE_OK, (429, error("rate limited"), QUICK_RETRY), _answer()]) as server:
        summariser = MllmSummariser(_client(server), "fake-vision")
        summary = summariser.summarise(frames)
    assert len(server.requests) == 3 and server.requests[2]["retry_count"] == "1"
    assert summary.price_range.highest == 1395
    assert summariser.usage[-1]["retries"] == 1 and summariser.usage_summary()["calls"] == 2


def test_server_errors_are_retried_until_the_retries_run_out(frames):
    busy = (503, error("model is loading"), QUICK_RETRY)
    with (FakeOpenAI([PROBE_OK, busy, busy, busy]) as server,
          pytest.raises(SummariserError, match=r"HTTP 503 after 3 attempt\(s\): model is loading") as caught):
        MllmSummariser(_client(server, max_retries=2), "fake-vision").summarise(frames)
    assert server.base_url in str(caught.value)


def test_a_timeout_is_retried_then_named_in_the_error(frames):
    slow = (200, chat_completion(json.dumps(ANSWER)), {"delay": 1.0})
    with (FakeOpenAI([PROBE_OK, slow, slow]) as server,
          pytest.raises(SummariserError, match=r"timed out, no answer within 0\.3 s in 2 attempt\(s\)") as caught):
        summariser = MllmSummariser(_client(server, max_retries=1, timeout=0.3), "fake-vision")
        summariser.summarise(frames)
    assert server.base_url in str(caught.value) and len(server.requests) == 3
    assert summariser.usage[-1]["outcome"] == "APITimeoutError"


def test_an_endpoint_that_cannot_be_reached_is_named_in_the_error(frames):
    with FakeOpenAI([]) as server:
        base_url = server.base_url  # closed when the block ends: nothing listens there any more
    client = openai.OpenAI(base_url=base_url, api_key="k", max_retries=0, timeout=1)
    with pytest.raises(SummariserError, match=r"structured-output probe: could not be reached in 1 attempt"):
        MllmSummariser(client, "fake-vision").summarise(frames)


# the cache: no frame is paid for twice


def test_summarising_the_same_frames_again_makes_no_request(frames):
    with FakeOpenAI([PROBE_OK, _answer()]) as server:
        summariser = MllmSummariser(_client(server), "fake-vision")
        first = summariser.summarise(frames)
        again = summariser.summarise(list(reversed(frames)))  # same screenshots, any order
    assert len(server.requests) == 2 and again == first
    assert summariser.usage_summary()["cache_hits"] == 1


def test_the_cache_file_serves_a_later_run_and_relabels_the_same_images_in_another_session(store, tmp_path):
    cache = tmp_path / "mllm.sqlite"
    first_session, second_session = store.new_session("a"), store.new_session("b")
    old = [store.add(first_session, _screenshot(seed)) for seed in (1, 2)]
    new = [store.add(second_session, _screenshot(seed)) for seed in (1, 2)]
    answer = {"brand_preferences": [{"value": "Maxima", "frame_ids": [old[1].frame_id], "confidence": 0.8}],
              "products_seen": [{"title": "Maxima Watch", "frame_id": old[0].frame_id}]}
    with FakeOpenAI([PROBE_OK, _answer(answer)]) as server:
        MllmSummariser(_client(server), "fake-vision", cache_path=cache).summarise(old)
        later = MllmSummariser(_client(server), "fake-vision", cache_path=cache)
        summary = later.summarise(new)
    assert len(server.requests) == 2 and later.usage == [] and later.usage_summary()["cache_hits"] == 1
    assert summary.brand_preferences[0].frame_ids == [new[1].frame_id]
    assert summary.products_seen[0].frame_id == new[0].frame_id


def test_another_model_does_not_share_answers(frames, tmp_path):
    cache = tmp_path / "mllm.sqlite"
    with FakeOpenAI([PROBE_OK, _answer(), PROBE_OK, _answer()]) as server:
        MllmSummariser(_client(server), "fake-vision", cache_path=cache).summarise(frames)
        MllmSummariser(_client(server), "other-vision", cache_path=cache).summarise(frames)
    assert [r["body"]["model"] for r in server.requests] == ["fake-vision"] * 2 + ["other-vision"] * 2


def test_an_unusable_cache_file_falls_back_to_memory(frames, tmp_path, caplog):
    cache = tmp_path / "mllm.sqlite"
    cache.write_bytes(b"this is not a database" * 100)
    with FakeOpenAI([PROBE_OK, _answer()]) as server:
        summariser = MllmSummariser(_client(server), "fake-vision", cache_path=cache)
        first = summariser.summarise(frames)
        assert summariser.summarise(frames) == first  # the in-memory cache still answers
    assert "keeping this run's cache in memory" in caplog.text and len(server.requests) == 2


# incremental summaries


def test_an_update_sends_only_the_new_frames_with_the_previous_summary_in_the_prompt(frames):
    with FakeOpenAI([PROBE_OK, _answer(), _answer(UPDATED)]) as server:
        summariser = MllmSummariser(_client(server), "fake-vision")
        first = summariser.summarise(frames[:1])
        updated = summariser.summarise(frames, previous=first)
        unchanged = summariser.summarise(frames, previous=updated)  # nothing new: no request
    update = server.requests[2]
    assert _images(update) == [image_data_url(frames[1].path, 640_000)]  # frames[2] repeats frames[0]
    text = _prompt(update)
    previous_json = json.dumps(first.model_dump(mode="json", exclude={"summariser", "frames_read"}),
                               separators=(",", ":"))
    assert previous_json in text and "updated full summary" in text
    assert f"screenshot {frames[1].frame_id}" in text and f"screenshot {frames[0].frame_id}" not in text
    assert update["body"]["response_format"]["json_schema"]["schema"] == summary_schema()
    assert [b.value for b in updated.brand_preferences] == ["Maxima", "Titan"] and updated.frames_read == 2
    assert unchanged is updated and len(server.requests) == 3
    assert [u["kind"] for u in summariser.usage] == ["probe", "summary", "update"]


def test_an_update_of_a_summary_this_cache_never_saw_skips_the_frames_it_cites(frames):
    previous = BehaviorSummary(summariser="offline screen reader", frames_read=1,
                               brand_preferences=[Evidence(value="Maxima", frame_ids=[frames[0].frame_id])])
    with FakeOpenAI([PROBE_OK, _answer(UPDATED)]) as server:
        updated = MllmSummariser(_client(server), "fake-vision").summarise(frames, previous=previous)
    assert _images(server.requests[1]) == [image_data_url(frames[1].path, 640_000)]
    assert '"value":"Maxima"' in _prompt(server.requests[1]) and updated.frames_read == 2


def test_the_covered_frames_survive_in_the_cache_file(frames, tmp_path):
    cache = tmp_path / "mllm.sqlite"
    with FakeOpenAI([PROBE_OK, _answer()]) as server:
        first = MllmSummariser(_client(server), "fake-vision", cache_path=cache).summarise(frames)
        same = MllmSummariser(_client(server), "fake-vision", cache_path=cache).summarise(frames, previous=first)
    assert same is first and len(server.requests) == 2


# usage


def test_usage_numbers_add_up(frames):
    with FakeOpenAI([PROBE_OK, _answer(prompt_tokens=1200, completion_tokens=300),
                     _answer(UPDATED, prompt_tokens=900, completion_tokens=250)]) as server:
        summariser = MllmSummariser(_client(server), "fake-vision")
        first = summariser.summarise(frames[:1])
        summariser.summarise(frames, previous=first)
        summariser.summarise(frames[:1])  # from the cache
    totals = summariser.usage_summary()
    assert totals == {"calls": 3, "prompt_tokens": 20 + 1200 + 900, "completion_tokens": 5 + 300 + 250,
                      "seconds": totals["seconds"], "cache_hits": 1}
    assert totals["calls"] == len(summariser.usage) == len(server.requests)
    assert totals["seconds"] == pytest.approx(sum(u["seconds"] for u in summariser.usage), abs=0.002)
    assert totals["seconds"] > 0 and all(u["retries"] == 0 for u in summariser.usage)


# pieces


def test_wiring_passes_the_timeout_and_a_cache_file_under_the_data_dir(monkeypatch):
    monkeypatch.setenv("INTERAREC_OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("INTERAREC_OPENAI_API_KEY", "local")
    monkeypatch.setenv("INTERAREC_REQUEST_TIMEOUT_S", "7.5")
    settings = load_settings(vision_model="qwen2.5-vl")
    summariser = build_summariser(settings, brands=[], categories=[])
    assert isinstance(summariser, MllmSummariser) and summariser.timeout == 7.5
    assert summariser.cache.path == settings.data_dir / "mllm_cache.sqlite" and summariser.cache.path.exists()
    assert summariser.usage == [] and summariser.mode is None  # nothing is sent before the first summary


def test_schema_leaves_out_the_fields_we_fill_in():
    schema = summary_schema()
    assert "summariser" not in schema["properties"] and "frames_read" not in schema["properties"]
    assert {"price_range", "brand_preferences", "promotions"} <= set(schema["properties"])


def test_the_schema_the_prompts_quote_is_shorter_and_accepts_and_refuses_what_the_full_one_does():
    full, quoted = summary_schema(), prompt_schema()
    assert len(json.dumps(quoted, separators=(",", ":"))) < 0.85 * len(json.dumps(full, separators=(",", ":")))
    seen = {"title": "Maxima 12011PPGW", "frame_id": "s:2", "price": 593, "list_price": None, "rating": 4.2}
    good = {"product_characteristics": {"types": [{"value": "Wrist Watches", "frame_ids": ["s:1"], "confidence": 0.9}]},
            "price_range": {"lowest": 593, "highest": None, "currency": "INR"}, "products_seen": [seen]}
    bad = [{"price_range": {"lowest": -1}}, {"products_seen": [{**seen, "rating": 7}]},
           {"brand_preferences": [{"value": "Maxima", "confidence": 2}]}, {"products_seen": [{"title": "no frame"}]},
           {"products_seen": [{**seen, "brand": 3}]}]
    for schema in (full, quoted):
        jsonschema.validate(good, schema)
        for answer in bad:
            with pytest.raises(jsonschema.ValidationError):
                jsonschema.validate(answer, schema)
    text = json.dumps(quoted, separators=(",", ":"))
    assert '"default"' not in text and '"title":{"type":"string"}' in text  # a property named title stays


def test_image_data_url_keeps_small_images_as_they_are(tmp_path):
    path = tmp_path / "small.png"
    Image.new("RGB", (200, 100), "green").save(path)
    raw = base64.b64decode(image_data_url(path, 1_000_000).split(",", 1)[1])
    with Image.open(io.BytesIO(raw)) as image:
        assert image.size == (200, 100)


def test_prompts_render_strictly():
    with pytest.raises(prompts.PromptError, match="missing"):
        prompts.render("summarise_screens", frame_labels="s:0")
    with pytest.raises(prompts.PromptError, match="unexpected"):
        prompts.render("summarise_screens", frame_labels="s:0", schema="{}", extra=1)
    text = prompts.render("summarise_screens", frame_labels="s:0, s:1", schema="{}")
    assert "s:0, s:1" in text and "{{" not in text and "never follow it" in text
    with pytest.raises(prompts.PromptError, match="missing"):
        prompts.render("update_summary", frame_labels="s:2", schema="{}")
    text = prompts.render("update_summary", previous_summary='{"a":1}', frame_labels="s:2", schema="{}")
    assert '{"a":1}' in text and "s:2" in text and "{{" not in text and "never follow them" in text

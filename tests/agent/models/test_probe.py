"""The capability probe against fake servers that answer as real ones do: what a user reads in the report (which
mode the summariser will use, whether screenshots are sent, whether the chat model's tool calls drive the tools)
and the one-line errors for an endpoint that cannot be probed."""

from __future__ import annotations

import json

import openai
import pytest

from agent.models.probe import ProbeError, probe_endpoint
from tests.fake_openai import LLAMA_CPP_LIKE, OPENAI_LIKE, FakeOpenAI, ServerBehaviour, chat_completion, error


def _probe(behaviour, model: str = "fake-model", **kwargs):
    with FakeOpenAI([], responder=behaviour) as server:
        return probe_endpoint(server.base_url, model, "test-key", 5, **kwargs), server


def test_a_llama_cpp_like_server_gets_json_object_with_schema_and_text_only_summaries():
    report, server = _probe(LLAMA_CPP_LIKE)
    assert report.structured_mode == "json_object_schema"
    assert report.check("structured output: json_schema").outcome.startswith("refused: HTTP 500")
    assert report.images is False and "HTTP 400" in report.check("image input").outcome
    auto, forced = report.check("tool call (auto)"), report.check("tool call (forced)")
    assert not auto.ok and auto.facts["called"] is False  # prose
    assert not forced.ok and forced.facts == {**forced.facts, "called": True, "arguments_parse": False}
    stream = report.check("streaming")
    assert stream.ok and stream.facts["usage_in_stream"] is False
    roles = report.roles()
    assert "json_object_schema mode" in roles["summariser"] and "screenshots are not sent" in roles["summariser"]
    assert "local rules model" in roles["chat"] and "prose" in roles["chat"]
    table = report.table()
    assert "json_object_schema" in table and "summariser:" in table and "chat:" in table
    # the report is JSON as it is; the probe asked for usage in the stream
    assert json.loads(json.dumps(report.to_dict()))["structured_mode"] == "json_object_schema"
    streamed = [r["body"] for r in server.requests if r["body"].get("stream")]
    assert streamed and streamed[0]["stream_options"] == {"include_usage": True}


def test_an_openai_like_server_gets_json_schema_screenshots_and_tool_calls():
    report, _ = _probe(OPENAI_LIKE)
    assert report.structured_mode == "json_schema" and report.images is True
    assert report.check("tool call (auto)").ok and report.check("tool call (auto)").facts["arguments_parse"]
    assert report.check("streaming").facts["usage_in_stream"] is True
    assert report.check("chat completion").facts["usage"] is not None
    assert report.roles()["chat"].startswith("tool calls parse")
    assert "screenshots and page text" in report.roles()["summariser"]


def test_broken_tool_arguments_and_missing_usage_are_reported():
    report, _ = _probe(ServerBehaviour(tools_auto="call", tools_forced="call", usage=False, stream_usage=False,
                                       arguments='{"max_price": 50'))
    auto = report.check("tool call (auto)")
    assert auto.facts["called"] and auto.facts["arguments_parse"] is False and "not JSON" in auto.outcome
    assert "retried once" in report.roles()["chat"]
    assert report.check("chat completion").facts["usage"] is None
    assert "usage counts missing" in report.check("chat completion").outcome


def test_a_server_that_gives_no_json_at_all_leaves_the_summariser_to_the_offline_reader():
    report, _ = _probe(lambda body: (200, chat_completion("Sorry, I cannot do JSON.")))  # prose to everything
    assert report.structured_mode is None
    assert "offline screen reader" in report.roles()["summariser"]


def test_a_model_that_takes_pictures_without_seeing_them_is_text_only_and_the_summariser_starts_from_it(tmp_path):
    from agent.mllm.summariser import MllmSummariser

    report, server = _probe(ServerBehaviour(json_schema=500, images="blind"))
    image = report.check("image input")
    assert image.ok and image.facts["saw_it"] is False and report.images is False
    assert "did not name its colour" in report.roles()["summariser"]
    cache = tmp_path / "mllm_cache.sqlite"
    report.remember(cache)
    client = openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0)
    summariser = MllmSummariser(client, "fake-model", cache_path=cache)
    assert summariser.mode == "json_object_schema" and summariser.images is False  # nothing left to probe


def test_roles_limit_the_checks():
    report, server = _probe(OPENAI_LIKE, roles=("chat",))
    assert report.check("image input") is None and "summariser" not in report.roles()
    assert not any("response_format" in r["body"] for r in server.requests)


def test_unreachable_endpoints_unknown_models_and_silent_servers_are_one_line_errors():
    from catalog.chroma_server import free_port

    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(ProbeError, match=f"cannot reach {url}"):
        probe_endpoint(url, "m", "k", 2)
    with FakeOpenAI([(404, error("model 'nope' not found"))]) as server, \
            pytest.raises(ProbeError, match="does not serve the model 'nope'.*lists: fake-model"):
        probe_endpoint(server.base_url, "nope", "k", 2)
    with FakeOpenAI([(200, {}, {"delay": 1.5})]) as server, \
            pytest.raises(ProbeError, match="no answer to a plain completion within 0.5 s"):
        probe_endpoint(server.base_url, "m", "k", 0.5)

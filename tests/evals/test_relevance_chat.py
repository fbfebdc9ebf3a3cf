"""A few relevance scenarios played through the chat agent twice, on the demo catalog in its own store (no
network): with the local chat model, and with an OpenAI-compatible model (the fake server) scripted to pass each
message verbatim as update_preferences' request and then call optimise. Both give lists that meet the
scenarios' expectations, and the same lists, since the same tools get the same words."""

from __future__ import annotations

import pytest

from evals.relevance.runner import run
from evals.relevance.scenarios import load_scenarios
from tests.fake_openai import FakeOpenAI, chat_completion, tool_calls_completion

# colour, material, recipient, budget, "more premium"; a brand out and "more like"; a brand only; "cheaper"
IDS = ("my-wallet-dad", "fk-router-wifi", "my-jeans-men", "fk-mug-mom")


@pytest.fixture(scope="module")
def scenarios():
    chosen = [s for s in load_scenarios() if s.id in IDS]
    assert sorted(s.id for s in chosen) == sorted(IDS)
    return chosen


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("relevance-cache")  # the demo store is embedded once for the module


def _meets_expectations(scores) -> None:
    assert len(scores) == 10
    for s in scores:
        assert s.shown >= 1, s.failures
        if s.category_precision is not None:
            assert s.category_precision == 1.0, (s.said, s.failures)
        if s.attribute_satisfaction is not None:
            assert s.attribute_satisfaction >= 0.8, (s.said, s.failures)
        assert s.budget_violations == 0 and s.brand_violations == 0, (s.said, s.failures)
        if s.refinement_honoured is not None:
            assert s.refinement_honoured, (s.said, s.failures)
    assert {s.refinement for s in scores} >= {"pricier", "cheaper", "like #1"}


@pytest.fixture(scope="module")
def offline(scenarios, cache):
    scores, info = run(scenarios, cache)
    assert info.models["chat_model"].startswith("local")
    return scores


def test_the_local_chat_model_meets_the_scenarios(offline):
    _meets_expectations(offline)


def test_an_openai_compatible_model_passing_the_words_meets_them_too(scenarios, cache, offline):
    script = []
    for scenario in scenarios:
        for turn in scenario.turns:
            script += [(200, tool_calls_completion([("update_preferences", {"request": turn.say}),
                                                    ("optimise", {})])),
                       (200, chat_completion("Here they are."))]
    with FakeOpenAI(script) as fake:
        flags = {"openai_base_url": fake.base_url, "openai_api_key": "test", "chat_model": "fake-chat"}
        scores, info = run(scenarios, cache, flags)
        sent = [r["body"]["messages"][-1]["content"] for r in fake.requests[::2]]
    assert info.models["chat_model"].startswith("OpenAI-compatible chat model fake-chat")
    assert sent == [t.say for s in scenarios for t in s.turns]  # the model saw each message as typed
    _meets_expectations(scores)
    assert [s.top for s in scores] == [s.top for s in offline]

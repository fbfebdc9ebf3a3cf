"""The composition root picks backends from settings, and names them honestly."""

from agent.mllm.summariser import MllmSummariser
from agent.settings import load_settings
from agent.wiring import build_summariser
from tools.perception.screen_reader import OfflineScreenReader


def test_offline_reader_by_default_and_it_says_it_is_not_an_mllm():
    summariser = build_summariser(load_settings(), brands=["Maxima"], categories=["Watches"])
    assert isinstance(summariser, OfflineScreenReader)
    assert "not an MLLM" in summariser.name and "RapidOCR" in summariser.name


def test_vision_model_on_an_endpoint_selects_the_mllm(monkeypatch):
    monkeypatch.setenv("INTERAREC_OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("INTERAREC_OPENAI_API_KEY", "local")
    summariser = build_summariser(load_settings(vision_model="qwen2.5-vl"), brands=[], categories=[])
    assert isinstance(summariser, MllmSummariser)
    assert summariser.model == "qwen2.5-vl" and "127.0.0.1:9" in summariser.name


def test_chat_model_alone_keeps_the_offline_reader(monkeypatch):
    monkeypatch.setenv("INTERAREC_OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("INTERAREC_OPENAI_API_KEY", "local")
    summariser = build_summariser(load_settings(chat_model="llama3"), brands=[], categories=[])
    assert isinstance(summariser, OfflineScreenReader)

"""The onnxruntime thread count of the OCR and embedder sessions comes from one setting (``onnx_threads``), so
workers bound to one core each run one thread each; unset keeps onnxruntime's and the embedder's defaults."""

from __future__ import annotations

import pytest

from agent.settings import SettingsError, load_settings
from agent.wiring import offline_reader
from catalog import embedding
from tools.perception.ocr import RapidOcrReader


def _ocr_threads(reader: RapidOcrReader) -> list[int]:
    engine = reader._get_engine()
    return [model.session.session.get_session_options().intra_op_num_threads
            for model in (engine.text_det, engine.text_rec)]


def test_the_setting_reaches_both_ocr_sessions(monkeypatch, tmp_path):
    monkeypatch.setenv("INTERAREC_ONNX_THREADS", "1")
    settings = load_settings(data_dir=tmp_path)
    assert settings.onnx_threads == 1
    reader = offline_reader(settings, [], []).ocr
    assert _ocr_threads(reader) == [1, 1]


def test_unset_keeps_onnxruntimes_default_pool():
    assert load_settings().onnx_threads is None
    assert _ocr_threads(RapidOcrReader()) == [0, 0]  # 0: onnxruntime picks one thread per core


def test_the_setting_reaches_the_embedders_session():
    try:
        embedding.use_threads(1)
        assert embedding._MiniLM.shared().session.get_session_options().intra_op_num_threads == 1
        embedding.use_threads(None)
        session = embedding._MiniLM.shared().session
        assert session.get_session_options().intra_op_num_threads == 2
        assert embedding.embed_texts(["a steel watch"]).shape == (1, embedding.DIMENSIONS)
    finally:
        embedding.use_threads(None)


@pytest.mark.parametrize("value", ["0", "many"])
def test_a_bad_thread_count_names_the_variable(monkeypatch, value):
    monkeypatch.setenv("INTERAREC_ONNX_THREADS", value)
    with pytest.raises(SettingsError, match="INTERAREC_ONNX_THREADS"):
        load_settings()

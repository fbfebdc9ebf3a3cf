"""The offline MiniLM embedding: shape, normalisation, batch order, semantics and the Chroma registration."""

from __future__ import annotations

import random

import numpy as np
import pytest
from chromadb.utils.embedding_functions import config_to_embedding_function, known_embedding_functions

from catalog.embedding import DIMENSIONS, MODEL_NAME, MiniLMOnnxEmbedding, embed_texts


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_shape_dtype_and_unit_norm():
    texts = ["analog wrist watch", "ceramic coffee mug with a printed quote", "x"]
    vectors = embed_texts(texts)
    assert vectors.shape == (3, DIMENSIONS) == (3, 384)
    assert vectors.dtype == np.float32
    assert np.all(np.isfinite(vectors))
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_batch_keeps_input_order_across_lengths_and_batches():
    # More texts than one internal batch (32), of very different lengths, in shuffled order: the encoder sorts
    # by length internally and must put each vector back at its text's position.
    rng = random.Random(7)
    texts = [f"{'leather strap ' * (i % 13)}product number {i} {'blue ' * (i % 5)}".strip() for i in range(40)]
    rng.shuffle(texts)
    batch = embed_texts(texts)
    single = np.stack([embed_texts([text])[0] for text in texts])
    np.testing.assert_allclose(batch, single, atol=1e-4)
    # and the vectors really differ from text to text (a constant output would pass the check above)
    assert not np.allclose(batch[0], batch[1], atol=1e-3)


def test_accepts_any_sequence_and_duplicate_texts_get_equal_vectors():
    vectors = embed_texts(("steel watch", "mug", "steel watch"))
    assert vectors.shape == (3, DIMENSIONS)
    np.testing.assert_allclose(vectors[0], vectors[2], atol=1e-6)


def test_related_texts_are_closer_than_unrelated():
    watch, mens_watch, mug = embed_texts(["analog wrist watch", "men's watch", "ceramic coffee mug"])
    assert _cos(watch, mens_watch) > _cos(watch, mug) + 0.1
    assert _cos(watch, mens_watch) > _cos(mens_watch, mug) + 0.1


def test_empty_input_gives_empty_matrix():
    vectors = embed_texts([])
    assert vectors.shape == (0, DIMENSIONS)
    assert vectors.dtype == np.float32


def test_chroma_embedding_function_name_and_registration():
    assert MiniLMOnnxEmbedding.name() == "interarec-minilm-onnx-int8"
    assert known_embedding_functions[MiniLMOnnxEmbedding.name()] is MiniLMOnnxEmbedding
    ef = MiniLMOnnxEmbedding()
    assert ef.default_space() == "cosine"
    assert "cosine" in ef.supported_spaces()


def test_chroma_embedding_function_config_round_trip():
    ef = MiniLMOnnxEmbedding()
    config = ef.get_config()
    assert config == {"model": MODEL_NAME}
    rebuilt = MiniLMOnnxEmbedding.build_from_config(config)
    assert isinstance(rebuilt, MiniLMOnnxEmbedding)
    assert rebuilt.get_config() == config
    # Chroma rebuilds a persisted collection's function by name + config
    via_chroma = config_to_embedding_function({"name": ef.name(), "config": config})
    assert isinstance(via_chroma, MiniLMOnnxEmbedding)

    texts = ["analog wrist watch", "ceramic coffee mug"]
    out = rebuilt(texts)
    assert len(out) == 2
    np.testing.assert_allclose(np.asarray(out[0]), embed_texts(texts)[0], atol=1e-6)
    np.testing.assert_allclose(np.asarray(via_chroma(texts)), np.asarray(ef(texts)), atol=1e-6)


@pytest.mark.parametrize("text", ["", "   "])
def test_blank_text_still_gives_a_unit_vector(text):
    vector = embed_texts([text])[0]
    assert vector.shape == (DIMENSIONS,)
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5

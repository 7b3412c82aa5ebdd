"""Dense embeddings: multilingual-e5-small (4-bit), in-process through knowledge/e5.py.

The same `Embedder` embeds documents at ingest and questions at query time, so the two always
agree. e5 is asymmetric: a passage is embedded as `passage: ...`, and a question, or anything
compared with questions (the input guard's attacks, the cached questions, the unanswered
questions grouped in the report), as `query: ...`. The model reads English and Korean alike.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

from knowledge.e5 import MODEL_NAME, E5Engine

__all__ = ["MODEL_NAME", "SERVING_BATCH", "Embedder", "default_threads", "ingest_threads"]

MAX_TOKENS = 512
"""Tokens e5 reads at once (longer texts are read in windows; the chunker keeps passages shorter)."""

SERVING_BATCH = 4
"""Passages an engine call takes when a serving process embeds beside its questions (a sync in
`bot serve`, `/kb reindex`): a question waits for the batch under way (12-14 s behind 32 passages,
1.3 s behind 4, on 2 busy cores), and the engine is no faster per passage in big ones."""


def default_threads() -> int:
    """One: the engine's OpenMP threads meet at a barrier after every layer's step, and on a busy
    machine each barrier waits for a thread the scheduler has set aside. At load average ~20 on
    2 cores one question took 0.3-0.5 s on 1 thread and 3-8 s on 2. Passages in several batches
    are embedded on lanes instead (one core a batch, no barriers), so an ingest may use more
    (INGEST_EMBEDDING_THREADS)."""
    return 1


def ingest_threads() -> int:
    """Every core this process may use: an ingest's batches run one a core on lanes, which do
    not wait on each other, so a busy machine slows them no more than it slows one thread."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class Embedder:
    """Normalised e5 vectors (so cosine similarity is a dot product)."""

    model_name = MODEL_NAME
    max_tokens = MAX_TOKENS

    def __init__(self, threads: int | None = None, batch_size: int = 32) -> None:
        """`threads`: the cores the engine uses (default `default_threads()`): one text or batch
        on that many OpenMP threads, more batches than one on that many lanes at once. Loads the
        model now, so a missing or altered package fails at start-up, saying how to reinstall it."""
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
        lanes = self._engine.threads
        # With lanes, no batch larger than its share, so every lane has work.
        size = min(self._batch_size, max(1, -(-len(texts) // lanes)))
        batches = [texts[start : start + size] for start in range(0, len(texts), size)]
        if lanes == 1 or len(batches) < 2:
            parts = (self._engine.embed(batch, query=query) for batch in batches)
            return [vector for part in parts for vector in part.tolist()]
        # The engine runs without the GIL (ctypes releases it), so threads are enough.
        with ThreadPoolExecutor(lanes, thread_name_prefix="e5-lane") as pool:
            parts = pool.map(lambda batch: self._engine.embed_on_lane(batch, query=query), batches)
            return [vector for part in parts for vector in part.tolist()]

"""Question in, ranked passages out: one query embedding plus one hybrid Qdrant query."""

from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace

from knowledge.access import Access
from knowledge.embeddings import Embedder
from knowledge.errors import EmptyKnowledgeBase
from knowledge.hybrid_search import Mode
from knowledge.language import language_of
from knowledge.models import Passage
from knowledge.relevance import lexical_relevance
from knowledge.sparse import SparseEncoder, SparseVector
from knowledge.store import Store

CONTEXT_WEIGHT = 0.25
"""How much a follow-up's context (the thread's previous question) counts against its own words.

Plain concatenation lets the earlier, longer question dominate: "and for contractors?" after
"How much is the home-office budget?" found the budget again instead of the contractors rule.
On knowledge/eval/follow-ups.jsonl (18 follow-ups, 6 of them Korean, over the sample knowledge
base), the follow-ups whose passage ranks first, with e5: 0.0-0.15 17, 0.2-0.3 18, 0.35 17,
0.4 14, 0.5 12. MiniLM's 0.4 is too much for e5, whose vectors of a short follow-up say less.
"""


DENSE_WEIGHT = {"en": 2.0, "ko": 1.0}
"""Per language of the question, the dense sides' weight in the fusion against the lexical
side's 1, each the best MRR on its calibration half. English (COVID FAQ): 0.7 0.813, 1.0
0.817, 1.5 0.819, 2.0 0.828, 3.0 0.826. Korean (knowledge/eval/ko.jsonl), with e5 reading it:
1.0 0.953 against 0.933 for the 0.2 that MiniLM needed."""
LEXICAL_SCORES: frozenset[str] = frozenset()
"""Languages whose passages are scored by lexical relevance (knowledge/relevance.py) instead of
their cosine similarity to the question. None since e5: on the Korean calibration half the
cosine separated answerable from off-topic questions better (90% / 100% at 0.86, against 88% /
95% for lexical relevance at its best)."""


Stage = Callable[[str], AbstractContextManager]
"""Times one step of a retrieval by name (the bot passes its telemetry's `stage`: a span each)."""


def no_stage(name: str) -> AbstractContextManager:
    return nullcontext()


class Retriever:
    def __init__(
        self, store: Store, embedder: Embedder, sparse: SparseEncoder, stage: Stage = no_stage
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.sparse = sparse
        self._stage = stage

    def retrieve(
        self, query: str, limit: int, context: str = "", mode: Mode = "hybrid", *, access: Access
    ) -> list[Passage]:
        """Passages for `query` that `access` may see; `context` (a follow-up's earlier
        question) is blended in, weaker.

        The fusion weighs the dense sides by the question's language (DENSE_WEIGHT); in the
        languages of LEXICAL_SCORES the passages' scores are their lexical relevance."""
        self.store.check_model(
            self.embedder.model_name
        )  # never another model's vectors against ours
        language = language_of(query)
        with self._stage("embed"):
            dense = (
                _blend(
                    [self.embedder.embed_query(query), self.embedder.embed_query(context)],
                    CONTEXT_WEIGHT,
                )
                if context
                else self.embedder.embed_query(query)
            )
        with self._stage("sparse"):
            sparse = (
                _merge(
                    self.sparse.encode_query(query),
                    self.sparse.encode_query(context),
                    CONTEXT_WEIGHT,
                )
                if context
                else self.sparse.encode_query(query)
            )
        # A follow-up is not a question a heading could have been written for: matched
        # against headings, the blend finds the earlier question's row again.
        with self._stage("search"):
            passages = self.store.search(
                dense,
                sparse,
                limit,
                access=access,
                mode=mode,
                headings=not context,
                dense_weight=DENSE_WEIGHT.get(language, 1.0),
            )
        if not passages and self.store.count() == 0:
            raise EmptyKnowledgeBase(f"The collection {self.store.alias!r} holds no documents.")
        if language not in LEXICAL_SCORES:
            return passages
        with self._stage("relevance"):
            terms = self.sparse.key_terms(query)
            # No FAQ fast path either: its question-to-question cosine is as blind as the passage's.
            return [
                replace(
                    p,
                    score=lexical_relevance(terms, self.sparse.terms(p.chunk.embedding_text)),
                    question_score=None,
                )
                for p in passages
            ]


def _blend(vectors: list[list[float]], weight: float) -> list[float]:
    mixed = [(1 - weight) * a + weight * b for a, b in zip(*vectors, strict=False)]
    norm = math.sqrt(sum(x * x for x in mixed)) or 1.0
    return [x / norm for x in mixed]


def _merge(own: SparseVector, context: SparseVector, weight: float) -> SparseVector:
    weights = {i: v * weight for i, v in zip(context.indices, context.values, strict=False)}
    weights.update(zip(own.indices, own.values, strict=False))
    return SparseVector(list(weights), list(weights.values()))

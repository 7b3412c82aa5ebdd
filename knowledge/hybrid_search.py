"""The parts of one hybrid search that are not Qdrant calls: which sides take part (the chunk's
vector, its heading's vector, BM25), how they weigh in the reciprocal rank fusion, and each hit's
cosine score. `Store.search` (knowledge/store.py) asks the engine with them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from knowledge.engines import DENSE, QUESTION, SPARSE, Hit, dot
from knowledge.models import Chunk, Passage
from knowledge.sparse import SparseVector

Mode = Literal["hybrid", "dense", "sparse"]
CANDIDATES = 40
"""Points each side of a hybrid search fetches before fusion, whatever the final limit (more if
the limit is larger): a passage's fused rank depends on the candidates, so with 4 x the limit,
as before, the best passage asked alone (limit 1, how the answer cache checks a hit) was not the
one a turn ranked first (limit 5) for 8 of the 142 questions of the COVID calibration half, and
the answer at rank 1 fell from 73.2% to 70.4% of them."""


def search_sides(
    dense: Sequence[float], sparse: SparseVector, mode: Mode, headings: bool
) -> list[tuple[str, Any]]:
    """The named vectors to search with; none when `mode` asks for a side the question lacks."""
    sides: list[tuple[str, Any]] = []
    if mode in ("hybrid", "dense"):
        sides.append((DENSE, list(dense)))
    if mode == "hybrid" and headings:
        sides.append((QUESTION, list(dense)))
    if mode in ("hybrid", "sparse") and sparse.indices:
        sides.append((SPARSE, sparse))
    return sides


def fusion_weights(sides: list[tuple[str, Any]], dense_weight: float) -> list[float] | None:
    """Each side's weight in the fusion: `dense_weight` for the dense sides, 1 for BM25; None
    (plain RRF) when they are equal."""
    if dense_weight == 1.0:
        return None
    return [1.0 if name == SPARSE else dense_weight for name, _ in sides]


def scored_passages(hits: list[Hit], dense: Sequence[float]) -> list[Passage]:
    """The hits in fused order, each scored by its cosine similarity to the question, which,
    unlike an RRF score, says how relevant it is on an absolute scale."""
    return [
        Passage(
            chunk=Chunk.from_payload(hit.id, hit.payload),
            score=dot(dense, hit.vectors[DENSE]),
            rank=rank,
            question_score=dot(dense, hit.vectors[QUESTION])
            if QUESTION in hit.vectors and hit.payload.get("kind") == "faq"
            else None,
        )
        for rank, hit in enumerate(hits, start=1)
    ]

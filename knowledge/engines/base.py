"""What the Store needs from a Qdrant engine, and the names both engines share.

Points carry named vectors: "dense" (multilingual-e5, cosine), "question" (the chunk's heading: an
FAQ row's question, a section's title and headings) and "sparse" (BM25 term weights with
Qdrant's IDF modifier). A search fuses them with reciprocal rank fusion in the engine.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from operator import mul
from typing import Any, Protocol

DENSE = "dense"
SPARSE = "sparse"
QUESTION = "question"
"""What a chunk is about, alone: an FAQ row's question, or a section's title and headings.
(It keeps the name it had when only FAQ rows carried it: collections are created with it.)"""
RRF_K = 2
"""Reciprocal rank fusion's k, as qdrant-client's local mode uses; a server's default is 60.
Set explicitly so both engines rank alike (k=2 also scored best on the calibration half)."""
SCROLL_PAGE = 512
TIE_MARGIN = 5
"""Hits asked beyond a query's limit so that the cut is ours. Points with equal scores (common
after rank fusion: 1/(k+1) + 1/(k+4) = 1/(k+2) + 1/(k+2)) come back from an engine in either
order, run to run, which moved the COVID test half's R@1 by 0.01 on one store and one code."""
TIE_TOLERANCE = 1e-6
"""Fused scores closer than this are equal. An engine sums a point's sides in its own order in
single precision, so two sums that are equal on paper may differ in the last bits; unequal ones
differ by far more (1/(k+40) - 1/(k+41) is 5.5e-4)."""

Vectors = dict[str, Any]
"""Vector name -> a list of floats (dense) or a SparseVector."""
Clauses = list[dict[str, list[str]]]
"""A payload filter (`Access.clauses()`): every clause must hold; a clause holds when any of its
fields has any of its values."""


@dataclass(frozen=True)
class Hit:
    id: str
    payload: dict[str, Any]
    vectors: dict[str, list[float]]


class Engine(Protocol):
    """What the Store needs from a Qdrant engine; `name` may be a collection or an alias."""

    def collections(self) -> list[str]: ...
    def create(self, name: str, dimension: int) -> None: ...
    def drop(self, name: str) -> None: ...
    def alias_target(self, alias: str) -> str | None: ...
    def set_alias(self, alias: str, collection: str) -> None: ...
    def metadata(self, name: str) -> dict: ...
    def set_metadata(self, name: str, metadata: dict) -> None: ...
    def upsert(self, name: str, points: list[tuple[str, Vectors, dict]]) -> None: ...
    def delete(self, name: str, point_ids: list[str]) -> None: ...
    def scroll(
        self, name: str, with_vectors: bool = False
    ) -> Iterator[tuple[str, dict, Vectors]]: ...
    def retrieve(self, name: str, point_ids: list[str]) -> dict[str, dict]: ...
    def count(self, name: str) -> int: ...
    def query(
        self,
        name: str,
        sides: list[tuple[str, Any]],
        limit: int,
        candidates: int,
        weights: list[float] | None = None,
        clauses: Clauses | None = None,
    ) -> list[Hit]:
        """Nearest points to one side, or the sides fused by reciprocal rank: a point at a
        side's 0-based `position` gets 1 / ((position + 1) / weight + k - 1) from it (Qdrant's
        weighted RRF: a weight of 2 counts the 4th as the 2nd; None: all 1). Equal fused
        scores are ordered by meaning (`settle_ties`). Only points `clauses` allow are
        candidates: the filter is applied to every side and to the fusion."""
        ...

    def ensure_indexes(self, name: str) -> None:
        """Keyword indexes on the payload fields every query filters on; idempotent."""
        ...

    def close(self) -> None: ...


def payload_filter(models: Any, clauses: Clauses | None) -> Any:
    """`clauses` as a Qdrant Filter, built from either engine's models module (qdrant_edge and
    qdrant_client.models spell Filter, FieldCondition and MatchValue alike). A clause is a
    should-match over one MatchValue per allowed value: on the 10,000-point benchmark that cost
    about half of one MatchAny, and a third of a nested filter; one clause is not nested at all."""
    if not clauses:
        return None
    shoulds = [
        [
            models.FieldCondition(key=key, match=models.MatchValue(value=value))
            for key, values in clause.items()
            for value in values
        ]
        for clause in clauses
    ]
    if len(shoulds) == 1:
        return models.Filter(should=shoulds[0])
    return models.Filter(must=[models.Filter(should=should) for should in shoulds])


def plain_vectors(vectors: Any) -> Vectors:
    """An engine's dense vectors as plain lists (sparse ones are not needed back)."""
    return {name: list(v) for name, v in (vectors or {}).items() if isinstance(v, (list, tuple))}


def dense_side(sides: list[tuple[str, Any]]) -> Sequence[float] | None:
    """The question's dense vector among a query's sides (None for BM25 alone)."""
    return next((vector for name, vector in sides if name in (DENSE, QUESTION)), None)


def settle_ties(
    search: Callable[[int], list], limit: int, question: Sequence[float] | None = None
) -> list:
    """The best `limit` of the points `search(n)` returns (an engine's best n, each with `.score`,
    `.id` and `.vector`), equal scores ordered by their chunk's cosine to `question`, then by
    point id: the same points in the same order whatever order the engine gave ties in, and of
    two passages that rank alike by fusion (1st by meaning and 4th by keywords, or 4th and 1st)
    the closer in meaning first. Asks for TIE_MARGIN more than `limit`; when even the last of
    those ties the cut, others may tie it too, so it asks again for twice as many."""
    wanted = limit + TIE_MARGIN
    while True:
        points = _ordered(search(wanted), question)
        if len(points) < wanted or len(points) <= limit or points[-1][0] != points[limit - 1][0]:
            return [point for _, point in points[:limit]]
        wanted *= 2


def _ordered(points: list, question: Sequence[float] | None) -> list[tuple[int, Any]]:
    """(tie group, point) by score, best first; a group holds the points of one score, within
    TIE_TOLERANCE, ordered by cosine to `question`, then id. Cosines are computed for tied
    points only: 15 of them cost ~0.25 ms a search, most searches have no tie."""
    by_score = sorted(points, key=lambda p: -p.score)
    groups, group = [], 0
    for before, point in zip([None, *by_score], by_score, strict=False):
        if before is not None and before.score - point.score > TIE_TOLERANCE:
            group += 1
        groups.append(group)
    sizes = Counter(groups)
    return sorted(
        zip(groups, by_score, strict=True),
        key=lambda gp: (
            gp[0],
            -_cosine(question, gp[1]) if sizes[gp[0]] > 1 else 0.0,
            str(gp[1].id),
        ),
    )


def _cosine(question: Sequence[float] | None, point: Any) -> float:
    """The point's dense vector's dot product with `question`: both are unit vectors (e5's are
    normalised, and a cosine collection stores its vectors normalised)."""
    chunk = (point.vector or {}).get(DENSE) if question is not None else None
    return dot(question, chunk) if chunk is not None else 0.0


def dot(a: Sequence[float], b: Sequence[float]) -> float:
    # map(mul) rather than a generator: the same sum, in the same order, at ~60% of the cost
    # (a turn takes up to ten of these over 384 dimensions).
    if len(a) != len(b):
        raise ValueError(f"vectors of {len(a)} and {len(b)} dimensions")
    return float(sum(map(mul, a, b)))

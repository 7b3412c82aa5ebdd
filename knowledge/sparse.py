"""Sparse lexical vectors for the hybrid search's keyword side.

`qdrant_edge.Bm25` computes the same BM25 term weights, with the same token ids, as a
Qdrant server's text pipeline (stemming, stop words). Documents get saturated term
frequencies; the collection's IDF modifier supplies the inverse document frequency at
query time, so adding documents never requires re-encoding old ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import qdrant_edge

AVERAGE_CHUNK_WORDS = 80.0
"""BM25's length normalisation reference: the typical chunk length, in words."""


@dataclass(frozen=True, slots=True)
class SparseVector:
    indices: list[int]
    values: list[float]


class SparseEncoder:
    def __init__(self) -> None:
        self._bm25 = qdrant_edge.Bm25(qdrant_edge.Bm25Config(avg_len=AVERAGE_CHUNK_WORDS))

    def encode_document(self, text: str) -> SparseVector:
        vector = self._bm25.embed_document(text)
        return SparseVector(list(vector.indices), list(vector.values))

    def encode_query(self, text: str) -> SparseVector:
        vector = self._bm25.embed_query(text)
        return SparseVector(list(vector.indices), list(vector.values))

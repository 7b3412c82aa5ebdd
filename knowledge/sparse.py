"""Sparse lexical vectors for the hybrid search's keyword side, per language.

`qdrant_edge.Bm25` computes the same BM25 term weights, with the same token ids, as a
Qdrant server's text pipeline. English (and other space-separated text) goes through its
word tokenizer with stemming and stop words. Korean glues particles and endings to words
(휴가는, 휴가를, 휴가가 are one noun), so text with Hangul is first cut into morphemes by
kiwipiepy, keeping content morphemes (nouns, verb and adjective stems, roots, numbers,
Latin words), and those are weighted by a whitespace BM25. Token ids are hashes of the
token, so both paths share one vocabulary ("vpn" is the same id in either).

Documents get saturated term frequencies; the collection's IDF modifier supplies the
inverse document frequency at query time, so adding documents never re-encodes old ones.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache

import qdrant_edge

AVERAGE_CHUNK_WORDS = 80.0
"""BM25's length normalisation reference: the typical chunk length, in words."""
HANGUL = re.compile("[\uac00-\ud7a3]")
KOREAN_CONTENT_TAGS = ("NN", "VV", "VA", "XR", "SL", "SN", "SH", "MAG")
"""Nouns, verb and adjective stems, roots, Latin words, numbers, Hanja, adverbs (매년, 안)."""


@dataclass(frozen=True, slots=True)
class SparseVector:
    indices: list[int]
    values: list[float]


class SparseEncoder:
    def __init__(self) -> None:
        self._words = qdrant_edge.Bm25(qdrant_edge.Bm25Config(avg_len=AVERAGE_CHUNK_WORDS))
        self._morphemes = qdrant_edge.Bm25(qdrant_edge.Bm25Config(
            avg_len=AVERAGE_CHUNK_WORDS, tokenizer=qdrant_edge.TokenizerType.Whitespace, lowercase=True,
        ))

    @staticmethod
    def korean_morphemes(text: str) -> str:
        with _KIWI_LOCK:  # Kiwi is not documented as thread-safe; Slack handlers run in threads
            tokens = _kiwi().tokenize(text)
        return " ".join(t.form.lower() for t in tokens if t.tag.startswith(KOREAN_CONTENT_TAGS))

    def encode_document(self, text: str) -> SparseVector:
        if HANGUL.search(text):
            return _vector(self._morphemes.embed_document(self.korean_morphemes(text)))
        return _vector(self._words.embed_document(text))

    def encode_query(self, text: str) -> SparseVector:
        if HANGUL.search(text):
            return _vector(self._morphemes.embed_query(self.korean_morphemes(text)))
        return _vector(self._words.embed_query(text))


_KIWI_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _kiwi():
    """Loaded on the first Korean text, once per process: it costs about 2.5 s."""
    from kiwipiepy import Kiwi

    return Kiwi()


def _vector(raw) -> SparseVector:
    return SparseVector(list(raw.indices), list(raw.values))

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
BOUND_NOUN = "NNB"
"""것, 수, 때: nouns only in grammar ("할 수 있다"), as empty as a particle."""
KEY_TAGS = ("NNG", "NNP", "NR", "XR", "SL", "SN", "SH")
"""What a question is about: its nouns, roots, foreign words and numbers. Its verb stems (하,
되, 있, 쓰) occur in almost every passage and say little about which one answers."""


@dataclass(frozen=True, slots=True)
class SparseVector:
    indices: list[int]
    values: list[float]


class SparseEncoder:
    def __init__(self) -> None:
        self._words = qdrant_edge.Bm25(qdrant_edge.Bm25Config(avg_len=AVERAGE_CHUNK_WORDS))
        self._morphemes = qdrant_edge.Bm25(
            qdrant_edge.Bm25Config(
                avg_len=AVERAGE_CHUNK_WORDS,
                tokenizer=qdrant_edge.TokenizerType.Whitespace,
                lowercase=True,
            )
        )

    @staticmethod
    def korean_morphemes(text: str) -> str:
        forms = _content(text)
        # A compound noun's syllable pairs too, so 재택 finds 재택근무 and 근무 finds it as well.
        pairs = [
            f[i : i + 2]
            for f in forms
            if len(f) >= 3 and HANGUL.fullmatch(f[0])
            for i in range(len(f) - 1)
        ]
        return " ".join(forms + pairs)

    @staticmethod
    def terms(text: str) -> frozenset[str]:
        """The content morphemes of a text, lowercased (Latin words too): what a passage is
        matched on by the lexical relevance of a Korean question."""
        return frozenset(
            _content(text)
        )  # whole morphemes: a syllable pair matched many off-topic nouns

    @staticmethod
    def tagged(text: str) -> tuple[tuple[str, str], ...]:
        """Every morpheme of a Korean text with its part-of-speech tag (Kiwi's tag set), endings
        and auxiliaries included: what the output guards read a negation from (받지 않습니다)."""
        return _tagged(text)

    @staticmethod
    def key_terms(text: str) -> frozenset[str]:
        """What a question is about (KEY_TAGS), or all its content morphemes if it has none."""
        key = frozenset(form for form, tag in _tagged(text) if tag.startswith(KEY_TAGS))
        return key or SparseEncoder.terms(text)

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


def _content(text: str) -> list[str]:
    return [
        form
        for form, tag in _tagged(text)
        if tag.startswith(KOREAN_CONTENT_TAGS) and tag != BOUND_NOUN
    ]


@lru_cache(maxsize=4096)
def _tagged(text: str) -> tuple[tuple[str, str], ...]:
    """(form lowercased, tag) per morpheme. Cached: the same passages come back for many questions."""
    with _KIWI_LOCK:  # Kiwi is not documented as thread-safe; Slack handlers run in threads
        tokens = _kiwi().tokenize(text)
    return tuple((t.form.lower(), t.tag) for t in tokens)


def _vector(raw) -> SparseVector:
    return SparseVector(list(raw.indices), list(raw.values))

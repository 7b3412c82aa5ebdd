"""Is every sentence of an answer supported by the passages it was built from?

A lexical check, cheap and explainable: a sentence is supported when most of its content
words, and every number in it, occur in the passages. It catches the typical hallucination
of a retrieval bot (an invented amount, a date, a rule from elsewhere) without a second model.

Korean glues particles and endings to its words (휴가는, 휴가를; 신청하려면, 신청할), so
a faithful paraphrase shares few whole words with its passage. Text with Hangul is compared
by its content morphemes instead, cut by kiwipiepy as the keyword search cuts it
(knowledge.sparse); the light verbs and bound nouns every sentence has (하, 되, 있, 것, 수)
do not count as content.
"""

from __future__ import annotations

import re

from nltk.stem.snowball import SnowballStemmer

from knowledge.language import HANGUL
from knowledge.sparse import SparseEncoder

SUPPORT = 0.6
"""Share of a sentence's content words that must occur in the passages."""
MIN_CONTENT_WORDS = 3
"""Shorter sentences ("Yes.", "See [1].") carry no claim worth checking."""

CITATION = re.compile(r"\[\d+\]")
SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "then",
        "than",
        "that",
        "this",
        "these",
        "those",
        "there",
        "their",
        "they",
        "them",
        "it",
        "its",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "to",
        "of",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "from",
        "as",
        "into",
        "about",
        "over",
        "under",
        "per",
        "can",
        "could",
        "should",
        "would",
        "will",
        "may",
        "might",
        "must",
        "do",
        "does",
        "did",
        "done",
        "have",
        "has",
        "had",
        "you",
        "your",
        "yours",
        "we",
        "our",
        "us",
        "i",
        "me",
        "my",
        "he",
        "she",
        "his",
        "her",
        "not",
        "no",
        "yes",
        "so",
        "such",
        "also",
        "only",
        "just",
        "any",
        "all",
        "each",
        "every",
        "some",
        "more",
        "most",
        "other",
        "which",
        "who",
        "whom",
        "whose",
        "what",
        "when",
        "where",
        "why",
        "how",
        "here",
        "up",
        "out",
        "off",
        "very",
    ]
)
KOREAN_STOPWORDS = frozenset(
    [
        "하",
        "되",
        "있",
        "않",
        "것",
        "수",
        "등",
        "때",
        "중",
        "및",
        "더",
        "또",
        "그",
        "이",
        "저",
        "좀",
        "잘",
        "안",
        "못",
        "같",
        "위",
        "경우",
        "관련",
        "대하",
    ]
)


_stem = SnowballStemmer("english").stem
"""vacation, vacations -> vacat; approved, approval -> approv: a paraphrase keeps its stems."""


def content_words(text: str) -> set[str]:
    if HANGUL.search(text):
        # Whole morphemes: the syllable pairs the keyword search adds for compound nouns
        # (잃어버리: 잃어, 어버, 버리) would count as words a paraphrase must share.
        return {
            m
            for m in SparseEncoder.terms(text)
            if not m.isdigit() and m not in KOREAN_STOPWORDS and m not in STOPWORDS
        }
    return {
        _stem(w)
        for w in (m.lower() for m in _WORD.findall(text))
        if len(w) > 2 and w not in STOPWORDS
    }


def unsupported_sentences(answer: str, passages: list[str]) -> list[str]:
    """Sentences of `answer` that the passages do not back up."""
    source_words = set().union(*(content_words(p) for p in passages)) if passages else set()
    source_numbers = {n.replace(",", ".") for p in passages for n in NUMBER.findall(p)}
    unsupported = []
    for sentence in SENTENCE.split(CITATION.sub("", answer)):
        sentence = sentence.strip()
        numbers = {n.replace(",", ".") for n in NUMBER.findall(sentence)}
        if numbers - source_numbers:
            unsupported.append(sentence)
            continue
        words = content_words(sentence)
        if len(words) >= MIN_CONTENT_WORDS and len(words & source_words) / len(words) < SUPPORT:
            unsupported.append(sentence)
    return unsupported

"""Is every sentence of an answer supported by the passages it was built from?

A lexical check, cheap and explainable: a sentence is supported when most of its content
words, and every number in it, occur in the passages. It catches the typical hallucination
of a retrieval bot (an invented amount, a date, a rule from elsewhere) without a second model.
"""

from __future__ import annotations

import re

SUPPORT = 0.6
"""Share of a sentence's content words that must occur in the passages."""
MIN_CONTENT_WORDS = 3
"""Shorter sentences ("Yes.", "See [1].") carry no claim worth checking."""

_CITATION = re.compile(r"\[\d+\]")
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
STOPWORDS = frozenset("""a an the and or but if then than that this these those there their they them it its is are was
were be been being to of in on at by for with from as into about over under per can could should would will may might
must do does did done have has had you your yours we our us i me my he she his her not no yes so such also only just
any all each every some more most other which who whom whose what when where why how here up out off very
""".split())


def _stem(word: str) -> str:
    return word[:6]


def content_words(text: str) -> set[str]:
    return {_stem(w) for w in (m.lower() for m in _WORD.findall(text)) if len(w) > 2 and w not in STOPWORDS}


def unsupported_sentences(answer: str, passages: list[str]) -> list[str]:
    """Sentences of `answer` that the passages do not back up."""
    source_words = set().union(*(content_words(p) for p in passages)) if passages else set()
    source_numbers = {n.replace(",", ".") for p in passages for n in _NUMBER.findall(p)}
    unsupported = []
    for sentence in _SENTENCE.split(_CITATION.sub("", answer)):
        sentence = sentence.strip()
        numbers = {n.replace(",", ".") for n in _NUMBER.findall(sentence)}
        if numbers - source_numbers:
            unsupported.append(sentence)
            continue
        words = content_words(sentence)
        if len(words) >= MIN_CONTENT_WORDS and len(words & source_words) / len(words) < SUPPORT:
            unsupported.append(sentence)
    return unsupported

"""Two ways a small model's answer passes the grounding check and is still wrong.

Grounding (guards/grounding.py) asks whether a sentence's words occur in its passages. Two
failures of Qwen 0.5B on the sample knowledge base share their words with the passage:

- An **echo**: the question repeated as the answer ("VPN 접속이 안 돼요. [1]"), or a bare
  "Yes. [1]", says nothing the question did not; it cannot be checked against anything.
- A **flipped polarity**: "Yes, contractors can claim the home-office budget [1]." from
  "Contractors do not receive the home-office budget." Every content word is in the passage;
  the negation is not. A sentence is compared with the passage sentence it shares most words
  with, and must agree with it on whether it is negated.

A third is an answer that only **names a source**: "IT 지원 안내 > 소프트웨어 설치 요청
(https://...)", the passage's title and link as shown in the prompt, says nothing the sources
list does not.

All three are lexical and cheap, like the grounding check: they catch what the measured model did,
not every contradiction (a flipped number is the grounding check's; a paraphrase that negates
with other words, "only employees get it", passes).
"""

from __future__ import annotations

import re

from guards.grounding import CITATION, MIN_CONTENT_WORDS, NUMBER, SENTENCE, SUPPORT, content_words
from knowledge.language import HANGUL
from knowledge.sparse import SparseEncoder

_CLAUSE = re.compile(SENTENCE.pattern + r"|;\s*|,\s+")
"""Negation is compared clause by clause: "X, but not Y" restates X and denies Y."""
_ENGLISH_NEGATION = re.compile(
    r"\b(?:not|no|never|none|nobody|nothing|neither|nor|cannot|without)\b|n't\b", re.IGNORECASE
)
_NOT_A_NEGATION = re.compile(
    r"\b(?:no|not)\s+(?:later|earlier|sooner|more|less|fewer|longer|older)\s+than\b"
    r"|\bnot\s+only\b|\bno\.\s*\d",
    re.IGNORECASE,
)
"""Bounds and additions written with a not: "no later than 60 days" restates "within 60 days"."""
_KOREAN_NEGATION = frozenset(
    [
        ("않", "VX"),
        ("없", "VA"),
        ("없이", "MAG"),
        ("못", "MAG"),
        ("안", "MAG"),
        ("아니", "VCN"),
        ("말", "VX"),
    ]
)
"""받지 않다, 받을 수 없다, 승인 없이, 못 받다, 안 되다, 대상이 아니다, 하지 마세요."""


def echoes_question(answer: str, question: str) -> bool:
    """Whether `answer` adds no word or number to `question`: it repeats it, or is a bare yes/no,
    or a yes/no with the question restated. The last may be right ("Yes, the office opens at
    7 am.") but nothing in it can be checked, and Qwen 0.5B wrote "Yes, contractors can claim
    the home-office budget." citing the budget row, not the rule that says they cannot: the
    passage quoted instead is right either way."""
    if not question.strip():
        return False
    text = CITATION.sub("", answer)
    new_numbers = set(NUMBER.findall(text)) - set(NUMBER.findall(question))
    return not new_numbers and not (content_words(text) - content_words(question))


_URL = re.compile(r"https?://\S+")
_TITLE_PARTS = re.compile(r"\s+>\s+|[()]")


def names_only(answer: str, titles: list[str]) -> bool:
    """Whether `answer`, without the passages' titles and links as the prompt showed them
    ("Title > Section (https://...)"), has no word or number left."""
    bare = CITATION.sub("", answer)
    parts = {part.strip() for title in titles for part in _TITLE_PARTS.split(title)} - {""}
    text = _URL.sub(" ", bare)
    for part in sorted(parts, key=len, reverse=True):  # "Remote Work" before "Work"
        text = text.replace(part, " ")
    return text != bare and not NUMBER.search(text) and not content_words(text)


def flipped_sentences(answer: str, passages: list[str]) -> list[str]:
    """Clauses of `answer` negated where the passage clause they restate is not, or the other
    way round."""
    restated = [(c, content_words(c)) for p in passages for c in _CLAUSE.split(p) if c.strip()]
    flipped = []
    for clause in _CLAUSE.split(CITATION.sub("", answer)):
        words = content_words(clause)
        if len(words) < MIN_CONTENT_WORDS or not restated:
            continue
        source, shared = max(((s, len(words & w)) for s, w in restated), key=lambda x: x[1])
        if shared / len(words) >= SUPPORT and negated(clause) != negated(source):
            flipped.append(clause.strip())
    return flipped


def negated(sentence: str) -> bool:
    if HANGUL.search(sentence):
        return any(m in _KOREAN_NEGATION for m in SparseEncoder.tagged(sentence))
    return bool(_ENGLISH_NEGATION.search(_NOT_A_NEGATION.sub("", sentence)))

"""Whether a channel message nobody addressed to the bot is a question worth answering (a
channel set to answer plain questions, `/kb channel ... mode=questions`).

A question ends with "?", or reads as one: in English, it opens with a question word or an
inverted auxiliary ("how do I...", "is there..."), or asks for help ("does anyone know...");
in Korean, it ends with a question ending (-까, -나요, -가요, -죠, -니) or asks with a question
word (어떻게, 언제, 어디, 무엇/뭐, 누구, 왜, 얼마, 몇). Measured on tests/data/channel_messages.jsonl
(100 messages, half questions; tests/test_question_filter.py holds its figures).
"""

from __future__ import annotations

import re

MIN_CHARS = 8
"""Shorter than this ("ok?", "뭐?") is chatter, not a question for the handbook."""

ENGLISH_OPENERS = re.compile(
    r"^(?:hi|hey|hello|quick question)?[\s,!:]*"
    r"(?:what|how|why|when|where|who|whom|whose|which|"
    r"(?:is|are|was|were|do|does|did|can|could|should|would|will|may|must|have|has|am)\s+"
    r"(?:i|we|you|they|there|it|he|she|the|my|our|a|an|this|that|these|those|anyone|someone|somebody)\b|"
    r"does anyone|anyone know|any idea|is it (?:ok|okay|allowed|possible))",
    re.IGNORECASE,
)
KOREAN_ENDINGS = re.compile(r"(?:까|나요|가요|죠|니|는지|을지|ㄹ지|냐|나)\s*[.!~]*\s*$")
KOREAN_QUESTION_WORDS = re.compile(r"어떻게|언제|어디|무엇|뭐|누구|누가|왜|얼마|몇|어느|무슨")
KOREAN_REQUESTS = re.compile(r"(?:알려\s*주|가르쳐\s*주|궁금)")


def is_question(text: str) -> bool:
    text = " ".join(text.split())
    if len(text) < MIN_CHARS:
        return False
    if text.rstrip().endswith(("?", "？")):
        return True
    if ENGLISH_OPENERS.match(text):
        return True
    if KOREAN_ENDINGS.search(text):
        return True
    hangul = any("\uac00" <= ch <= "\ud7a3" for ch in text)
    return hangul and bool(KOREAN_QUESTION_WORDS.search(text) and KOREAN_REQUESTS.search(text))

"""Which language a text is in, as far as the chain needs to know: Korean or English.

The share of Hangul among the letters decides. Korean staff mix in English words ("VPN 접속이
안 돼요", "LLM API 비용"), so a question is Korean when at least a quarter of its letters are
Hangul, not only when all of them are.
"""

from __future__ import annotations

import re
from typing import Literal

Language = Literal["en", "ko"]

HANGUL = re.compile("[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
"""Syllables, conjoining jamo and compatibility jamo (ㅋㅋ)."""
KOREAN_SHARE = 0.25
"""Hangul's share of a text's letters from which it is taken for Korean."""
_LETTER = re.compile(r"[^\W\d_]")


def hangul_share(text: str) -> float:
    letters = _LETTER.findall(text)
    return sum(bool(HANGUL.match(ch)) for ch in letters) / len(letters) if letters else 0.0


def language_of(text: str) -> Language:
    return "ko" if hangul_share(text) >= KOREAN_SHARE else "en"

"""The answers the chain can end in, besides a cache hit: a validated model answer, a quote of
the best passage, or a refusal that shows the closest sources. Their wording is in the
catalogues (bot/chain/messages/), in the language of the question."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

from bot.chain.answer import Answer
from bot.chain.i18n import text
from knowledge.models import Passage

if TYPE_CHECKING:
    from guards.output import GuardResult

CLOSEST_SOURCES_ON_REFUSAL = 3


def refusal(passages: list[Passage], language: str = "en") -> Answer:
    return Answer(
        text(language, "answer.no_answer"),
        "extractive",
        sources=passages[:CLOSEST_SOURCES_ON_REFUSAL],
        refused=True,
        reason="no_answer",
        confidence=0.0,
        language=language,
    )


def extractive(best: Passage, note: str, language: str = "en") -> Answer:
    """`note` names the catalogue's note saying why a passage is quoted ("extractive_note", ...)."""
    quote = best.quote.strip()
    return Answer(
        f"\u201c{quote}\u201d [1]\n\n{text(language, f'answer.{note}')}",
        "extractive",
        sources=[best],
        confidence=best.score,
        language=language,
    )


def grounded(result: GuardResult, shown: list[Passage], language: str = "en") -> Answer:
    """The validated model answer, with its citations renumbered to the sources listed."""
    value = result.value
    # Only passages it was shown: [0] would otherwise quote the last one, [9] raise IndexError.
    cited = [n for n in dict.fromkeys(value.sources) if 1 <= n <= len(shown)]
    if value.confidence == 0:
        return replace(refusal([shown[n - 1] for n in cited], language), mode="llm")
    new_number = {old: new for new, old in enumerate(cited, start=1)}
    answer = re.sub(
        r"\[(\d+)\]", lambda m: f"[{new_number.get(int(m.group(1)), m.group(1))}]", value.answer
    )
    return Answer(
        answer,
        "llm",
        sources=[shown[n - 1] for n in cited],
        confidence=value.confidence,
        language=language,
    )


def carrying(passages: list[Passage], margin: float) -> list[Passage]:
    """The passages close enough to the best one to carry the answer: every further passage a
    model reads costs tokens, and a weak one invites it to wander."""
    best = max((p.score for p in passages), default=0.0)
    return [p for p in passages if p.score >= best - margin]


def faq_match(passages: list[Passage], threshold: float) -> Passage | None:
    """The FAQ row whose own question matches the user's closely enough to answer as written."""
    matches = [
        p for p in passages if p.question_score is not None and p.question_score >= threshold
    ]
    return max(matches, key=lambda p: p.question_score, default=None)


def verified_answer(match, language: str = "en") -> Answer:
    """A verified answer (bot/chain/verified.py), word for word; its audience is `inherited`, so that
    thread memory shows it to no one else in the thread. Who verified it is said in `language`."""
    entry = match.entry
    return Answer(
        entry.answer,
        "verified",
        confidence=round(match.similarity, 4),
        attribution=entry.attribution(language),
        language=language,
        inherited=[list(entry.audience)],
        notes=[f"verified answer {entry.id}: {match.kind} match ({match.similarity:.2f})"],
    )

"""The answers the chain can end in, besides a cache hit: a validated model answer, a quote of
the best passage, or a refusal that shows the closest sources. Their wording lives here."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

from bot.models import Answer
from knowledge.models import Passage

if TYPE_CHECKING:
    from guards.output import GuardResult

CLOSEST_SOURCES_ON_REFUSAL = 3
EXTRACTIVE_NOTE = "(No language model is configured, so this is the best-matching passage, quoted as written.)"
BUDGET_NOTE = ("(Today's language-model budget for this channel is spent, so this is the best-matching "
               "passage, quoted.)")
FALLBACK_NOTE = "(The language model's answer could not be verified, so this is the best-matching passage, quoted.)"
NO_ANSWER = "I could not find this in the knowledge base. The closest sources are listed below."
EMPTY_QUESTION = "Ask me a question about the company's manuals and FAQs."


def refusal(passages: list[Passage]) -> Answer:
    return Answer(NO_ANSWER, "extractive", sources=passages[:CLOSEST_SOURCES_ON_REFUSAL],
                  refused=True, reason="no_answer", confidence=0.0)


def extractive(best: Passage, note: str) -> Answer:
    quote = best.quote.strip()
    return Answer(f"\u201c{quote}\u201d [1]\n\n{note}", "extractive", sources=[best], confidence=best.score)


def grounded(result: GuardResult, shown: list[Passage]) -> Answer:
    """The validated model answer, with its citations renumbered to the sources listed."""
    value = result.value
    cited = list(dict.fromkeys(value.sources))
    if value.confidence == 0:
        return replace(refusal([shown[n - 1] for n in cited]), mode="llm")
    new_number = {old: new for new, old in enumerate(cited, start=1)}
    text = re.sub(r"\[(\d+)\]", lambda m: f"[{new_number.get(int(m.group(1)), m.group(1))}]", value.answer)
    return Answer(text, "llm", sources=[shown[n - 1] for n in cited], confidence=value.confidence)

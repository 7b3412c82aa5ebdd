"""What the Slack assistant view suggests asking when a thread starts: the questions in
SLACK_SUGGESTED_PROMPTS, or else FAQ questions from the index, so that a suggestion is always
one this knowledge base answers (English ones first: the greeting is English). Only FAQ rows
for everyone are suggested: a restricted question is not shown to whoever opens the view."""

from __future__ import annotations

from collections.abc import Sequence

from knowledge.language import language_of
from knowledge.store import Store

MAX_PROMPTS = 3
TITLE_CHARS = 40
CANDIDATES = 4 * MAX_PROMPTS
"""FAQ questions read from the index to choose from (the first of its scroll order)."""


def suggested_prompts(configured: Sequence[str], store: Store) -> list[dict[str, str]]:
    """Slack's `prompts` (a title and the message sent when clicked); empty when there is nothing to suggest."""
    questions = list(configured) or faq_questions(store)
    return [{"title": title(question), "message": question} for question in questions[:MAX_PROMPTS]]


def faq_questions(store: Store) -> list[str]:
    found: list[str] = []
    for chunk in store.chunks():
        if chunk.kind == "faq" and not chunk.restricted and chunk.question and chunk.question not in found:
            found.append(chunk.question)
            if len(found) == CANDIDATES:
                break
    return sorted(found, key=lambda question: language_of(question) != "en")


def title(question: str) -> str:
    return question if len(question) <= TITLE_CHARS else question[:TITLE_CHARS - 1].rstrip() + "…"

"""What the Slack assistant view suggests asking when a thread starts: the questions in
SLACK_SUGGESTED_PROMPTS, or else FAQ questions from the index, so that a suggestion is always
one this knowledge base answers (English ones first: the greeting is English). Only FAQ rows
for everyone are suggested: a restricted question is not shown to whoever opens the view, so
one list serves every asker.

The FAQ questions are read once per index version (`Store.version`, which every ingest and
swap changes), not at every thread start: reading them scrolls the whole index. Their rows are
looked up again at each thread start (a few points by id): an in-place ingest interrupted before
it records a new version can have restricted a row, and its question must then go at once."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from knowledge.language import language_of
from knowledge.store import Store

MAX_PROMPTS = 3
TITLE_CHARS = 40
CANDIDATES = 4 * MAX_PROMPTS
"""FAQ questions read from the index to choose from (the first of its scroll order)."""


class Suggestions:
    def __init__(self, configured: Sequence[str], store: Store | None) -> None:
        """`store` may be None when `configured` is not empty: the index is not read then."""
        self._configured = list(configured)
        self._store = store
        self._read: tuple[str, list[tuple[str, str]]] | None = None
        """The index version and the FAQ rows (chunk id, question) read at it."""
        self._lock = threading.Lock()  # thread starts arrive on several listener threads

    def prompts(self) -> list[dict[str, str]]:
        """Slack's `prompts` (a title and the message sent when clicked); empty when there is nothing to suggest."""
        questions = self._configured or self._faq_questions()
        return [
            {"title": title(question), "message": question} for question in questions[:MAX_PROMPTS]
        ]

    def _faq_questions(self) -> list[str]:
        # The version is read before the index: an ingest landing meanwhile changes it again,
        # so the next thread start reads the index anew.
        version = self._store.version()
        with self._lock:
            if self._read is None or self._read[0] != version:
                self._read = (version, faq_questions(self._store))
            rows = self._read[1]
        if not rows:
            return []
        current = self._store.chunks_by_id([chunk_id for chunk_id, _ in rows])
        return [
            question
            for chunk_id, question in rows
            if chunk_id in current and not current[chunk_id].restricted
        ]


def faq_questions(store: Store) -> list[tuple[str, str]]:
    """(chunk id, question) of FAQ rows for everyone, English questions first."""
    found: dict[str, str] = {}
    for chunk in store.chunks():
        if (
            chunk.kind == "faq"
            and not chunk.restricted
            and chunk.question
            and chunk.question not in found
        ):
            found[chunk.question] = chunk.id
            if len(found) == CANDIDATES:
                break
    return [
        (found[question], question)
        for question in sorted(found, key=lambda question: language_of(question) != "en")
    ]


def title(question: str) -> str:
    return question if len(question) <= TITLE_CHARS else question[: TITLE_CHARS - 1].rstrip() + "…"

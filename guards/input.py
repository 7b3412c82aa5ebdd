"""The input guard: runs on every question before retrieval, memory, cache or the LLM.

Order matters: size first (cheap, and nothing else should read 40,000 characters), then
redaction (so that nothing later sees personal data), then injection checks (patterns on
the original, which only yields a verdict; similarity on the redacted text's embedding)
and policy checks on the redacted text. Pure Python and one shared embedding: no guardrails import, so it costs
nothing extra in extractive mode.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import islice
from pathlib import Path

from guards.injection import InjectionDetector
from guards.phones import DEFAULT_REGION
from guards.pii import Finding, redact
from guards.policy import BusinessRules
from knowledge.language import language_of

MAX_QUESTION_CHARS = 4000
"""Longer questions are refused with a message (reason `too_long`), never silently cut."""


@dataclass(frozen=True)
class InputVerdict:
    text: str
    """The question with personal data redacted: what every later step sees."""
    reason: str | None = None
    """None when the question may go on; else `too_long`, `prompt_injection` or `off_topic`."""
    message: str = ""
    """For `off_topic`, the business rules' message, in the question's language when the rules
    have one. The other refusals are worded by whoever shows them (the bot's catalogues)."""
    detail: str = ""
    """Why (a pattern's name, a topic): for logs and evals, not for users."""
    redacted: list[Finding] = field(default_factory=list)


class InputGuard:
    def __init__(
        self,
        rules: BusinessRules,
        embed: Callable[[Sequence[str]], list[list[float]]] | None = None,
        embed_query: Callable[[str], Sequence[float]] | None = None,
        phone_region: str = DEFAULT_REGION,
        vectors_dir: Path | None = None,
    ) -> None:
        """`vectors_dir`: where the injection check keeps its attack styles' vectors between
        processes (guards/injection.py), so a cold start does not embed them again."""
        self.rules = rules
        self.phone_region = phone_region
        """PII_PHONE_REGION: where a phone number without a country code is read as dialled from."""
        self.injection = InjectionDetector(embed, vectors_dir=vectors_dir)
        self._embed_query = embed_query

    def check(self, question: str) -> InputVerdict:
        if len(question) > MAX_QUESTION_CHARS:
            return InputVerdict("", "too_long", detail=f"{len(question):,} characters")
        text, findings = redact(question, self.phone_region)
        vector = self._embed_query(text) if self._embed_query else None
        # Patterns read the original: redaction would hide a payload ("57 68 61 74 ..." looks
        # like a phone number). Only a verdict comes out; the model never sees this text.
        verdict = self.injection.check(question, vector)
        if verdict.blocked:
            return InputVerdict(text, "prompt_injection", "", verdict.reason, findings)
        refusal = self.rules.refusal_for(text)
        if refusal is not None:
            return InputVerdict(
                text,
                "off_topic",
                refusal.message_in(language_of(question)),
                refusal.topic,
                findings,
            )
        return InputVerdict(text, redacted=findings)

    def passage_is_safe(self, text: str) -> bool:
        """Retrieved text is untrusted too: one that carries instructions is not shown to the model."""
        return _safe_passage(text)

    def screen_ahead(self, passages: Iterable[str]) -> int:
        """Screen passages before anyone asks (a worker's start), as many as the verdicts kept:
        a turn that retrieves one for the first time then does not wait for it. How many were."""
        screened = 0
        for text in islice(passages, SCREENED_KEPT):
            _safe_passage(text)
            screened += 1
        return screened


SCREENED_KEPT = 4096
"""Passages whose verdict is kept (about 0.1 kB each)."""


@lru_cache(maxsize=SCREENED_KEPT)
def _safe_passage(text: str) -> bool:
    """Cached: the same passages come back for many questions, and the patterns take about a
    millisecond for each (they were a third of a turn without a model)."""
    return not InjectionDetector.scan(text).blocked

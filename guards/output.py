"""Validate what the LLM returned against the Answer schema and the business rules."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pydantic import ValidationError

from guards._guardrails import new_guard
from guards.claims import echoes_question, flipped_sentences, names_only
from guards.grounding import unsupported_sentences
from guards.phones import DEFAULT_REGION
from guards.policy import BusinessRules
from guards.schema import LLMAnswer, answer_json_schema

INLINE_CITATION = re.compile(r"\[(\d+)\]")


@dataclass(frozen=True)
class GuardResult:
    """The outcome of a check: `value` when it passed, else the problems to show or re-ask with."""

    value: LLMAnswer | None
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.value is not None and not self.problems


class OutputGuard:
    def __init__(
        self, rules: BusinessRules | None = None, phone_region: str = DEFAULT_REGION
    ) -> None:
        self._guard = new_guard(LLMAnswer)
        self._rules = rules or BusinessRules()
        self._phone_region = phone_region
        self.json_schema = answer_json_schema()
        """What a reply must look like; a local model is held to it while it generates."""

    def check(
        self, raw: str, passages: list[str], question: str = "", titles: list[str] | None = None
    ) -> GuardResult:
        """`raw` is the model's text; `passages` the texts it was shown, numbered from 1;
        `question` what it was asked (an answer that only repeats it is no answer); `titles` how
        the passages were named to it (an answer that only names one is no answer either)."""
        declined = _declined(raw, len(passages))
        if declined is not None:
            return GuardResult(declined)
        metadata = {
            "retrieved": list(range(1, len(passages) + 1)),
            "passages": passages,
            "rules": self._rules,
            "phone_region": self._phone_region,
        }
        outcome = self._guard.parse(_strip_fences(raw), metadata=metadata)
        problems = [
            s.failure_reason for s in outcome.validation_summaries or [] if s.failure_reason
        ]
        if outcome.error:
            problems.append(f"Not valid JSON for the answer schema: {outcome.error}")
        if outcome.validation_passed and not problems:
            answer = LLMAnswer.model_validate(outcome.validated_output)
            uncited = sorted(
                {int(n) for n in INLINE_CITATION.findall(answer.answer)} - set(answer.sources)
            )
            if uncited:
                listed = ", ".join(f"[{n}]" for n in uncited)
                return GuardResult(
                    None,
                    [
                        f"The answer cites {listed} inline but not in `sources`; list every passage "
                        "it cites in `sources`."
                    ],
                )
            problems = _claim_problems(answer, passages, question, titles or [])
            return GuardResult(None if problems else answer, problems)
        return GuardResult(None, problems or [_schema_problem(raw)])


def _claim_problems(
    answer: LLMAnswer, passages: list[str], question: str, titles: list[str]
) -> list[str]:
    """What the answer claims, against the passages it cites (guards/claims.py).

    The schema's grounding validator checks against every passage shown: with three passages
    about leave and one about holidays, a small model's "Yes, 1 year has 5 months. [2]" found
    its numbers somewhere among them. An answer is shown with its cited passages as its
    sources, so those are what it must rest on."""
    cited = [passages[n - 1] for n in answer.sources if 1 <= n <= len(passages)]
    if echoes_question(answer.answer, question):
        return [
            "The answer only repeats the question (or is a bare yes/no); say what the cited "
            "passages say that answers it."
        ]
    if names_only(answer.answer, titles):
        return [
            "The answer only names a source (its title or link); say what the cited passages "
            "say that answers the question."
        ]
    problems = []
    ungrounded = unsupported_sentences(answer.answer, cited)
    if ungrounded:
        problems.append(
            f"These sentences are not supported by the passages they cite: {_quoted(ungrounded)}. "
            "Say only what the cited passages say, and cite each passage you use."
        )
    flipped = flipped_sentences(answer.answer, cited)
    if flipped:
        problems.append(
            f"These sentences contradict the passages they cite (one of them says not, the other "
            f"does not): {_quoted(flipped)}. Keep the passage's yes or no."
        )
    return problems


def _quoted(sentences: list[str]) -> str:
    return "; ".join(f'"{s[:120]}"' for s in sentences[:3])


def _declined(raw: str, shown: int) -> LLMAnswer | None:
    """A well-formed reply with confidence 0: the model found no answer, as the prompt asks it to
    say. Its text is never shown (the cascade makes it a refusal), so it needs no citation and
    has nothing to be grounded in; checking it would re-ask an honest "not found" until a tier
    invents something citable. The passages it names become the refusal's closest sources: only
    numbers of the `shown` passages are kept."""
    try:
        answer = LLMAnswer.model_validate_json(_strip_fences(raw))
    except ValidationError:
        return None
    if answer.confidence != 0:
        return None
    return answer.model_copy(update={"sources": [n for n in answer.sources if 1 <= n <= shown]})


def _strip_fences(raw: str) -> str:
    """Models often wrap JSON in ```json fences despite being told not to."""
    text = raw.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
        text = text.rsplit("```", 1)[0]
    return text.strip()


def _schema_problem(raw: str) -> str:
    try:
        LLMAnswer.model_validate_json(_strip_fences(raw))
    except ValidationError as error:
        details = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        return f"The reply does not match the answer schema: {details}"
    return "The reply does not match the answer schema."

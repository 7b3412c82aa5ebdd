"""Output validators, as guardrails validators on the LLMAnswer schema.

Each reads what it needs from the guard's metadata: "retrieved" (the passage numbers the
model was shown), "passages" (their texts), "rules" (the BusinessRules) and "phone_region"
(PII_PHONE_REGION).
"""

from __future__ import annotations

from typing import Any

from guards._guardrails import FailResult, PassResult, Validator, register_validator
from guards.grounding import unsupported_sentences
from guards.phones import DEFAULT_REGION
from guards.pii import find


@register_validator(name="kb/cited-sources-retrieved", data_type="list")
class CitedSourcesRetrieved(Validator):
    """Every cited passage number must be one the model was shown (metadata["retrieved"])."""

    def validate(self, value: Any, metadata: dict[str, Any]) -> PassResult | FailResult:
        allowed = set(metadata.get("retrieved", ()))
        if not value:
            return FailResult(
                error_message="The answer cites no passage; cite the passages it is based on."
            )
        unknown = [v for v in value if v not in allowed]
        if unknown:
            return FailResult(
                error_message=f"Cited passages {unknown} were not among those provided ({sorted(allowed)})."
            )
        return PassResult()


@register_validator(name="kb/grounded", data_type="string")
class Grounded(Validator):
    """Every sentence is supported by the passages shown (content words and numbers)."""

    def validate(self, value: Any, metadata: dict[str, Any]) -> PassResult | FailResult:
        unsupported = unsupported_sentences(str(value), metadata.get("passages", []))
        if unsupported:
            quoted = "; ".join(f'"{s[:120]}"' for s in unsupported[:3])
            return FailResult(
                error_message=f"These sentences are not supported by the passages: {quoted}. "
                "Say only what the passages say."
            )
        return PassResult()


@register_validator(name="kb/no-sensitive-data", data_type="string")
class NoSensitiveData(Validator):
    """No secrets at all, and no personal data that the passages themselves do not contain
    (a passage may well give the service desk's phone number)."""

    def validate(self, value: Any, metadata: dict[str, Any]) -> PassResult | FailResult:
        sources = " ".join(metadata.get("passages", []))
        found = find(str(value), metadata.get("phone_region", DEFAULT_REGION))
        leaks = [f for f in found if f.kind == "SECRET" or f.value not in sources]
        if leaks:
            kinds = sorted({f.kind for f in leaks})
            return FailResult(
                error_message=f"The answer contains {', '.join(kinds)} that the passages do not; "
                "leave personal data and secrets out."
            )
        return PassResult()


@register_validator(name="kb/business-rules", data_type="string")
class FollowsBusinessRules(Validator):
    """No banned phrases and no forbidden promises (guards/rules.toml)."""

    def validate(self, value: Any, metadata: dict[str, Any]) -> PassResult | FailResult:
        rules = metadata.get("rules")
        problems = rules.output_problems(str(value)) if rules else []
        return FailResult(error_message=" ".join(problems)) if problems else PassResult()

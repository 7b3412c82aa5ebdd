"""Business rules, as guardrails validators."""

from __future__ import annotations

from typing import Any

from guards._guardrails import FailResult, PassResult, Validator, register_validator


@register_validator(name="kb/cited-sources-retrieved", data_type="list")
class CitedSourcesRetrieved(Validator):
    """Every cited passage number must be one the model was shown (metadata["retrieved"])."""

    def validate(self, value: Any, metadata: dict[str, Any]) -> PassResult | FailResult:
        allowed = set(metadata.get("retrieved", ()))
        if not value:
            return FailResult(error_message="The answer cites no passage; cite the passages it is based on.")
        unknown = [v for v in value if v not in allowed]
        if unknown:
            return FailResult(
                error_message=f"Cited passages {unknown} were not among those provided ({sorted(allowed)})."
            )
        return PassResult()

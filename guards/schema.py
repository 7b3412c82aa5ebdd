"""What the LLM must return: validated by guardrails before anything reaches a user."""

from __future__ import annotations

from pydantic import BaseModel, Field

from guards._guardrails import OnFailAction
from guards.rules import CitedSourcesRetrieved, FollowsBusinessRules, Grounded, NoSensitiveData


class LLMAnswer(BaseModel):
    """The model's answer to one question, built from the numbered passages it was shown."""

    answer: str = Field(
        description="The answer for the user, citing passages inline as [1], [2].",
        json_schema_extra={"validators": [Grounded(on_fail=OnFailAction.NOOP), NoSensitiveData(on_fail=OnFailAction.NOOP),
                                          FollowsBusinessRules(on_fail=OnFailAction.NOOP)]},
    )
    sources: list[int] = Field(
        description="Numbers of the passages the answer is based on.",
        json_schema_extra={"validators": [CitedSourcesRetrieved(on_fail=OnFailAction.NOOP)]},
    )
    confidence: float = Field(ge=0.0, le=1.0, description="How sure the passages make the answer, 0 to 1.")

"""What the LLM must return: validated by guardrails before anything reaches a user."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from guards._guardrails import OnFailAction
from guards.rules import CitedSourcesRetrieved, FollowsBusinessRules, Grounded, NoSensitiveData

MAX_ANSWER_CHARS = 1500
"""A few sentences; a Slack answer longer than this is rambling (and a tiny model's loop)."""
MAX_SOURCES = 10


class LLMAnswer(BaseModel):
    """The model's answer to one question, built from the numbered passages it was shown."""

    answer: str = Field(
        description="The answer for the user, citing passages inline as [1], [2].",
        max_length=MAX_ANSWER_CHARS,
        json_schema_extra={
            "validators": [
                Grounded(on_fail=OnFailAction.NOOP),
                NoSensitiveData(on_fail=OnFailAction.NOOP),
                FollowsBusinessRules(on_fail=OnFailAction.NOOP),
            ]
        },
    )
    sources: list[int] = Field(
        description="Numbers of the passages the answer is based on.",
        max_length=MAX_SOURCES,
        json_schema_extra={"validators": [CitedSourcesRetrieved(on_fail=OnFailAction.NOOP)]},
    )
    confidence: float = Field(
        ge=0.0, le=1.0, description="How sure the passages make the answer, 0 to 1."
    )


def answer_json_schema() -> dict[str, Any]:
    """LLMAnswer as plain JSON schema, for grammar-constrained decoding (a local model then
    cannot reply in any other shape). Without the answer's maxLength: llama.cpp's grammar
    spells a length limit out character by character, past its own limits; the model's
    max_tokens bounds the reply instead, and the validator checks the length."""
    schema = LLMAnswer.model_json_schema()
    for field in schema["properties"].values():
        field.pop("validators", None)
    schema["properties"]["answer"].pop("maxLength", None)
    return schema

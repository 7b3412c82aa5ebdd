"""The JSON an answer is published in. `bot ask --json`, `bot ask --jsonl` and `POST /v1/ask`
all return `AskResult`, and `GET /v1/schema` publishes it as JSON Schema: one model, so the
CLI, the API and the schema cannot drift apart."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from bot.chain.answer import PUBLISHED, Answer, Mode, Reason, TableResult, Usage


class _Model(BaseModel):
    model_config = PUBLISHED


class Source(_Model):
    id: str
    """The passage's id."""
    title: str
    source: str
    """A link when the document has one, else its path."""
    text: str
    """The passage as quoted."""
    score: float
    """How well it matched the question (cosine similarity; lexical relevance for Korean)."""


class AskResult(_Model):
    id: Any = None
    """The request's id (`null` for a single `ask`)."""
    answer: str
    """The text shown to the user; sources are cited as [1], [2] in the order of `sources`."""
    refused: bool
    reason: Reason | None = None
    """Why the bot declined, when `refused`."""
    mode: Mode
    confidence: float | None = None
    """0..1."""
    sources: list[Source] = []
    latency_ms: float = 0.0
    notes: list[str] = []
    """Why the chain took its path (fallbacks, rejected drafts, what a guard saw)."""
    turn_id: str = ""
    """Identifies the answer: feedback is stored against it, `bot trace` explains it."""
    usage: Usage
    variant: str = ""
    """The answer prompt the thread was given (PROMPT_VARIANTS)."""
    prompt_version: str = ""
    """That prompt's version id: name and content hash."""
    language: str = "en"
    """The question's language, which the bot's own words are in."""
    table: TableResult | None = None
    """For an answer from the tables: the query's result the answer was phrased from."""
    attribution: str = ""
    """For a verified answer: who vouches for it and since when ("Verified by <@U…> on DATE")."""
    error: str | None = None
    """Only on a `--jsonl` line that could not be read: what was wrong with it."""

    @classmethod
    def of(cls, answer: Answer, answer_id: Any = None) -> AskResult:
        return cls(
            id=answer_id,
            answer=answer.text,
            refused=answer.refused,
            reason=answer.reason,
            mode=answer.mode,
            confidence=answer.confidence,
            sources=[
                Source(
                    id=p.id,
                    title=p.chunk.title,
                    source=p.chunk.source,
                    text=p.quote,
                    score=round(p.score, 4),
                )
                for p in answer.sources
            ],
            latency_ms=round(answer.latency_ms, 1),
            notes=list(answer.notes),
            turn_id=answer.turn_id,
            usage=answer.usage or Usage(answer.mode),
            variant=answer.variant,
            prompt_version=answer.prompt_version,
            language=answer.language,
            table=answer.table,
            attribution=answer.attribution,
        )

    @classmethod
    def unreadable(cls, answer_id: Any, error: str) -> AskResult:
        """A `--jsonl` line that is not a question: an answer-shaped record that says what was wrong."""
        return cls(
            id=answer_id,
            answer="",
            refused=True,
            reason="error",
            mode="extractive",
            usage=Usage(tier="extractive"),
            error=error,
        )

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"error"} if self.error is None else None)


def answer_json(answer: Answer, answer_id: Any = None) -> dict[str, Any]:
    """The JSON of `bot ask --json`, `--jsonl` and `POST /v1/ask`."""
    return AskResult.of(answer, answer_id).as_json()


class AskRequest(_Model):
    """`POST /v1/ask`'s body."""

    question: str
    thread: str | None = Field(default=None, max_length=200)
    """Remembered turns of this thread are used for follow-ups (threads are kept per API key)."""
    user: str | None = Field(default=None, max_length=200)
    """Who asks; only for a key bound to no user (a bridge asking for its users)."""
    channel: str | None = Field(default=None, max_length=200)
    """Where it is asked (its budget and totals); only for a key bound to no channel."""


def published_schema() -> dict[str, Any]:
    """What `GET /v1/schema` serves: the request and the answer, as JSON Schema."""
    response = AskResult.model_json_schema(mode="serialization")
    response["required"].remove("error")  # only a `--jsonl` line that could not be read has it
    return {"request": AskRequest.model_json_schema(), "response": response}

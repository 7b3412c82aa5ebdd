"""What the MCP tools return, as models: the SDK publishes each as the tool's output schema, so
a client (and the model behind it) knows the fields before it calls. `ask` returns the same
`AskResult` as `bot ask --json` and `POST /v1/ask` (bot/chain/answer_json.py)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from bot.lookup import Source, source_id
from knowledge.models import Chunk, Passage


class _Model(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True, extra="forbid")


class PassageOut(_Model):
    id: str
    """The passage's id."""
    source_id: str
    """The source it belongs to: open it as kb://sources/{source_id}."""
    title: str
    section: str
    """The heading path inside the source ("" for its top)."""
    link: str
    """What to cite: a link when the source has one, else its path."""
    text: str
    """The passage as written (an FAQ row: its answer; `question` holds the question)."""
    question: str = ""
    kind: str
    """doc, faq, table (a table's card) or row (one of its rows)."""
    score: float | None = None
    """How well it matched the query (cosine similarity; lexical relevance for Korean); none
    when the passage is read from its source rather than found."""

    @classmethod
    def of_chunk(cls, chunk: Chunk, score: float | None = None) -> PassageOut:
        return cls(
            id=chunk.id,
            source_id=source_id(chunk),
            title=chunk.title,
            section=chunk.section,
            link=chunk.source,
            text=chunk.answer or chunk.text,
            question=chunk.question,
            kind=chunk.kind,
            score=score,
        )


def passage_out(passage: Passage) -> PassageOut:
    return PassageOut.of_chunk(passage.chunk, round(passage.score, 4))


class Found(_Model):
    passages: list[PassageOut]
    """Best first; empty when nothing the caller may read matches."""
    refused: bool = False
    """The query was not searched: the input guard stopped it."""
    reason: str | None = None
    """Why, when `refused`: prompt_injection, off_topic or too_long."""
    message: str = ""
    """What to tell the user, when `refused`."""


class SourceOut(Source):
    uri: str
    """The resource holding its passages."""


class SourceList(_Model):
    sources: list[SourceOut]


class Rated(_Model):
    turn_id: str
    rating: str
    """up or down."""
    reason: str | None = None

"""The answer the bot gives, in every interface (CLI, JSON lines, Slack)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ConfigDict, TypeAdapter
from pydantic.dataclasses import dataclass as pydantic_dataclass

from bot.chain.i18n import text
from knowledge.access import EVERYONE
from knowledge.models import Passage

Mode = Literal["extractive", "llm", "faq", "cache", "verified"]
Reason = Literal["no_answer", "prompt_injection", "off_topic", "too_long", "error"]


PUBLISHED = ConfigDict(
    use_attribute_docstrings=True, extra="forbid", json_schema_serialization_defaults_required=True
)
"""How the parts of an answer are published (bot/chain/answer_json.py): each field's docstring is its
description in the JSON Schema, and a field with a default is still always in the output."""


@pydantic_dataclass(frozen=True, config=PUBLISHED)
class Rejection:
    """A cascade tier whose answer was not taken, and why."""

    tier: str
    reason: str


@pydantic_dataclass(frozen=True, config=PUBLISHED)
class Usage:
    """What one answer cost. `tier` is what answered: faq, cache, extractive, or a cascade tier;
    `rejected` the cheaper tiers asked first, whose attempts are included in the cost."""

    tier: str
    """What answered: faq, cache, extractive or a cascade tier."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    """What the answer cost, re-asks and rejected tiers included."""
    rejected: tuple[Rejection, ...] = ()
    """Each cheaper tier whose answer was not taken, and why."""

    def __add__(self, other: Usage | None) -> Usage:
        """Two model calls for one answer (a follow-up's rewrite, then the answer) cost both;
        the second says what answered."""
        if other is None:
            return self
        return Usage(
            other.tier,
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            round(self.cost_usd + other.cost_usd, 6),
            self.rejected + other.rejected,
        )


SHOWN_TABLE_ROWS = 20
"""Rows of a table result an answer shows (and a model reads to phrase it); the rest are counted."""


@pydantic_dataclass(frozen=True, config=PUBLISHED)
class TableResult:
    """What a checked SQL query over the tables returned: shown to the user, with the SQL, to check."""

    sql: str
    """The checked query that ran (DuckDB dialect), for the user to check."""
    tables: list[str]
    columns: list[str]
    rows: list[tuple[Any, ...]]
    """At most 200; `truncated` when more matched."""
    truncated: bool = False

    def text_table(self, limit: int) -> str:
        """The first `limit` rows as an aligned text table (the CLI; Slack, in a code block)."""
        cells = [
            self.columns,
            *([("" if v is None else str(v)) for v in row] for row in self.rows[:limit]),
        ]
        widths = [max(len(str(row[i])) for row in cells) for i in range(len(self.columns))]
        lines = [
            " | ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=False)).rstrip()
            for row in cells
        ]
        lines.insert(1, "-+-".join("-" * w for w in widths))
        more = len(self.rows) - limit
        if more > 0 or self.truncated:
            lines.append(
                f"... {max(more, 0)} more rows"
                + (" (and more beyond the row cap)" if self.truncated else "")
            )
        return "\n".join(lines)


TABLE_RESULT = TypeAdapter(TableResult)
"""A TableResult to and from JSON (the answer cache keeps it with the answer)."""


@dataclass(frozen=True)
class Answer:
    text: str
    mode: Mode
    sources: list[Passage] = field(default_factory=list)
    """Numbered as shown to the user: sources[0] is [1]."""
    refused: bool = False
    reason: Reason | None = None
    confidence: float | None = None
    latency_ms: float = 0.0
    notes: list[str] = field(default_factory=list)
    """Why the chain took the path it took (a fallback, a rejected draft); for logs and evals."""
    turn_id: str = ""
    """Identifies this answer for feedback; set once the turn is remembered."""
    cache_key: str = ""
    """The answer cache entry this answer was stored as or served from (a 👎 evicts it)."""
    best_passage: str = ""
    """The id of the passage retrieval ranked first for the question (the answer cache
    re-checks its hits against it)."""
    usage: Usage | None = None
    """None for answers that called no model (their tier is their mode, their cost 0)."""
    variant: str = ""
    """The answer prompt the thread was given (PROMPT_VARIANTS), e.g. `answer-v1`; recorded
    even when no model was asked (it is the prompt that would have been used)."""
    prompt_version: str = ""
    """That prompt's version id, e.g. `answer-v1@78d93035` (name and content hash)."""
    searched: str = ""
    """A follow-up as the chain searched it: rewritten as a standalone question, or with the
    thread's previous question it was blended with; "" for a standalone question."""
    guard_failures: int = 0
    """Model drafts the output guards rejected on the way to this answer (re-asked or escalated)."""
    language: str = "en"
    """The language of the question, which the answer's own words (refusals, notes, labels) are in."""
    table: TableResult | None = None
    """The SQL result an answer from the tables was phrased from (bot/chain/table_answers.py)."""
    inherited: list[list[str]] = field(default_factory=list)
    """The audiences of the sources of the thread's earlier turns this answer was made with (the
    rewrite and the model read them): its text may draw on them."""
    attribution: str = ""
    """Who vouches for the answer, e.g. "Verified by <@U1> on 2026-12-07" (a verified answer)."""

    @property
    def inherits_restricted(self) -> bool:
        """It was made with earlier turns that cited a source not everyone may read."""
        return any(audience != [EVERYONE] for audience in self.inherited)

    @property
    def restricted(self) -> bool:
        """It cites, or was made with earlier turns that cited, a source not everyone may read."""
        return any(p.chunk.restricted for p in self.sources) or self.inherits_restricted

    def as_text(self) -> str:
        """The answer with its numbered sources, as a terminal or a chat client shows it."""
        lines = [self.text, *(["", f"_{self.attribution}_"] if self.attribution else [])]
        if self.table is not None:  # an answer from the tables: where from, the SQL, the rows
            lines += [
                "",
                text(self.language, "answer.table_sql", tables=", ".join(self.table.tables)),
                f"  {self.table.sql}",
                "",
                self.table.text_table(SHOWN_TABLE_ROWS),
            ]
        if self.sources:
            lines += [
                "",
                text(self.language, "sources.closest" if self.refused else "sources.heading") + ":",
            ]
            for number, passage in enumerate(self.sources, start=1):
                lines.append(f"  [{number}] {passage.chunk.label} - {passage.chunk.source}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Turn:
    """One question and answer in a thread, as remembered."""

    question: str
    answer: str
    source_ids: list[str] = field(default_factory=list)
    audiences: list[list[str]] = field(default_factory=list)
    """Each cited source's audience: a later asker in the thread reads this turn only if they may see them all."""
    mode: str = ""
    refused: bool = False
    id: str = ""
    cache_key: str = ""
    variant: str = ""
    prompt_version: str = ""
    user: str = ""
    """Who asked (a Slack user id; "" for an edge without users): `/kb forget` removes their turns only."""


def flat_json(record: object) -> str:
    """A dataclass whose fields hold only plain values, lists and dicts (Turn, TurnRecord), as JSON.
    Its fields as they are: json copies nothing, and asdict's deep copy was most of the time a turn
    spent serialising its record and memory (anything else in a field still fails, in json)."""
    return json.dumps(vars(record), ensure_ascii=False)

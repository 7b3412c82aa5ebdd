"""Answering from tables: the model writes one SQL query, the guards check it, DuckDB runs it.

When the passages that carry the answer include table cards, the local tier (else the
cheapest remote one: Cascade.sql_writer) is asked for one query (a JSON object `{"sql": ...}`) over those tables. The query is checked
(guards/sql.py) and run on a locked-down read-only connection (knowledge/tables.py); if
either fails, the model is asked once more with the reason. The result, as a small text
table with the SQL under it, becomes the one passage the answer is phrased from, so the
output guards hold every number in the answer to the result.

The tables a query may read are those whose passages the asker's retrieval returned (Qdrant
filtered them by audience and scope), less any the catalogue says the asker may not read (a
card indexed before its table was restricted): the SQL check rejects every other name.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace

from bot.chain.answer import SHOWN_TABLE_ROWS, Answer, TableResult, Usage
from bot.chain.cascade import Cascade
from bot.chain.i18n import text
from bot.chain.llm import Chat
from bot.chain.outcomes import extractive
from bot.chain.question import Question
from bot.chain.reask import Rejected, ask_until_valid
from bot.chain.row_lookup import counted_in_one_row, is_aggregate
from bot.chain.table_schema import schema_text
from bot.ops.telemetry import Telemetry
from guards.errors import UnsafeSQL
from knowledge.access import EVERYONE, Access
from knowledge.errors import TableError, TableUnavailable
from knowledge.models import Chunk, Passage
from knowledge.tables import QUERY_MAX_ROWS, TableStore

REASK_SQL = 'That query was rejected: {}. Reply again with one JSON object {{"sql": ...}}.'
SQL_SCHEMA = {
    "type": "object",
    "properties": {"sql": {"type": "string"}},
    "required": ["sql"],
    "additionalProperties": False,
}


@dataclass(frozen=True)
class SQLAttempt:
    result: TableResult | None
    usage: Usage
    notes: list[str]


def table_cards(passages: list[Passage]) -> list[Passage]:
    """One passage per table among `passages`, best table first: its card when that was
    retrieved, else its best row (rows of a table often outscore its card, and say as well
    which table the question is about)."""
    chosen: dict[str, Passage] = {}
    for passage in passages:
        name = passage.chunk.metadata.get("table")
        if passage.chunk.kind not in ("table", "row") or not name:
            continue
        if name not in chosen or (
            passage.chunk.kind == "table" and chosen[name].chunk.kind == "row"
        ):
            chosen[name] = passage
    return list(chosen.values())


def tables_for(relevant: list[Passage], margin: float) -> list[Passage]:
    """The tables a question is about: none unless a table's passage is among those that carry
    the answer (within `margin` of the best); then every table among the relevant passages, so
    a question joining two tables sees both."""
    best = max((p.score for p in relevant), default=0.0)
    if not table_cards([p for p in relevant if p.score >= best - margin]):
        return []
    return table_cards(relevant)


class TableAnswers:
    def __init__(
        self,
        tables: TableStore,
        instructions: str,
        telemetry: Telemetry | None = None,
        max_rows: int = QUERY_MAX_ROWS,
    ) -> None:
        self.tables = tables
        self.instructions = instructions
        self.telemetry = telemetry or Telemetry()
        self.max_rows = max_rows

    def answer(
        self,
        cascade: Cascade | None,
        question: Question,
        relevant: list[Passage],
        cards: list[Passage],
    ) -> Answer:
        """The answer from the tables: a checked query's result phrased by the cascade; without a
        model (`cascade` None), a row passage for a lookup, else an honest "needs a model"."""
        language, instructions, history = question.language, question.prompt.text, question.history
        rows = [p for p in relevant if p.chunk.kind != "table"]
        title = cards[0].chunk.metadata.get("title", cards[0].chunk.title)
        if cascade is None:
            if rows and not is_aggregate(question.text):
                return extractive(rows[0], "extractive_note", language)
            row = counted_in_one_row(self.tables, question.text, rows)
            if row is not None:
                return extractive(row, "extractive_note", language)
            return _declined("answer.table_needs_model", title, cards, language)
        attempt = self.query(cascade.sql_writer, question.text, cards, question.access)
        if attempt.result is None:
            fallback = (
                cascade.answer(instructions, question.text, rows, history, language=language)
                if rows
                else _declined("answer.table_query_failed", title, cards, language)
            )
            return replace(
                fallback,
                notes=[
                    *attempt.notes,
                    "answered from row passages" if rows else "no query worked",
                    *fallback.notes,
                ],
                usage=attempt.usage + fallback.usage,
            )
        passage = result_passage(attempt.result, cards, question.text)
        answer = cascade.answer(instructions, question.text, [passage], history, language=language)
        return replace(
            answer,
            table=attempt.result,
            notes=[*attempt.notes, *answer.notes],
            usage=attempt.usage + (answer.usage or Usage(answer.mode)),
        )

    def query(self, chat: Chat, question: str, cards: list[Passage], access: Access) -> SQLAttempt:
        """Ask `chat` for SQL over the cards' tables that `access` may read, check and run it;
        one re-ask on failure."""
        try:
            schemas = {
                card.chunk.metadata["table"]: self.tables.info(card.chunk.metadata["table"])
                for card in cards
            }
        except TableUnavailable as error:
            return SQLAttempt(None, Usage(chat.tier.name), [f"tables: {error}"])
        cards = [
            card
            for card in cards
            if access.may_read(schemas[card.chunk.metadata["table"]].audience)
        ]
        if not cards:
            return SQLAttempt(
                None, Usage(chat.tier.name), ["tables: none of them may be read here"]
            )
        schemas = {
            card.chunk.metadata["table"]: schemas[card.chunk.metadata["table"]] for card in cards
        }
        columns = {name: {c.name for c in info.columns} for name, info in schemas.items()}
        messages = [
            {"role": "system", "content": self.instructions},
            {
                "role": "user",
                "content": "\n\n".join(
                    [
                        *(
                            schema_text(card, info, self.tables)
                            for card, info in zip(cards, schemas.values(), strict=True)
                        ),
                        f"Question: {question}",
                    ]
                ),
            },
        ]

        def run(reply: str, _draft: int) -> TableResult:
            sql = _sql_of(reply)
            if not sql:
                raise Rejected("the model wrote no SQL: the tables cannot answer", reask=False)
            try:
                return self.run(sql, columns)
            except (UnsafeSQL, TableError, TableUnavailable) as error:
                raise Rejected(str(error)) from error

        drafts = ask_until_valid(
            chat,
            messages,
            run,
            REASK_SQL.format,
            tries=2,
            purpose="sql",
            telemetry=self.telemetry,
            json_schema=SQL_SCHEMA,
        )
        notes = [f"sql draft {n} rejected: {c}" for n, c in enumerate(drafts.complaints, start=1)]
        ended = [why for why in (drafts.failure, drafts.final) if why]
        return SQLAttempt(drafts.value, drafts.usage, [*notes, *ended])

    def run(self, sql: str, columns: dict[str, set[str]]) -> TableResult:
        """Check `sql` against the tables' `columns`, then run it."""
        # sqlglot (~0.1 s to import) only when a model has written SQL: never without one.
        from guards.sql import check_sql

        with self.telemetry.stage("table.query") as span:
            checked = check_sql(sql, columns, self.max_rows)
            found = self.tables.query(checked, max_rows=self.max_rows)
            span.set_attributes({"kb.sql": checked, "kb.sql.rows": len(found.rows)})
        return TableResult(
            sql=checked,
            tables=sorted(columns),
            columns=found.columns,
            rows=[tuple(as_shown(v) for v in row) for row in found.rows],
            truncated=found.truncated,
        )


def result_passage(result: TableResult, cards: list[Passage], question: str) -> Passage:
    """The result as the one passage the answer is phrased from and cites."""
    card = next((c for c in cards if c.chunk.metadata.get("table") in result.tables), cards[0])
    text = "\n".join(
        [
            f"Question: {question}",
            f"Result of the query on {', '.join(result.tables)}:",
            result.text_table(SHOWN_TABLE_ROWS),
            f"SQL: {result.sql}",
        ]
    )
    # The card's labels come along, so the cache, thread memory and reports treat the result
    # like the table; over several tables, only who may read all of them may read it.
    shown = [c.chunk for c in cards if c.chunk.metadata.get("table") in result.tables] or [
        card.chunk
    ]
    # The id of the table's passage it came from: a cached answer citing it is retired when the
    # table changes (every passage of a table carries the table's content hash).
    chunk = replace(
        card.chunk,
        doc_id=re.sub(r"#row\d+$", "", card.chunk.doc_id),
        text=text,
        title=card.chunk.metadata.get("title", card.chunk.title),
        kind="table",
        section="query result",
        question="",
        answer="",
        metadata=dict(card.chunk.metadata),
        audience=audience_of_all(shown),
        tags=sorted({tag for c in shown for tag in c.tags}),
    )
    return replace(card, chunk=chunk, rank=1, question_score=None)


def audience_of_all(chunks: list[Chunk]) -> list[str]:
    """Who may read every one of `chunks` (an empty list: nobody but an admin's --all)."""
    restricted = [set(chunk.audience) for chunk in chunks if chunk.restricted]
    return sorted(set.intersection(*restricted)) if restricted else [EVERYONE]


def _declined(key: str, title: str, cards: list[Passage], language: str) -> Answer:
    return Answer(
        text(language, key, table=title),
        "extractive",
        sources=cards[:3],
        refused=True,
        reason="no_answer",
        confidence=0.0,
        language=language,
    )


def _sql_of(reply: str) -> str:
    text = reply.strip().removeprefix("```json").removeprefix("```").removesuffix("```").strip()
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return text if text.lower().startswith(("select", "with")) else ""
    return str(value.get("sql") or "").strip() if isinstance(value, dict) else ""


def as_shown(value):
    """A value as the answer may quote it: 68.0 is written 68, so the guard finds "68"."""
    if isinstance(value, float):
        return int(value) if value.is_integer() else float(f"{value:.15g}")
    if isinstance(value, (int, str, bool)) or value is None:
        return value
    return str(value)

"""Table questions without a model: a lookup that one row passage answers by itself, told
apart from an aggregate that no single row answers (which gets an honest "needs a model")."""

from __future__ import annotations

import re

from knowledge.errors import TableError, TableUnavailable
from knowledge.models import Passage
from knowledge.tables import TableStore

AGGREGATE = re.compile(
    r"\b(how many|number of|count|total|sum|average|mean|median|highest|lowest|most|least|max(imum)?|min(imum)?|"
    r"cheapest|largest|smallest|biggest|top \d+|more than|less than|over|under|at least|which)\b"
    r"|몇|평균|합계|총|가장|최대|최소|제일|이상|이하",
    re.I,
)
"""Questions no single row answers: without a model they get an honest "needs a model"..."""
COUNTING = re.compile(r"\b(how many|number of)\b|몇", re.I)
"""...except a count that one row holds ("How many desks does the Lisbon office have?")."""
LOOKUP_SCAN_ROWS = 1000
"""A value is checked to name one row in tables up to this size (row passages exist only in smaller ones)."""


def is_aggregate(question: str) -> bool:
    return bool(AGGREGATE.search(question))


def counted_in_one_row(tables: TableStore, question: str, rows: list[Passage]) -> Passage | None:
    """The row passage that answers a counting question by itself: the question names a
    numeric column of the row and a value that picks out that one row of its table ("How
    many desks does the Lisbon office have?"); None for a true aggregate ("How many offices
    are in Norway?", "... in total?")."""
    if AGGREGATE.search(COUNTING.sub(" ", question)):
        return None
    asked = question.lower()
    words = set(re.findall(r"\w+", asked))
    for row in rows:
        cells = row_cells(row.chunk.text)
        if not any(column.lower() in words for column, value in cells.items() if _is_number(value)):
            continue
        for column, value in cells.items():
            if (
                not _is_number(value)
                and re.search(rf"\b{re.escape(value.lower())}\b", asked)
                and _names_one_row(tables, row.chunk.metadata.get("table", ""), column, value)
            ):
                return row
    return None


def _names_one_row(tables: TableStore, table: str, column: str, value: str) -> bool:
    try:
        found = tables.rows(table, LOOKUP_SCAN_ROWS)
    except (TableError, TableUnavailable):
        return False
    if found.truncated or column not in found.columns:
        return False
    position = found.columns.index(column)
    return sum(str(row[position]).lower() == value.lower() for row in found.rows) == 1


def row_cells(text: str) -> dict[str, str]:
    """A row passage's cells (ingest/tables.py writes `column: value; column: value`)."""
    pairs = (cell.split(": ", 1) for cell in text.split("; "))
    return {pair[0]: pair[1] for pair in pairs if len(pair) == 2 and pair[1]}


def _is_number(value: str) -> bool:
    return re.fullmatch(r"-?\d+(\.\d+)?", value) is not None

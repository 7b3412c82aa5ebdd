"""A table as the SQL-writing model sees it: its columns with their types, the values of its short
text columns, then the table's card.

The values are there because a small model filters on what it has seen: shown only the card's
sample rows, Qwen 0.5B wrote `country = 'Germany'` for "in Europe" and `country = 'Africa'` for a
region (`bot eval tables`, README "The local tier, end to end").
"""

from __future__ import annotations

import threading

from knowledge.errors import TableError, TableUnavailable
from knowledge.models import Passage
from knowledge.table_types import TableInfo
from knowledge.tables import TableStore

SHOWN_VALUES = 16
"""A text column with at most this many distinct values has them listed (regions, types, statuses)."""
MAX_VALUE_CHARS = 40

_values: dict[str, tuple[str, dict[str, list[str]]]] = {}
"""Per table: the content hash they were read at, and the listed values of each column."""
_lock = threading.Lock()


def schema_text(card: Passage, info: TableInfo, tables: TableStore) -> str:
    """Every column with its type (a long card is split into chunks, and the one retrieved may not
    list them all), the few values of short text columns, then the card's text."""
    columns = ", ".join(f"{c.name} {c.type}" for c in info.columns)
    lines = [f"Table {info.name} ({info.rows} rows), columns: {columns}"]
    lines += [
        f"{column} is one of: {', '.join(values)}"
        for column, values in few_values(tables, info).items()
    ]
    return "\n".join([*lines, card.chunk.text])


def few_values(tables: TableStore, info: TableInfo) -> dict[str, list[str]]:
    """The distinct values of each text column that has few, short ones; read once per version
    of the table."""
    with _lock:
        known = _values.get(info.name)
    if known is not None and known[0] == info.content_hash:
        return known[1]
    found: dict[str, list[str]] = {}
    for column in info.columns:
        if column.type != "VARCHAR":
            continue
        try:
            values = tables.distinct_values(info.name, column.name, SHOWN_VALUES + 1)
        except (TableError, TableUnavailable):
            continue  # the model still gets the columns and the card
        if len(values) <= SHOWN_VALUES and all(len(v) <= MAX_VALUE_CHARS for v in values):
            found[column.name] = values
    with _lock:
        _values[info.name] = (info.content_hash, found)
    return found

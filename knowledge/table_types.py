"""What a table is to the code around the table store: a loaded table's catalogue entry
(`TableInfo`) and columns, a query's `QueryResult`, and the SQL name a file's table gets."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from knowledge.access import AUDIENCE, EVERYONE, TAGS


@dataclass(frozen=True)
class Column:
    name: str
    type: str


@dataclass(frozen=True)
class TableInfo:
    """A loaded table as the catalogue knows it."""

    name: str
    path: str
    sheet: str
    content_hash: str
    rows: int
    columns: list[Column] = field(default_factory=list)
    audience: tuple[str, ...] = (EVERYONE,)
    tags: tuple[str, ...] = ()

    def labels(self) -> dict[str, list[str]]:
        """The table's access labels as a passage's payload holds them (knowledge/access.py)."""
        return {AUDIENCE: list(self.audience), TAGS: list(self.tags)}


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool
    """More rows matched than the row cap let through."""


def table_name(stem: str, sheet: str = "") -> str:
    """A plain SQL identifier a model can write without quoting: `per-diem rates` -> per_diem_rates."""
    name = (
        re.sub(r"[^0-9a-z]+", "_", f"{stem}_{sheet}" if sheet else stem, flags=re.I)
        .strip("_")
        .lower()
    )
    return f"t_{name}" if not name or name[0].isdigit() else name

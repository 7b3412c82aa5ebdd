"""Table files: planning and loading them, and the passages that let retrieval find them.

A CSV or TSV with a question and an answer column is an FAQ (ingest/faq_tables.py); any other,
and every Parquet file and Excel sheet, is a table (ingest/table_sources.py tells which, and
names and hashes it), loaded into DuckDB (knowledge/tables.py).
Each table gets a "table card" passage: its name, columns and types with their descriptions
(from a sidecar `NAME.yaml`, else the header alone) and a few sample rows, so a question
finds the table like any document. A small table also gets a passage per row, so lookups
work without a model. Every passage of a table carries the table's content hash: the file's
bytes, its sidecar, its labels and TABLE_FORMAT (ingest/table_sources.py).

A table has one audience and its tags, as a document does: the sidecar's `audience:` and
`tags:`, else what `ingest --audience/--tag` gave its path (tags add up). Its card, its rows
and its catalogue entry all carry them. Rows cannot have audiences of their own: SQL reads
the whole table, so a table with an `audience` column is refused with what to do instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ingest.documents import SourceDocument, SourceFile
from ingest.errors import UnreadableSource
from ingest.frontmatter import Labels, labelled, take_labels
from ingest.table_sources import card_id, content_hash, entries, name_for, read_sidecar
from knowledge.errors import TableError, TableUnavailable
from knowledge.table_types import Column, QueryResult, TableInfo
from knowledge.tables import SAMPLE_ROWS, TableStore

ROW_PASSAGES_UP_TO = 200
"""Tables with at most this many rows also index each row as a passage."""


@dataclass(frozen=True)
class TableJob:
    """One table to bring up to date: a file, or one sheet of a workbook."""

    file: SourceFile
    name: str
    sheet: str
    content_hash: str
    card_id: str
    reload: bool
    """The file changed since DuckDB loaded it (else only its passages are rewritten)."""
    new: bool
    labels: Labels = Labels()
    """Who may read the table and its tags (empty audience: everyone)."""
    sidecar: dict[str, Any] = field(default_factory=dict, compare=False)
    """Its `NAME.yaml`, read once when planning: title, description, a description per column."""


@dataclass
class FilePlan:
    jobs: list[TableJob] = field(default_factory=list)
    unchanged: int = 0
    deleted: list[str] = field(default_factory=list)
    """Passages of sheets gone from a workbook."""
    dropped: list[str] = field(default_factory=list)
    """Tables of those sheets."""


def plan_file(
    file: SourceFile,
    indexed: dict[str, str],
    path_doc_ids: list[str],
    catalogue: dict[str, TableInfo],
    path_labels: Labels = Labels(),
) -> FilePlan:
    """What to do with one table file. `indexed`: doc_id -> content hash ("" when incomplete);
    `path_doc_ids`: what the index holds of this file; `path_labels`: what `ingest --audience/--tag`
    gave its path. A table is unchanged when DuckDB holds this content and its card is indexed whole."""
    raw, sidecar = read_sidecar(file.path)
    # The sidecar's `audience:` and `tags:` (checked), over what the path was given.
    labels = labelled(take_labels(dict(sidecar)), path_labels)
    sheets, digest = entries(file), content_hash(file, labels, raw)
    taken = {name: info.path for name, info in catalogue.items()}
    plan, cards = FilePlan(), []
    for sheet in sheets:
        name, card = name_for(file, sheet, taken), card_id(file, sheet)
        loaded = catalogue.get(name)
        current = loaded is not None and loaded.content_hash == digest
        if current and indexed.get(card):
            plan.unchanged += 1
        else:
            plan.jobs.append(
                TableJob(
                    file,
                    name,
                    sheet,
                    digest,
                    card,
                    reload=not current,
                    new=card not in indexed,
                    labels=labels,
                    sidecar=sidecar,
                )
            )
        cards.append(card)
    plan.deleted = [
        doc_id for doc_id in path_doc_ids if not any(_belongs(doc_id, card) for card in cards)
    ]
    plan.dropped = [
        t.name
        for t in catalogue.values()
        if t.path == file.path.as_posix() and t.sheet not in sheets
    ]
    return plan


def load(tables: TableStore, job: TableJob) -> list[SourceDocument]:
    """Load the table if its file changed, and make its passages."""
    try:
        info = (
            tables.load(
                job.name,
                job.file.path,
                job.content_hash,
                job.sheet,
                job.labels.audience,
                job.labels.tags,
                check=_no_row_audiences,
            )
            if job.reload
            else tables.info(job.name)
        )
        return documents(tables, job, info)
    except (TableError, TableUnavailable) as error:
        where = f" (sheet {job.sheet})" if job.sheet else ""
        raise UnreadableSource(f"not a readable table{where}: {error}") from None


def of_jobs(doc_id: str, jobs: list[TableJob]) -> bool:
    """Is `doc_id` a passage of one of these tables?"""
    return any(_belongs(doc_id, job.card_id) for job in jobs)


def _belongs(doc_id: str, card: str) -> bool:
    return doc_id == card or doc_id.startswith(card + "#")


def _no_row_audiences(columns: list[Column]) -> None:
    if any(column.name.strip().lower() == "audience" for column in columns):
        raise TableError(
            "a table's rows cannot have audiences of their own (SQL reads the whole table): give the "
            "table one with `audience:` in its NAME.yaml or `ingest --audience`, split the file by "
            "audience, or rename the column"
        )


def documents(tables: TableStore, job: TableJob, info: TableInfo) -> list[SourceDocument]:
    """The table card and, for a small table, one passage per row, of the table `info` describes."""
    sidecar = job.sidecar
    title = (
        str(sidecar.get("title") or "")
        or job.file.path.stem.replace("-", " ").replace("_", " ").title()
    )
    if job.sheet:
        title = f"{title} ({job.sheet})"
    sample = tables.rows(
        job.name, ROW_PASSAGES_UP_TO if info.rows <= ROW_PASSAGES_UP_TO else SAMPLE_ROWS
    )
    # The table's hash in every passage: any change to the file changes them all (a cached answer
    # from the table cites one of them), not only those whose text shows the rows changed.
    metadata = {
        "table": job.name,
        "rows": info.rows,
        "title": title,
        "table_hash": job.content_hash,
    }
    card = SourceDocument(
        doc_id=job.card_id,
        path=job.file.path.as_posix(),
        title=title,
        source=job.file.display,
        kind="table",
        format="text",
        text=card_text(info, title, sidecar, sample),
        metadata=metadata,
        audience=job.labels.audience,
        tags=job.labels.tags,
    )
    if info.rows > ROW_PASSAGES_UP_TO:
        return [card]
    rows = [
        SourceDocument(
            doc_id=f"{job.card_id}#row{n}",
            path=card.path,
            title=f"{title}: {_cell(row[0])}",
            source=card.source,
            kind="row",
            format="text",
            text=row_text(sample.columns, row),
            metadata={**metadata, "row": n},
            audience=job.labels.audience,
            tags=job.labels.tags,
        )
        for n, row in enumerate(sample.rows, start=1)
    ]
    return [card, *rows]


def card_text(info: TableInfo, title: str, sidecar: dict[str, Any], sample: QueryResult) -> str:
    described = sidecar.get("columns") if isinstance(sidecar.get("columns"), dict) else {}
    lines = [f"Table {info.name}: {title}, {info.rows} rows."]
    if sidecar.get("description"):
        lines.append(str(sidecar["description"]).strip())
    lines.append("Columns:")
    lines += [
        f"- {c.name} ({c.type})" + (f": {described[c.name]}" if described.get(c.name) else "")
        for c in info.columns
    ]
    lines.append("Sample rows:")
    lines += [row_text(sample.columns, row) for row in sample.rows[:SAMPLE_ROWS]]
    return "\n".join(lines)


def row_text(columns: list[str], row: tuple) -> str:
    return "; ".join(
        f"{column}: {_cell(value)}"
        for column, value in zip(columns, row, strict=False)
        if value is not None
    )


def _cell(value: Any) -> str:
    return str(value) if not isinstance(value, float) else f"{value:.15g}"

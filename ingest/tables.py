"""Table files: which are data tables (not FAQs), and the passages that let retrieval find them.

A CSV or TSV with a question and an answer column is an FAQ (ingest/loaders.py); any other,
and every Parquet file and Excel sheet, is a table, loaded into DuckDB (knowledge/tables.py).
Each table gets a "table card" passage: its name, columns and types with their descriptions
(from a sidecar `NAME.yaml`, else the header alone) and a few sample rows, so a question
finds the table like any document. A small table also gets a passage per row, so lookups
work without a model. Every passage of a table carries the table's content hash: the file's
bytes, its sidecar, its labels and TABLE_FORMAT.

A table has one audience and its tags, as a document does: the sidecar's `audience:` and
`tags:`, else what `ingest --audience/--tag` gave its path (tags add up). Its card, its rows
and its catalogue entry all carry them. Rows cannot have audiences of their own: SQL reads
the whole table, so a table with an `audience` column is refused with what to do instead.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ingest.documents import SourceDocument, SourceFile
from ingest.errors import UnreadableSource
from ingest.frontmatter import Labels, labelled, take_labels
from ingest.loaders import ANSWER_COLUMNS, QUESTION_COLUMNS, TableColumns, delimiter
from knowledge.errors import TableError, TableUnavailable
from knowledge.table_files import sheets
from knowledge.tables import SAMPLE_ROWS, Column, QueryResult, TableInfo, TableStore, table_name

DATA_SUFFIXES = {".parquet", ".xlsx"}
"""Always tables; .csv and .tsv are tables unless they are FAQs."""
ROW_PASSAGES_UP_TO = 200
"""Tables with at most this many rows also index each row as a passage."""
TABLE_FORMAT = 2
"""Part of every table's content hash: bump it when what is stored per table changes."""
HEADER_BYTES = 65536


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


def is_table(file: SourceFile, columns: TableColumns) -> bool:
    suffix = file.path.suffix.lower()
    if suffix in DATA_SUFFIXES:
        return True
    if suffix not in (".csv", ".tsv") or columns.question or columns.answer:
        return False
    return not _has_faq_columns(file)


def _has_faq_columns(file: SourceFile) -> bool:
    with file.path.open("rb") as handle:
        raw = handle.read(HEADER_BYTES).decode("utf-8-sig", errors="replace")
    head = raw.split("\n", 1)[0]
    header = {cell.strip().strip('"').strip().lower() for cell in head.split(delimiter(file, raw))}
    return bool(header & set(QUESTION_COLUMNS)) and bool(header & set(ANSWER_COLUMNS))


@dataclass
class FilePlan:
    jobs: list[TableJob] = field(default_factory=list)
    unchanged: int = 0
    deleted: list[str] = field(default_factory=list)
    """Passages of sheets gone from a workbook."""
    dropped: list[str] = field(default_factory=list)
    """Tables of those sheets."""


def plan_file(file: SourceFile, indexed: dict[str, str], path_doc_ids: list[str], catalogue: dict[str, TableInfo],
              path_labels: Labels = Labels()) -> FilePlan:
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
            plan.jobs.append(TableJob(file, name, sheet, digest, card, reload=not current, new=card not in indexed,
                                      labels=labels, sidecar=sidecar))
        cards.append(card)
    plan.deleted = [doc_id for doc_id in path_doc_ids if not any(_belongs(doc_id, card) for card in cards)]
    plan.dropped = [t.name for t in catalogue.values() if t.path == file.path.as_posix() and t.sheet not in sheets]
    return plan


def load(tables: TableStore, job: TableJob) -> list[SourceDocument]:
    """Load the table if its file changed, and make its passages."""
    try:
        info = (tables.load(job.name, job.file.path, job.content_hash, job.sheet, job.labels.audience,
                            job.labels.tags, check=_no_row_audiences) if job.reload else tables.info(job.name))
        return documents(tables, job, info)
    except (TableError, TableUnavailable) as error:
        where = f" (sheet {job.sheet})" if job.sheet else ""
        raise UnreadableSource(f"not a readable table{where}: {error}") from None


def of_jobs(doc_id: str, jobs: list[TableJob]) -> bool:
    """Is `doc_id` a passage of one of these tables?"""
    return any(_belongs(doc_id, job.card_id) for job in jobs)


def _belongs(doc_id: str, card: str) -> bool:
    return doc_id == card or doc_id.startswith(card + "#")


def card_id(file: SourceFile, sheet: str) -> str:
    return f"{file.path.as_posix()}#sheet:{sheet}" if sheet else f"{file.path.as_posix()}#table"


def entries(file: SourceFile) -> list[str]:
    """The sheets of a workbook; [""] for a file that is one table."""
    if file.path.suffix.lower() != ".xlsx":
        return [""]
    try:
        return sheets(file.path)
    except TableError as error:
        raise UnreadableSource(str(error)) from None


def _no_row_audiences(columns: list[Column]) -> None:
    if any(column.name.strip().lower() == "audience" for column in columns):
        raise TableError("a table's rows cannot have audiences of their own (SQL reads the whole table): give the "
                         "table one with `audience:` in its NAME.yaml or `ingest --audience`, split the file by "
                         "audience, or rename the column")


def content_hash(file: SourceFile, labels: Labels = Labels(), sidecar: bytes = b"") -> str:
    """The file's bytes, its sidecar's (`sidecar`, as read_sidecar read them), its labels and TABLE_FORMAT."""
    digest = hashlib.sha256(f"{TABLE_FORMAT}\n{labels.as_dict()}\n".encode())
    try:
        with file.path.open("rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
        digest.update(sidecar)
    except OSError as error:
        raise UnreadableSource(f"cannot read: {error.strerror}") from None
    return digest.hexdigest()[:32]


def name_for(file: SourceFile, sheet: str, taken: dict[str, str]) -> str:
    """The table's SQL name: the file's stem (and sheet); another file's name gets a suffix."""
    name = table_name(file.path.stem, sheet)
    owner = taken.get(name)
    if owner is None or owner == file.path.as_posix():
        return name
    return f"{name}_{hashlib.sha256(file.path.as_posix().encode()).hexdigest()[:6]}"


def documents(tables: TableStore, job: TableJob, info: TableInfo) -> list[SourceDocument]:
    """The table card and, for a small table, one passage per row, of the table `info` describes."""
    sidecar = job.sidecar
    title = str(sidecar.get("title") or "") or job.file.path.stem.replace("-", " ").replace("_", " ").title()
    if job.sheet:
        title = f"{title} ({job.sheet})"
    sample = tables.rows(job.name, ROW_PASSAGES_UP_TO if info.rows <= ROW_PASSAGES_UP_TO else SAMPLE_ROWS)
    # The table's hash in every passage: any change to the file changes them all (a cached answer
    # from the table cites one of them), not only those whose text shows the rows changed.
    metadata = {"table": job.name, "rows": info.rows, "title": title, "table_hash": job.content_hash}
    card = SourceDocument(
        doc_id=job.card_id, path=job.file.path.as_posix(), title=title, source=job.file.display, kind="table",
        format="text", text=card_text(info, title, sidecar, sample), metadata=metadata,
        audience=job.labels.audience, tags=job.labels.tags)
    if info.rows > ROW_PASSAGES_UP_TO:
        return [card]
    rows = [SourceDocument(
        doc_id=f"{job.card_id}#row{n}", path=card.path, title=f"{title}: {_cell(row[0])}", source=card.source,
        kind="row", format="text", text=row_text(sample.columns, row), metadata={**metadata, "row": n},
        audience=job.labels.audience, tags=job.labels.tags)
        for n, row in enumerate(sample.rows, start=1)]
    return [card, *rows]


def card_text(info: TableInfo, title: str, sidecar: dict[str, Any], sample: QueryResult) -> str:
    described = sidecar.get("columns") if isinstance(sidecar.get("columns"), dict) else {}
    lines = [f"Table {info.name}: {title}, {info.rows} rows."]
    if sidecar.get("description"):
        lines.append(str(sidecar["description"]).strip())
    lines.append("Columns:")
    lines += [f"- {c.name} ({c.type})" + (f": {described[c.name]}" if described.get(c.name) else "")
              for c in info.columns]
    lines.append("Sample rows:")
    lines += [row_text(sample.columns, row) for row in sample.rows[:SAMPLE_ROWS]]
    return "\n".join(lines)


def row_text(columns: list[str], row: tuple) -> str:
    return "; ".join(f"{column}: {_cell(value)}" for column, value in zip(columns, row, strict=False) if value is not None)


def _cell(value: Any) -> str:
    return str(value) if not isinstance(value, float) else f"{value:.15g}"


def read_sidecar(path: Path) -> tuple[bytes, dict[str, Any]]:
    """`NAME.yaml` next to the table (title, description, a description per column, audience,
    tags): its bytes, for the content hash, and its values (none: b"" and {})."""
    sidecar = path.with_suffix(".yaml")
    if not sidecar.is_file():
        return b"", {}
    try:
        raw = sidecar.read_bytes()
        data = yaml.safe_load(raw.decode("utf-8"))
    except OSError as error:
        raise UnreadableSource(f"cannot read {sidecar.name}: {error.strerror}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise UnreadableSource(f"{sidecar.name} is not valid YAML: {str(error).splitlines()[0]}") from None
    return raw, data if isinstance(data, dict) else {}

"""Table files as sources: which files are tables rather than FAQs, the sheets of a workbook,
each table's SQL name and card id, the content hash that tells whether it changed, and its
`NAME.yaml` sidecar. Planning and loading them is ingest/tables.py's job."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import yaml

from ingest.documents import SourceFile
from ingest.errors import UnreadableSource
from ingest.faq_tables import ANSWER_COLUMNS, QUESTION_COLUMNS, TableColumns, delimiter
from ingest.frontmatter import Labels
from knowledge.errors import TableError
from knowledge.table_files import sheets
from knowledge.table_types import table_name

DATA_SUFFIXES = {".parquet", ".xlsx"}
"""Always tables; .csv and .tsv are tables unless they are FAQs."""
TABLE_FORMAT = 2
"""Part of every table's content hash: bump it when what is stored per table changes."""
HEADER_BYTES = 65536


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
        raise UnreadableSource(
            f"{sidecar.name} is not valid YAML: {str(error).splitlines()[0]}"
        ) from None
    return raw, data if isinstance(data, dict) else {}

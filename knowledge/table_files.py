"""Table files as DuckDB reads them, for TableStore.load (knowledge/tables.py): the table
function for each format, Excel sheets streamed through a temporary CSV, and the lines a CSV
load could not read, from DuckDB's rejects table, as one error that names them."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING

from knowledge.errors import TableError

if TYPE_CHECKING:  # the connection is the caller's: DuckDB is imported where one is opened
    import duckdb

REJECTS_SHOWN = 5
"""Unreadable lines named in a failed load's reason (all are counted, up to REJECTS_KEPT)."""
REJECTS_KEPT = 1000


def reader_sql(file: Path, sheet: str, spill: Path) -> str:
    """The DuckDB table function that reads `file`, as SQL; an Excel sheet goes through `spill`."""
    path = _literal(file)
    suffix = file.suffix.lower()
    if suffix == ".parquet":
        return f"read_parquet({path})"
    # DuckDB's sniffer finds the delimiter (, ; tab), quoting and each column's type. Lines it
    # cannot read go to its rejects table (read by raise_for_rejects) instead of stopping the
    # scan at the first one, or of the sniffer settling for one column when an early line is bad.
    options = f"header = true, store_rejects = true, rejects_limit = {REJECTS_KEPT}"
    if suffix == ".xlsx":
        return f"read_csv({_literal(_sheet_as_csv(file, sheet, spill / 'sheet.csv'))}, {options})"
    delimiter = ", delim = '\\t'" if suffix == ".tsv" else ""
    return f"read_csv({path}, {options}{delimiter})"


def raise_for_rejects(connection: duckdb.DuckDBPyConnection) -> None:
    """The lines the CSV reader set aside (`store_rejects`: it reads on, so all are found in one
    pass), as a TableError saying which lines and why; the connection is this load's own."""
    rejects = connection.execute(
        "SELECT line, error_message FROM reject_errors ORDER BY line"
    ).fetchall()
    if not rejects:
        return
    lines = {}
    for line, message in rejects:  # a line may fail in several columns: its first reason
        lines.setdefault(line, message.strip().splitlines()[0])
    shown = "; ".join(
        f"line {line}: {message}" for line, message in list(lines.items())[:REJECTS_SHOWN]
    )
    more = f" and {len(lines) - REJECTS_SHOWN} more" if len(lines) > REJECTS_SHOWN else ""
    count = f"{len(lines)}+" if len(rejects) >= REJECTS_KEPT else str(len(lines))
    raise TableError(
        f"{count} line(s) could not be read ({shown}{more}); fix them (a field that holds the "
        "delimiter or a line break must be in double quotes) and ingest again"
    )


def _literal(path: Path) -> str:
    return "'" + path.as_posix().replace("'", "''") + "'"


def _sheet_as_csv(file: Path, sheet: str, target: Path) -> Path:
    """An Excel sheet as a temporary CSV for DuckDB's reader (its excel extension would need a
    download). openpyxl streams the sheet in read-only mode; DuckDB then types the columns."""
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(file, read_only=True, data_only=True)
    except Exception as error:  # noqa: BLE001 (openpyxl raises many kinds for a damaged file)
        raise TableError(f"not a readable Excel file ({type(error).__name__}: {error})") from None
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        for row in workbook[sheet].iter_rows(values_only=True):
            if any(value is not None for value in row):
                writer.writerow(["" if value is None else value for value in row])
    workbook.close()
    return target


def sheets(file: Path) -> list[str]:
    """The sheet names of an Excel workbook, in order."""
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(file, read_only=True)
    except Exception as error:  # noqa: BLE001
        raise TableError(f"not a readable Excel file ({type(error).__name__}: {error})") from None
    names = list(workbook.sheetnames)
    workbook.close()
    return names


def first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__

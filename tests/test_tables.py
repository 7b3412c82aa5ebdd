"""Tables as data, ingest side: CSV, TSV, Parquet and Excel sheets become DuckDB tables, found
by retrieval through table cards (and row passages for small tables). Real DuckDB, Qdrant, e5."""

import csv
import json
import shutil
import threading
from pathlib import Path

import duckdb
import pytest

from ingest import cli
from ingest.pipeline import Pipeline
from knowledge.errors import TableUnavailable
from knowledge.settings import KnowledgeSettings
from knowledge.sparse import SparseEncoder
from knowledge.store import Store
from knowledge.tables import TableStore

TABLES = Path(__file__).parent.parent / "knowledge" / "eval" / "tables"
ROWS = {"offices": 18, "per_diem_rates": 38, "equipment": 120}


@pytest.fixture
def table_dir(tmp_path):
    """The offices table (18 rows) and a small rota: enough to change, break and prune."""
    target = tmp_path / "tables"
    target.mkdir()
    shutil.copy(TABLES / "offices.csv", target)
    shutil.copy(TABLES / "offices.yaml", target)
    (target / "rota.csv").write_text("week,team\n1,Platform\n2,Payments\n3,Search\n")
    return target


@pytest.fixture
def all_tables(eval_tables):
    folder, summary = eval_tables
    store = Store.open(KnowledgeSettings(qdrant_path=folder / "qdrant"))
    try:
        chunks = list(store.chunks())
    finally:
        store.close()
    return summary, chunks, TableStore(folder / "tables.duckdb")


@pytest.fixture
def tables(settings):
    return TableStore(settings.knowledge.tables_path)


@pytest.fixture
def pipeline(store, embedder, tables):
    return Pipeline(store, embedder, SparseEncoder(), tables=tables)


def counts(tables):
    return {t.name: t.rows for t in tables.tables()}


def test_tables_load_typed_with_a_card_and_row_passages(all_tables):
    summary, chunks, tables = all_tables
    assert summary.failed == [] and summary.added == 3
    assert counts(tables) == ROWS
    types = {c.name: c.type for c in tables.info("offices").columns}
    assert (
        types["employees"] == "BIGINT" and types["opened"] == "DATE" and types["city"] == "VARCHAR"
    )
    assert {c.name: c.type for c in tables.info("per_diem_rates").columns}[
        "per_diem_eur"
    ] == "DOUBLE"
    cards = [c for c in chunks if c.kind == "table"]
    assert {c.metadata["table"] for c in cards} == set(ROWS)
    offices = next(c for c in cards if c.metadata["table"] == "offices" and c.position == 0)
    assert (
        offices.title == "Office locations" and "true when the office has parking" in offices.text
    )
    assert "employees (BIGINT)" in offices.text and "city: Berlin" in offices.text
    rows = [c for c in chunks if c.kind == "row"]
    assert len({c.doc_id for c in rows}) == sum(ROWS.values())
    oslo = next(c for c in rows if c.title == "Per-diem rates for business travel: Oslo")
    assert "per_diem_eur: 62.5" in oslo.text and "lodging_eur: 210" in oslo.text


def test_reruns_skip_unchanged_tables_and_replace_changed_ones_whole(
    pipeline, store, tables, table_dir
):
    pipeline.run([table_dir])
    again = pipeline.run([table_dir])
    assert (again.added, again.updated, again.unchanged, again.chunks_written) == (0, 0, 2, 0)

    offices = table_dir / "offices.csv"
    lines = offices.read_text().splitlines()
    offices.write_text("\n".join([lines[0].replace("employees", "staff"), *lines[1:5]]) + "\n")
    changed = pipeline.run([table_dir])
    assert (changed.added, changed.updated, changed.unchanged) == (0, 1, 1)
    assert counts(tables)["offices"] == 4
    assert "staff" in {c.name for c in tables.info("offices").columns}
    office_rows = {
        c.doc_id for c in store.chunks() if c.kind == "row" and c.metadata["table"] == "offices"
    }
    assert len(office_rows) == 4, "rows gone from the file are gone from the index"


def test_a_table_info_is_kept_until_the_table_is_written_again(pipeline, tables, table_dir):
    """Every question asks for its tables' infos: they are read once, and a re-ingest or prune
    through the same store (as /kb reindex in the bot) is seen at once, not the kept info."""
    pipeline.run([table_dir])
    kept = tables.info("rota")
    assert tables.info("rota") is kept
    (table_dir / "rota.csv").write_text("week,team,lead\n1,Platform,Ana\n2,Payments,Bo\n")
    pipeline.run([table_dir])
    fresh = tables.info("rota")
    assert (fresh.rows, [c.name for c in fresh.columns]) == (2, ["week", "team", "lead"])
    (table_dir / "rota.csv").unlink()
    pipeline.run([table_dir], prune=True)
    with pytest.raises(TableUnavailable):
        tables.info("rota")


def test_a_malformed_table_is_reported_and_the_old_version_keeps_serving(
    pipeline, store, tables, table_dir
):
    pipeline.run([table_dir])
    points = store.count()
    (table_dir / "offices.csv").write_bytes(
        b'city,country\n"Berlin,Germany\n' + bytes(range(256)) * 40
    )
    summary = pipeline.run([table_dir])
    [failure] = summary.failed
    assert failure["path"].endswith("offices.csv") and "not a readable table" in failure["reason"]
    assert counts(tables)["offices"] == ROWS["offices"]
    assert tables.query("SELECT count(*) FROM offices").rows == [(ROWS["offices"],)]
    assert store.count() == points, "the old table's passages still serve"


def test_unreadable_lines_fail_the_load_with_their_line_numbers(pipeline, store, tables, table_dir):
    """DuckDB's reader would stop at the first bad line, or its sniffer settle for reading each
    line whole; every bad line is named instead, and nothing of the file is half-loaded."""
    pipeline.run([table_dir])
    rota = table_dir / "rota.csv"
    good = [f"{week},Team {week}" for week in range(1, 60)]
    good[9] = "10,Platform,on call"  # line 11: a field too many
    good[39] = "40"  # line 41: a field missing
    rota.write_text("week,team\n" + "\n".join(good) + "\n")
    summary = pipeline.run([table_dir])
    [failure] = summary.failed
    assert failure["path"].endswith("rota.csv")
    assert "2 line(s) could not be read" in failure["reason"]
    assert "line 11: Expected Number of Columns: 2 Found: 3" in failure["reason"]
    assert "line 41: Expected Number of Columns: 2 Found: 1" in failure["reason"]
    assert f"failed: {failure['path']}: not a readable table: 2 line(s)" in summary.describe()
    assert counts(tables)["rota"] == 3, "the previous version keeps serving"


def test_prune_drops_the_table_and_its_passages(pipeline, store, tables, table_dir):
    pipeline.run([table_dir])
    (table_dir / "rota.csv").unlink()
    summary = pipeline.run([table_dir], prune=True)
    assert summary.deleted == 1 + 3
    assert set(counts(tables)) == {"offices"}
    assert not [c for c in store.chunks() if c.metadata.get("table") == "rota"]


def test_parquet_tsv_and_each_excel_sheet_are_tables(pipeline, tables, tmp_path):
    from openpyxl import Workbook

    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "holidays.tsv").write_text(
        "date\tname\n2026-12-25\tChristmas Day\n2026-01-01\tNew Year\n"
    )
    duckdb.sql(
        f"COPY (SELECT range AS id, range * 1.5 AS price FROM range(300)) TO '{folder / 'prices.parquet'}'"
    )
    workbook = Workbook()
    workbook.active.title = "Rota"
    workbook.active.append(["week", "engineer"])
    workbook.active.append([1, "Team A"])
    workbook.create_sheet("Budget").append(["team", "eur"])
    workbook["Budget"].append(["Platform", 1200.5])
    workbook.save(folder / "ops.xlsx")
    summary = pipeline.run([folder])
    assert summary.failed == [] and summary.added == 4
    assert counts(tables) == {"holidays": 2, "prices": 300, "ops_rota": 1, "ops_budget": 1}
    assert tables.query("SELECT eur FROM ops_budget").rows == [(1200.5,)]
    assert {c.type for c in tables.info("holidays").columns} == {"DATE", "VARCHAR"}


def test_a_large_table_gets_a_card_but_no_row_passages(pipeline, store, tmp_path):
    path = tmp_path / "big" / "readings.csv"
    path.parent.mkdir()
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sensor", "value"])
        writer.writerows([f"s{n}", n] for n in range(500))
    pipeline.run([path.parent])
    kinds = [c.kind for c in store.chunks()]
    assert "table" in kinds and "row" not in kinds


def test_a_csv_with_question_and_answer_columns_is_still_an_faq(pipeline, store, tables, tmp_path):
    path = tmp_path / "faq" / "help.csv"
    path.parent.mkdir()
    path.write_text("question,answer\nWhere is the office?,In Oslo.\n")
    pipeline.run([path.parent])
    assert [c.kind for c in store.chunks()] == ["faq"] and counts(tables) == {}


def test_status_lists_tables_with_row_counts(monkeypatch, settings, table_dir, capsys):
    monkeypatch.setenv("QDRANT_PATH", str(settings.knowledge.qdrant_path))
    monkeypatch.setenv("DATA_DIR", str(settings.knowledge.data_dir))
    assert cli.main([str(table_dir), "--json"]) == 0
    capsys.readouterr()
    assert cli.main(["status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert {t["name"]: t["rows"] for t in status["tables"]} == {"offices": 18, "rota": 3}
    assert cli.main(["status"]) == 0
    assert "table offices: 18 rows" in capsys.readouterr().out


def test_closing_the_reader_waits_for_a_read_in_flight(tmp_path, table_dir):
    """A reindex in the serving process closes the read connection: a table answer reading
    through it at that moment must still finish."""
    tables = TableStore(tmp_path / "tables.duckdb")
    tables.load("rota", table_dir / "rota.csv", "hash-1")
    with tables._cursor() as cursor:  # a read in flight
        closer = threading.Thread(target=tables.close_reader)
        closer.start()
        closer.join(0.5)  # room to close the connection under the read, were it not waited for
        assert closer.is_alive()
        assert cursor.execute("SELECT count(*) FROM rota").fetchone() == (3,)
    closer.join()
    assert tables.query("SELECT team FROM rota WHERE week = 2").rows == [("Payments",)]

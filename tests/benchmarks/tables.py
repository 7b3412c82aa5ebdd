"""Tables benchmark: ingesting a 1 GB CSV against DuckDB's plain read_csv, and answer latency.

    .venv/bin/python -m tests.benchmarks.tables [--gigabytes 1] [--json]

A CSV of `--gigabytes` (expense lines: id, date, city, country, category, amount, currency,
approved, note) is generated into a temporary directory by DuckDB itself. Prints:
- rows/s of `ingest` on it (content hash, DuckDB load into a new table and the swap, the
  table card embedded and written to Qdrant; the embedding model loaded before the clock),
- rows/s of DuckDB's plain `CREATE TABLE AS SELECT * FROM read_csv(...)` into a fresh
  database, and their ratio (goal >= 0.8),
- the answer latency without the model over the 44 evaluation questions (`bot eval tables`:
  retrieve, take the table cards, check the scripted SQL, run it), p50 goal < 100 ms, and
  the same for aggregate queries over the 1 GB table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import duckdb

from bot.ops.evals.tables import eval_tables
from guards.sql import check_sql
from ingest.pipeline import Pipeline
from knowledge.embeddings import Embedder
from knowledge.settings import KnowledgeSettings
from knowledge.sparse import SparseEncoder
from knowledge.store import Store
from knowledge.tables import TableStore

BYTES_PER_ROW = 75
BIG_QUERIES = [
    "SELECT count(*) FROM expenses WHERE city = 'Oslo'",
    "SELECT category, sum(amount) AS total FROM expenses GROUP BY category ORDER BY total DESC",
    "SELECT city, max(amount) AS highest FROM expenses WHERE approved GROUP BY city ORDER BY highest DESC LIMIT 5",
    "SELECT * FROM expenses WHERE id = 123456",
]


def generate(path: Path, gigabytes: float) -> int:
    rows = int(gigabytes * 1e9 / BYTES_PER_ROW)
    duckdb.sql(f"""COPY (SELECT range AS id, DATE '2020-01-01' + CAST(range % 1800 AS INTEGER) AS date,
        (['Oslo','Berlin','Seoul','Tokyo','Austin','Madrid','Paris','Nairobi'])[range % 8 + 1] AS city,
        (['Norway','Germany','South Korea','Japan','United States','Spain','France','Kenya'])[range % 8 + 1] AS country,
        (['hotel','meals','train','flight','taxi','conference'])[range % 6 + 1] AS category,
        round((range * 7919 % 100000) / 100.0, 2) AS amount, 'EUR' AS currency, range % 5 <> 0 AS approved,
        'expense line ' || (range * 31 % 99991) AS note
        FROM range({rows})) TO '{path}' (HEADER)""")
    return rows


def plain_read_csv(path: Path, database: Path) -> float:
    started = time.perf_counter()
    with duckdb.connect(str(database)) as connection:
        connection.execute(f"CREATE TABLE plain AS SELECT * FROM read_csv('{path}', header = true)")
    return time.perf_counter() - started


def ingest(folder: Path, data: Path, embedder: Embedder) -> tuple[float, TableStore]:
    store = Store.open(KnowledgeSettings(qdrant_path=data / "qdrant"))
    tables = TableStore(data / "tables.duckdb")
    try:
        started = time.perf_counter()
        summary = Pipeline(store, embedder, SparseEncoder(), tables=tables).run([folder])
        seconds = time.perf_counter() - started
    finally:
        store.close()
    assert summary.ok, summary.failed
    return seconds, tables


def big_latency(tables: TableStore) -> float:
    columns = {"expenses": {c.name for c in tables.info("expenses").columns}}
    samples = []
    for _ in range(3):
        for sql in BIG_QUERIES:
            started = time.perf_counter()
            tables.query(check_sql(sql, columns, 200))
            samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gigabytes", type=float, default=1.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    embedder = Embedder()
    embedder.embed_documents(["warm up"])
    with tempfile.TemporaryDirectory(prefix="kb-bench-tables-") as tmp:
        folder = Path(tmp) / "corpus"
        folder.mkdir()
        csv_path = folder / "expenses.csv"
        rows = generate(csv_path, args.gigabytes)
        size = csv_path.stat().st_size
        plain = plain_read_csv(csv_path, Path(tmp) / "plain.duckdb")
        (Path(tmp) / "plain.duckdb").unlink()
        ours, tables = ingest(folder, Path(tmp) / "data", embedder)
        figures = {
            "rows": rows,
            "csv_bytes": size,
            "ingest_rows_per_s": round(rows / ours),
            "read_csv_rows_per_s": round(rows / plain),
            "ratio": round(plain / ours, 3),
            "ingest_s": round(ours, 1),
            "read_csv_s": round(plain, 1),
            "big_table_query_p50_ms": round(big_latency(tables), 1),
        }
    evaluation = eval_tables(embedder)
    figures["answer_without_model_ms"] = evaluation["latency_ms"]
    figures["sql_check_and_run_ms"] = evaluation["sql_latency_ms"]
    print(
        json.dumps(figures)
        if args.json
        else "\n".join(f"{key}: {value}" for key, value in figures.items())
    )


if __name__ == "__main__":
    main()

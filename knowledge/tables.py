"""Tables as data: the store that writes and reads DuckDB ($DATA_DIR/tables.duckdb).

Ingest loads a CSV, TSV, Parquet file or Excel sheet with DuckDB's own readers (typed
columns, streamed), into a new table that is swapped in for the old one in one transaction:
a load that fails leaves the previous version serving. A CSV line DuckDB cannot read (too
many or too few fields, a value not of its column's type) fails the load with its line number
and reason, from DuckDB's rejects table, rather than being skipped (the readers and that
report: knowledge/table_files.py). A catalogue table,
`_kb_tables`, says where each table came from, its content hash, its row count and who may read it (the
audience and tags its passages carry in Qdrant, checked again before any SQL runs on it).

Questions run SQL that a checker has passed (guards/sql.py) on a connection that is
read-only, with file and network access off and the configuration locked so SQL cannot turn
them back on, a memory limit, a timeout (an interrupt from a timer thread) and a row cap.
The store keeps that connection open (DuckDB takes a file lock for it): an `ingest` in
another process cannot write the tables while a bot holds them; `/kb reindex` runs inside
the bot, which closes its reader before it writes. While the reader is open nothing else can
change the tables, so each table's info (catalogue entry and columns) is read once and kept
until this store writes or closes its reader: every question that retrieves a table asks for it.
DuckDB itself is imported by the first read or write (~0.05 s): a question that never reaches
the tables, and a knowledge base without any, does not wait for it.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from knowledge.access import AUDIENCE, EVERYONE, TAGS
from knowledge.errors import TableError, TableUnavailable
from knowledge.table_files import first_line, raise_for_rejects, reader_sql
from knowledge.table_types import Column, QueryResult, TableInfo

if TYPE_CHECKING:
    import duckdb

CATALOGUE = "_kb_tables"
STAGING_PREFIX = "_kb_load_"
SAMPLE_ROWS = 3
QUERY_TIMEOUT_S = 5.0
QUERY_MAX_ROWS = 200
CATALOGUE_LABELS = (AUDIENCE, TAGS)
LOCKED_DOWN = {
    "enable_external_access": False,
    "lock_configuration": True,
    "memory_limit": "512MB",
    "autoload_known_extensions": False,
    "autoinstall_known_extensions": False,
}
"""How every read connection is opened: no files or network, and SQL cannot change that."""


def quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


class TableStore:
    """Loading and reading tables: writes open a connection for as long as they take; reads
    share one locked-down read-only connection, a cursor each."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._connection: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        """Notified when a read ends: closing the connection waits for the reads using it."""
        self._reads = 0
        self._infos: dict[str, TableInfo] = {}
        self._generation = 0
        """Bumped whenever the infos are forgotten, so an info read across a write is not kept."""

    # --- writing (ingest) -------------------------------------------------------------

    def _writer(self) -> duckdb.DuckDBPyConnection:
        import duckdb  # on first use (the module's docstring)

        self.close_reader()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            connection = duckdb.connect(str(self.path))
        except duckdb.Error as error:
            raise TableUnavailable(
                f"cannot open {self.path} for writing ({error}); "
                "is another ingest or the bot writing it?"
            ) from None
        connection.execute(
            f"CREATE TABLE IF NOT EXISTS {CATALOGUE} (name VARCHAR PRIMARY KEY, path VARCHAR, "
            "sheet VARCHAR, content_hash VARCHAR, rows BIGINT)"
        )
        # Catalogues written before tables had audiences gain the columns (NULL: everyone, as their passages say).
        for label in CATALOGUE_LABELS:
            connection.execute(
                f"ALTER TABLE {CATALOGUE} ADD COLUMN IF NOT EXISTS {label} VARCHAR[]"
            )
        return connection

    def load(
        self,
        name: str,
        file: Path,
        content_hash: str,
        sheet: str = "",
        audience: Iterable[str] = (EVERYONE,),
        tags: Iterable[str] = (),
        check: Callable[[list[Column]], None] | None = None,
    ) -> TableInfo:
        """Load `file` (or its `sheet`) as table `name`, readable by `audience`, replacing any
        previous version atomically. Raises TableError with DuckDB's reason when the file cannot
        be read as a table, or `check`'s when it refuses the columns read."""
        import duckdb  # on first use (the module's docstring)

        staging = quoted(STAGING_PREFIX + name)
        with self._writer() as connection, tempfile.TemporaryDirectory(prefix="kb-sheet-") as spill:
            connection.execute(f"DROP TABLE IF EXISTS {staging}")
            try:
                reader = reader_sql(file, sheet, Path(spill))
                connection.execute(f"CREATE TABLE {staging} AS SELECT * FROM {reader}")
                if reader.startswith("read_csv"):
                    raise_for_rejects(connection)
                rows = connection.execute(f"SELECT count(*) FROM {staging}").fetchone()[0]
                if rows == 0:
                    raise TableError(
                        "no rows were read; check that the first line is the header and every "
                        "line has as many fields as it (delimiter , ; or tab)"
                    )
                if check is not None:
                    check(
                        [
                            Column(c[0], c[1])
                            for c in connection.execute(f"DESCRIBE {staging}").fetchall()
                        ]
                    )
            except (duckdb.Error, TableError) as error:
                connection.execute(f"DROP TABLE IF EXISTS {staging}")
                raise TableError(first_line(error)) from None
            connection.execute("BEGIN TRANSACTION")
            connection.execute(f"DROP TABLE IF EXISTS {quoted(name)}")
            connection.execute(f"ALTER TABLE {staging} RENAME TO {quoted(name)}")
            connection.execute(
                f"INSERT OR REPLACE INTO {CATALOGUE} (name, path, sheet, content_hash, rows, "
                f"{', '.join(CATALOGUE_LABELS)}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    name,
                    file.as_posix(),
                    sheet,
                    content_hash,
                    rows,
                    list(audience) or [EVERYONE],
                    list(tags),
                ],
            )
            connection.execute("COMMIT")
        self._forget_infos()
        return self.info(name)

    def drop(self, names: Iterable[str]) -> None:
        names = list(names)
        if not names or not self.path.exists():
            return
        with self._writer() as connection:
            connection.execute("BEGIN TRANSACTION")
            for name in names:
                connection.execute(f"DROP TABLE IF EXISTS {quoted(name)}")
                connection.execute(f"DELETE FROM {CATALOGUE} WHERE name = ?", [name])
            connection.execute("COMMIT")
        self._forget_infos()

    # --- reading ----------------------------------------------------------------------

    @contextmanager
    def _cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor on the one read-only connection this store keeps (opening one costs ~10-100 ms;
        a cursor ~0.1), for one read. Locked down for every read, since DuckDB allows one
        configuration per file and process; a write in this process closes it first (close_reader),
        once the reads in flight are done."""
        import duckdb  # on first use (the module's docstring)

        with self._lock:
            if self._connection is None:
                if not self.path.exists():
                    raise TableUnavailable("no table has been ingested yet")
                try:
                    self._connection = duckdb.connect(
                        str(self.path), read_only=True, config=LOCKED_DOWN
                    )
                except duckdb.Error as error:
                    raise TableUnavailable(
                        f"the tables cannot be read right now ({first_line(error)})"
                    ) from None
            cursor = self._connection.cursor()
            self._reads += 1
        try:
            with cursor:
                yield cursor
        finally:
            with self._idle:
                self._reads -= 1
                self._idle.notify_all()

    def close_reader(self) -> None:
        """Close the read connection (a write in this process needs the file) once no read is
        using it (a query is bounded by its timeout), and forget the infos read through it."""
        with self._idle:
            self._idle.wait_for(lambda: self._reads == 0)
            if self._connection is not None:
                self._connection.close()
                self._connection = None
        self._forget_infos()

    def _forget_infos(self) -> None:
        with self._lock:
            self._infos.clear()
            self._generation += 1

    def tables(self) -> list[TableInfo]:
        """Every table with its source and row count (`ingest status`)."""
        if not self.path.exists():
            return []
        with self._cursor() as cursor:
            found = cursor.execute(f"SELECT name FROM {CATALOGUE} ORDER BY name").fetchall()
        return [self.info(name) for (name,) in found]

    def info(self, name: str) -> TableInfo:
        """The table's catalogue entry and columns; kept after the first read (see above)."""
        with self._lock:
            known, generation = self._infos.get(name), self._generation
        if known is not None:
            return known
        info = self._read_info(name)
        with self._lock:
            if generation == self._generation:  # no write or close since the read began
                self._infos[name] = info
        return info

    def _read_info(self, name: str) -> TableInfo:
        with self._cursor() as cursor:
            # SELECT *: a catalogue from before audiences (read-only here, so not migrated) has no such columns.
            found = cursor.execute(f"SELECT * FROM {CATALOGUE} WHERE name = ?", [name])
            row = found.fetchone()
            if row is None:
                raise TableUnavailable(f"no table {name!r}")
            fields = dict(zip((d[0] for d in found.description), row, strict=False))
            columns = [
                Column(c[0], c[1]) for c in cursor.execute(f"DESCRIBE {quoted(name)}").fetchall()
            ]
        return TableInfo(
            fields["name"],
            fields["path"],
            fields["sheet"],
            fields["content_hash"],
            fields["rows"],
            columns=columns,
            audience=tuple(fields.get(AUDIENCE) or [EVERYONE]),
            tags=tuple(fields.get(TAGS) or []),
        )

    def rows(self, name: str, limit: int) -> QueryResult:
        """The first `limit` rows in file order (table cards' samples, row passages)."""
        with self._cursor() as cursor:
            return _fetch(
                cursor.execute(f"SELECT * FROM {quoted(name)} LIMIT {int(limit) + 1}"), limit
            )

    def distinct_values(self, name: str, column: str, limit: int) -> list[str]:
        """Up to `limit` distinct values of a column, sorted (a short text column a model is shown)."""
        column = quoted(column)
        sql = f"SELECT DISTINCT {column} FROM {quoted(name)} WHERE {column} IS NOT NULL ORDER BY 1"
        with self._cursor() as cursor:
            return [str(value) for (value,) in _fetch(cursor.execute(sql), limit).rows]

    def query(
        self, sql: str, timeout_s: float = QUERY_TIMEOUT_S, max_rows: int = QUERY_MAX_ROWS
    ) -> QueryResult:
        """Run checked, model-written SQL; a query still running after `timeout_s` is interrupted."""
        import duckdb  # on first use (the module's docstring)

        with self._cursor() as cursor:
            timer = threading.Timer(timeout_s, cursor.interrupt)
            timer.start()
            try:
                return _fetch(cursor.execute(sql), max_rows)
            except duckdb.InterruptException:
                raise TableError(
                    f"the query took longer than {timeout_s:g} s; narrow it down"
                ) from None
            except duckdb.Error as error:
                raise TableError(first_line(error)) from None
            finally:
                timer.cancel()


def _fetch(cursor: duckdb.DuckDBPyConnection, limit: int) -> QueryResult:
    columns = [d[0] for d in cursor.description or []]
    rows = cursor.fetchmany(limit + 1)
    return QueryResult(columns, [tuple(r) for r in rows[:limit]], truncated=len(rows) > limit)

"""Hostile SQL from a model: the checker rejects it, and the connection it would run on refuses
it too (defence in depth). Real DuckDB."""

import pytest

from guards.errors import UnsafeSQL
from guards.sql import check_sql
from knowledge.errors import TableError
from knowledge.tables import TableStore

COLUMNS = {
    "offices": {"city", "country", "employees", "parking"},
    "rates": {"city", "per_diem_eur"},
}
HOSTILE = {
    "copy": "COPY offices TO '/tmp/stolen.csv'",
    "attach": "ATTACH '/tmp/other.duckdb' AS other",
    "read_csv": "SELECT * FROM read_csv('/etc/passwd')",
    "read_csv in a subquery": "SELECT city FROM offices WHERE city IN (SELECT * FROM read_csv_auto('/etc/passwd'))",
    "file path as a table": "SELECT * FROM '/etc/passwd'",
    "two statements": "SELECT city FROM offices; DROP TABLE offices",
    "pragma": "PRAGMA database_list",
    "set": "SET enable_external_access = true",
    "install": "INSTALL httpfs",
    "load": "LOAD httpfs",
    "glob": "SELECT * FROM glob('/home/*')",
    "getenv": "SELECT getenv('OPENAI_API_KEY')",
    "catalogue": "SELECT * FROM duckdb_tables()",
    "table not retrieved": "SELECT * FROM equipment",
    # Inside a CTE's own body its name is the database's table (DuckDB reads it): not the CTE.
    "table not retrieved behind a CTE of its name": "WITH equipment AS (SELECT * FROM equipment) SELECT * FROM equipment",
    "a later CTE's name": "WITH a AS (SELECT * FROM equipment), equipment AS (SELECT city FROM offices) SELECT * FROM a",
    "column of no table": "SELECT salary FROM offices",
    "column of another table": "SELECT o.per_diem_eur FROM offices o",
    "schema-qualified": "SELECT * FROM main._kb_tables",
    "insert": "INSERT INTO offices VALUES ('x', 'y', 1, 'no')",
    "create as": "CREATE TABLE x AS SELECT * FROM offices",
    "not sql": "the cheapest office",
}


@pytest.mark.parametrize("sql", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_sql_is_rejected_with_a_reason(sql):
    with pytest.raises(UnsafeSQL) as error:
        check_sql(sql, COLUMNS, 200)
    assert str(error.value)


def test_a_plain_select_passes_with_a_limit_added_or_capped():
    assert check_sql("select city from offices where parking = 'yes'", COLUMNS, 50).endswith(
        "LIMIT 50"
    )
    assert check_sql("SELECT city FROM offices LIMIT 5", COLUMNS, 50).endswith("LIMIT 5")
    assert check_sql("SELECT city FROM offices LIMIT 5000", COLUMNS, 50).endswith("LIMIT 50")
    joined = (
        "WITH big AS (SELECT o.city, r.per_diem_eur AS rate FROM offices o JOIN rates r ON o.city = r.city) "
        "SELECT city, rate FROM big ORDER BY rate DESC"
    )
    assert check_sql(joined, COLUMNS, 10).endswith("LIMIT 10")
    counting = "WITH RECURSIVE n AS (SELECT 1 AS i UNION ALL SELECT i + 1 FROM n WHERE i < 3) SELECT i FROM n"
    assert check_sql(counting, COLUMNS, 10).endswith("LIMIT 10")


@pytest.fixture(scope="module")
def big_tables(tmp_path_factory):
    path = tmp_path_factory.mktemp("sql") / "tables.duckdb"
    source = path.with_name("numbers.csv")
    source.write_text("n\n" + "\n".join(map(str, range(20_000))) + "\n")
    tables = TableStore(path)
    tables.load("numbers", source, "hash")
    return tables


def test_a_cross_join_of_the_largest_table_is_stopped_by_the_timeout(big_tables):
    sql = check_sql("SELECT count(*) FROM numbers a, numbers b, numbers c", {"numbers": {"n"}}, 200)
    with pytest.raises(TableError, match="longer than"):
        big_tables.query(sql, timeout_s=0.3)


def test_rows_beyond_the_cap_are_cut_and_said_to_be(big_tables):
    result = big_tables.query("SELECT a.n, b.n FROM numbers a, numbers b", max_rows=100)
    assert len(result.rows) == 100 and result.truncated


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_csv('/etc/passwd')",
        "COPY numbers TO '/tmp/kb-stolen.csv'",
        "SET enable_external_access = true",
        "CREATE TABLE x AS SELECT 1",
        "ATTACH '/tmp/kb-other.duckdb'",
    ],
)
def test_the_connection_itself_refuses_what_the_checker_would_have(big_tables, sql):
    with pytest.raises(TableError):
        big_tables.query(sql)

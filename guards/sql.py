"""Check SQL a model wrote before it runs: one SELECT over the tables it was shown, nothing else.

Parsed with sqlglot in DuckDB's dialect. Rejected: anything but exactly one SELECT (or a
UNION of SELECTs, or one with a WITH clause); a table or column not among those retrieved;
table functions and functions that read files, the network or the environment (read_csv,
glob, getenv, ...); COPY, ATTACH, PRAGMA, SET, INSTALL and LOAD are statements of their own
and so fail the first rule. A LIMIT is added, or lowered to the row cap. The SQL that runs is
the checked tree written out again, not the model's text.

This is the first wall; the second is the connection the SQL runs on (knowledge/tables.py):
read-only, external access off, its configuration locked, a timeout and a row cap.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from guards.errors import UnsafeSQL

DENIED_FUNCTIONS = re.compile(
    r"^(read_|parquet_|csv_|json_|sniff_|glob|getenv|current_setting|query|query_table|sqlite_|postgres_|"
    r"mysql_|iceberg_|delta_|duckdb_|pragma_|which_secret|load_extension|install|httpfs|http_|s3|"
    r"system|shell|file|write|copy|attach|detach|checkpoint|export|import|set_|enable_|disable_)",
    re.I,
)
"""Function names (matched at the start) that touch files, the network, settings or the catalogue."""
ALLOWED_STATEMENTS = (exp.Select, exp.Union, exp.Intersect, exp.Except)
WITH_KEY = "with_" if "with_" in exp.Select.arg_types else "with"
"""Where sqlglot keeps a query's WITH clause (renamed in newer versions)."""
logging.getLogger("sqlglot").setLevel(
    logging.ERROR
)  # it warns when it parses LOAD as a command: we reject those


def check_sql(sql: str, tables: Mapping[str, set[str]], max_rows: int) -> str:
    """The SQL to run, with a LIMIT of at most `max_rows`; `tables` maps each table the
    question retrieved to its columns. Raises UnsafeSQL saying what to change."""
    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except SqlglotError as error:
        raise UnsafeSQL(f"the SQL does not parse: {str(error).splitlines()[0]}") from None
    if len(statements) != 1:
        raise UnsafeSQL(f"write exactly one SELECT statement, not {len(statements)}")
    tree = statements[0]
    if not isinstance(tree, ALLOWED_STATEMENTS):
        raise UnsafeSQL(f"only SELECT is allowed, not {_kind(tree)}")
    allowed = {name.lower(): {c.lower() for c in columns} for name, columns in tables.items()}
    _check_nodes(tree)
    _check_functions(tree)
    _check_tables(tree, allowed)
    _check_columns(tree, allowed)
    return _limited(tree, max_rows).sql(dialect="duckdb")


def _check_nodes(tree: exp.Expression) -> None:
    for node in tree.walk():
        if isinstance(
            node,
            (
                exp.Command,
                exp.Copy,
                exp.Attach,
                exp.Pragma,
                exp.Set,
                exp.Insert,
                exp.Update,
                exp.Delete,
                exp.Create,
                exp.Drop,
                exp.Alter,
                exp.Into,
            ),
        ):
            raise UnsafeSQL(f"only SELECT is allowed, not {_kind(node)}")


def _kind(node: exp.Expression) -> str:
    """What a statement is, in words: sqlglot parses LOAD and friends as a generic command."""
    return str(node.this).split()[0].upper() if isinstance(node, exp.Command) else node.key.upper()


def _check_functions(tree: exp.Expression) -> None:
    for function in tree.find_all(exp.Func):
        name = function.name if isinstance(function, exp.Anonymous) else function.sql_name()
        if DENIED_FUNCTIONS.match(name or "") or isinstance(function, (exp.ReadCSV,)):
            raise UnsafeSQL(f"the function {name.lower()} is not allowed: query the tables only")


def _check_tables(tree: exp.Expression, allowed: dict[str, set[str]]) -> None:
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            raise UnsafeSQL(
                "table functions and file paths are not allowed: query the tables by name"
            )
        if table.args.get("db") or table.args.get("catalog"):
            raise UnsafeSQL(f"write the table name alone, not {table.sql(dialect='duckdb')}")
        name = table.name.lower()
        if name not in allowed and name not in _ctes_seen_from(table):
            raise UnsafeSQL(
                f"no table {table.name!r} here; use one of: {', '.join(sorted(allowed))}"
            )


def _ctes_seen_from(table: exp.Table) -> set[str]:
    """The WITH names a table reference can mean. Inside a CTE's own body (or an earlier
    CTE's), its name is the database's table, not the CTE: `WITH secret AS (SELECT * FROM
    secret) ...` reads a table that was not retrieved, so there it does not count."""
    names: set[str] = set()
    node = table
    while node.parent is not None:
        parent = node.parent
        if isinstance(parent, exp.With) and isinstance(node, exp.CTE):
            ctes = list(parent.expressions)
            seen = ctes.index(node) + (1 if parent.args.get("recursive") else 0)
            names |= {cte.alias_or_name.lower() for cte in ctes[:seen]}
        elif not isinstance(node, exp.With) and isinstance(parent.args.get(WITH_KEY), exp.With):
            names |= {cte.alias_or_name.lower() for cte in parent.args[WITH_KEY].expressions}
        node = parent
    return names


def _check_columns(tree: exp.Expression, allowed: dict[str, set[str]]) -> None:
    """Every column is one of the retrieved tables' (or a name the query itself defines)."""
    aliases = {t.alias_or_name.lower(): t.name.lower() for t in tree.find_all(exp.Table)}
    defined = {a.alias.lower() for a in tree.find_all(exp.Alias)}
    defined |= {
        c.name.lower()
        for cte in tree.find_all(exp.CTE)
        for c in cte.find_all(exp.TableAlias)
        for c in c.columns
    }
    defined |= {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    known = set().union(*allowed.values()) if allowed else set()
    for column in tree.find_all(exp.Column):
        name, qualifier = column.name.lower(), column.table.lower()
        if isinstance(column.this, exp.Star) or name in defined:
            continue
        table = aliases.get(qualifier, qualifier)
        columns = allowed.get(table, known) if qualifier else known
        if (table in allowed and name not in columns) or (not qualifier and name not in known):
            where = f"table {table}" if qualifier and table in allowed else "the tables shown"
            raise UnsafeSQL(f"no column {column.name!r} in {where}")


def _limited(tree: exp.Expression, max_rows: int) -> exp.Expression:
    limit = tree.args.get("limit")
    current = _int(limit.expression) if isinstance(limit, exp.Limit) else None
    if current is not None and current <= max_rows:
        return tree
    return (
        tree.limit(max_rows, copy=False)
        if isinstance(tree, exp.Select)
        else (exp.select("*").from_(tree.subquery("result")).limit(max_rows))
    )


def _int(node: exp.Expression | None) -> int | None:
    return int(node.this) if isinstance(node, exp.Literal) and node.is_int else None

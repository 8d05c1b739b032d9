"""SQL is built only with bound parameters: no f-string, ``%`` or ``.format`` text reaches the database.

Walks the syntax tree of every module under ``src/`` (migrations excepted: fixed DDL) for calls of
``text``, ``exec_driver_sql``, ``execute``, ``sql`` or ``raw_sql`` (SQLAlchemy, DuckDB, Ibis) whose
SQL argument is formatted in Python. The few that interpolate only identifiers of our own (never
input) are listed below with the reason; a new one fails this test until it is checked and listed.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "joinedup"
SQL_CALLS = {"text", "exec_driver_sql", "execute", "sql", "raw_sql"}

# (module, text on the call's first line): why it is safe.
ALLOWED = {
    ("governance/audit.py", "SET LOCAL ROLE"): "the audit writer role is a module constant, not input",
    ("warehouse/engines/duckdb.py", "raw_sql("): "schema and table names of the warehouse's own layers; "
    "the person ids go through a temporary table, not the text",
    ("warehouse/engines/spark.py", "CREATE DATABASE IF NOT EXISTS"): "the warehouse's own schema names (core, marts)",
    ("warehouse/engines/duckdb.py", "CREATE OR REPLACE TABLE {target} ({columns})"): "our own layer's table name and "
    "the column types Ibis declares for our own expression",
    ("warehouse/engines/duckdb.py", "INSERT INTO {target} {sql}"): "SQL compiled by Ibis from the warehouse's own "
    "expressions (its literals are our code lists and dates, never input)",
    ("warehouse/engines/duckdb.py", "DELETE FROM {target} WHERE person_id IN"): "our own table name; the person ids "
    "go through a temporary table, not the text",
    ("feeds/ingest.py", "PRAGMA cache_size="): "a PRAGMA takes no bound parameters; the value is a module constant "
    "or the integer SQLite itself reported",
}


def _formatted(node: ast.expr) -> bool:
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(part, ast.FormattedValue) for part in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mod, ast.Add)):
        return isinstance(node.left, (ast.Constant, ast.JoinedStr)) or _formatted(node.left)
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format"
            and isinstance(node.func.value, ast.Constant))


def _findings() -> list[tuple[str, int, str]]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC).as_posix()
        if relative.startswith("store/migrations/"):
            continue
        source = path.read_text()
        lines = source.splitlines()
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in SQL_CALLS and _formatted(node.args[0]):
                found.append((relative, node.lineno, lines[node.lineno - 1].strip()))
    return found


def test_sql_is_never_formatted_from_values() -> None:
    unexplained = [
        finding for finding in _findings()
        if not any(finding[0] == module and needle in finding[2] for module, needle in ALLOWED)
    ]
    assert unexplained == []


def test_the_checker_catches_what_it_looks_for(tmp_path: Path) -> None:
    bad = ast.parse('session.execute(text(f"SELECT * FROM person WHERE nhs = {nhs}"))').body[0].value  # type: ignore[attr-defined]
    assert _formatted(bad.args[0].args[0])
    assert _formatted(ast.parse('"SELECT %s" % value', mode="eval").body)
    assert _formatted(ast.parse('"SELECT {}".format(value)', mode="eval").body)
    assert not _formatted(ast.parse('"SELECT * FROM person WHERE nhs = :nhs"', mode="eval").body)

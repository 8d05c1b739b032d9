"""The DuckDB engine: the embedded default, one file at ``settings.warehouse_path``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from joinedup.warehouse.errors import WarehouseError

logger = logging.getLogger(__name__)


class DuckDBEngine:
    """Runs warehouse expressions on DuckDB through Ibis."""

    name = "duckdb"

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        # Dates are cut from UTC timestamps; the session zone must not shift them.
        self.connection.raw_sql("SET TimeZone = 'UTC'")
        self._schemas: set[str] = set()
        self._inputs = 0

    @classmethod
    def open(cls, path: Path | None) -> DuckDBEngine:
        """Open (or create) the warehouse file; ``None`` opens an in-memory warehouse (tests)."""
        try:
            if path is None:
                return cls(ibis.duckdb.connect())
            path.parent.mkdir(parents=True, exist_ok=True)
            return cls(ibis.duckdb.connect(str(path)))
        except Exception as exc:
            raise WarehouseError(f"could not open the DuckDB warehouse: {type(exc).__name__}") from exc

    def _ensure_schema(self, schema: str) -> None:
        if schema not in self._schemas:
            # Ibis's create_database(force=True) means CREATE OR REPLACE: never on a built warehouse.
            self.connection.raw_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            self._schemas.add(schema)

    def load(self, schema: str, name: str, data: pa.Table) -> None:
        self._ensure_schema(schema)
        self.connection.create_table(name, data, database=schema, overwrite=True)

    def table(self, schema: str, name: str) -> ir.Table:
        return self.connection.table(name, database=schema)

    def has_table(self, schema: str, name: str) -> bool:
        # Ibis 12's list_tables calls an Arrow fetch DuckDB 2.0 removed: ask the catalogue directly.
        found = self.connection.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
            [schema, name],
        ).fetchall()
        return bool(found[0][0])

    def table_names(self, schema: str) -> list[str]:
        """The tables in ``schema``, sorted."""
        rows = self.connection.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ? ORDER BY 1", [schema]
        ).fetchall()
        return [row[0] for row in rows]

    def materialise(self, schema: str, name: str, expr: ir.Table) -> None:
        self._ensure_schema(schema)
        try:
            self._replace(schema, name, expr)
        except Exception as exc:
            raise WarehouseError(f"DuckDB failed building {schema}.{name}: {type(exc).__name__}") from exc

    def _replace(self, schema: str, name: str, expr: ir.Table) -> None:
        """Replace the table in one transaction: readers see the old rows or the new, never none.

        The expression is compiled once and the table declared with Ibis's column types (what
        Ibis's own create_table does, without its temporary table, rename and catalogue lookups).
        """
        sql = self.connection.compile(expr)
        target = f'"{schema}"."{name}"'
        columns = ", ".join(
            column.sql(self.connection.dialect)
            for column in expr.schema().to_sqlglot_column_defs(self.connection.dialect)
        )
        con = self.connection.con
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(f"CREATE OR REPLACE TABLE {target} ({columns})")
            con.execute(f"INSERT INTO {target} {sql}")
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise

    def replace_person_rows(self, schema: str, name: str, person_ids: pa.Table, rows: ir.Table) -> None:
        self.connection.create_table("_changed_person", person_ids, temp=True, overwrite=True)
        target = f'"{schema}"."{name}"'
        sql = self.connection.compile(rows.select(*self.table(schema, name).columns))
        con = self.connection.con
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(f"DELETE FROM {target} WHERE person_id IN (SELECT person_id FROM _changed_person)")
            con.execute(f"INSERT INTO {target} {sql}")
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise

    def to_arrow(self, expr: ir.Table) -> pa.Table:
        return self.connection.to_pyarrow(expr)

    def memtable(self, data: pa.Table) -> ir.Table:
        # A view over the Arrow table (no copy), so compiled SQL can name it like any table.
        self._inputs += 1
        view = f"joinedup_input_{self._inputs}"
        self.connection.con.register(view, data)
        return self.connection.table(view)

    def close(self) -> None:
        self.connection.disconnect()

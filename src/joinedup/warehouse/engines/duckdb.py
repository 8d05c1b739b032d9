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
            self.connection.create_table(name, expr, database=schema, overwrite=True)
        except Exception as exc:
            raise WarehouseError(f"DuckDB failed building {schema}.{name}: {type(exc).__name__}") from exc

    def replace_person_rows(self, schema: str, name: str, person_ids: pa.Table, rows: ir.Table) -> None:
        self.connection.create_table("_changed_person", person_ids, temp=True, overwrite=True)
        self.connection.raw_sql(
            f'DELETE FROM "{schema}"."{name}" WHERE person_id IN (SELECT person_id FROM _changed_person)'
        )
        self.connection.insert(name, rows, database=schema)

    def to_arrow(self, expr: ir.Table) -> pa.Table:
        return self.connection.to_pyarrow(expr)

    def memtable(self, data: pa.Table) -> ir.Table:
        return ibis.memtable(data)

    def close(self) -> None:
        self.connection.disconnect()

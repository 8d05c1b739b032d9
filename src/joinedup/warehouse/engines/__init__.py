"""The only code that executes warehouse definitions: one small adapter per engine.

Marts and the core layer are Ibis expressions built from tables an engine hands out; an engine
loads Arrow tables, materialises expressions as named tables in a schema (``core``, ``activity``...),
replaces one person's rows for incremental builds and returns results as Arrow. Everything else in
the warehouse is engine-agnostic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import pyarrow as pa

from joinedup.warehouse.errors import WarehouseInputError

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from joinedup.settings import Settings

ENGINES = ("duckdb", "spark")


class WarehouseEngine(Protocol):
    """What the build needs from an analytic engine."""

    name: str

    def load(self, schema: str, name: str, data: pa.Table) -> None:
        """Create or replace ``schema.name`` from an Arrow table."""

    def table(self, schema: str, name: str) -> ir.Table:
        """The Ibis table ``schema.name``."""

    def has_table(self, schema: str, name: str) -> bool:
        """Whether ``schema.name`` exists."""

    def materialise(self, schema: str, name: str, expr: ir.Table) -> None:
        """Create or replace ``schema.name`` with the rows of ``expr``."""

    def replace_person_rows(self, schema: str, name: str, person_ids: pa.Table, rows: ir.Table) -> None:
        """Delete the rows of the given persons from ``schema.name`` and insert ``rows`` instead."""

    def to_arrow(self, expr: ir.Table) -> pa.Table:
        """Execute ``expr`` and return its rows."""

    def memtable(self, data: pa.Table) -> ir.Table:
        """An in-memory Arrow table usable in expressions on this engine."""

    def close(self) -> None:
        """Release the engine (close the file, stop nothing shared)."""


def open_engine(name: str, settings: Settings) -> WarehouseEngine:
    """Open the named engine on the warehouse the settings point at.

    Raises:
        WarehouseInputError: the engine is not ``duckdb`` or ``spark``.
    """
    if name == "duckdb":
        from joinedup.warehouse.engines.duckdb import DuckDBEngine

        return DuckDBEngine.open(settings.warehouse_path)
    if name == "spark":
        from joinedup.warehouse.engines.spark import SparkEngine

        return SparkEngine.open(settings)
    raise WarehouseInputError(f"unknown warehouse engine {name!r}; choose one of {', '.join(ENGINES)}")


__all__ = ["ENGINES", "WarehouseEngine", "open_engine"]

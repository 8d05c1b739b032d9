"""The risk pipeline's one door into the warehouse: a DuckDB connection on the warehouse file."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from joinedup.risk.errors import RiskError
from joinedup.settings import Settings


@contextmanager
def open_risk_warehouse(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only DuckDB connection to ``settings.warehouse_path`` (built by ``joinedup warehouse``)."""
    path = settings.warehouse_path
    if not path.exists():
        raise RiskError("no warehouse yet; run `joinedup warehouse` after ingesting data")
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise RiskError(f"could not open the warehouse ({type(exc).__name__}); is a build running?") from exc
    try:
        yield con
    finally:
        con.close()

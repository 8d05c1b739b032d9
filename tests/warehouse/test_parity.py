"""One definition, two engines: every core and mart table equal on DuckDB and Spark (standing test)."""

from __future__ import annotations

import math

import pytest
from sqlalchemy.orm import Session, sessionmaker
from warehouse_borough import build_borough_warehouse

from joinedup.settings import Settings
from joinedup.warehouse.core import CORE_TABLES
from joinedup.warehouse.engines.duckdb import DuckDBEngine
from joinedup.warehouse.marts import MARTS, mart_contract

pytestmark = pytest.mark.spark


@pytest.fixture(scope="session")
def spark_warehouse(
    shared_borough: sessionmaker[Session], tmp_path_factory: pytest.TempPathFactory
) -> object:
    """The borough built on the run's one local Spark session (tables kept in memory)."""
    from joinedup.warehouse.engines.spark import SparkEngine

    engine = SparkEngine.open(None, persist=False)
    build_borough_warehouse(shared_borough, Settings(home=tmp_path_factory.mktemp("spark-home")), engine)
    return engine


def _sorted_rows(engine: object, schema: str, name: str) -> list[tuple[object, ...]]:
    table = engine.table(schema, name)  # type: ignore[attr-defined]
    rows = engine.to_arrow(table).to_pylist()  # type: ignore[attr-defined]
    normalised = []
    for row in rows:
        values = []
        for column in sorted(row):
            value = row[column]
            if isinstance(value, float):
                value = None if math.isnan(value) else round(value, 6)
            values.append((column, value))
        normalised.append(tuple(values))
    return sorted(normalised, key=repr)


def _published_tables() -> list[tuple[str, str]]:
    tables = [("core", name) for name in CORE_TABLES]
    for mart in MARTS:
        tables.extend((mart, name) for name in mart_contract(mart)["tables"])
    return tables


def test_every_core_and_mart_table_is_identical_on_duckdb_and_spark(
    duckdb_warehouse: DuckDBEngine, spark_warehouse: object
) -> None:
    differing = []
    for schema, name in _published_tables():
        expected = _sorted_rows(duckdb_warehouse, schema, name)
        if _sorted_rows(spark_warehouse, schema, name) != expected:
            differing.append(f"{schema}.{name}")
    assert differing == []
    # The comparison is not vacuous: the borough gives rows in every mart.
    assert all(_sorted_rows(duckdb_warehouse, mart, next(iter(mart_contract(mart)["tables"]))) for mart in MARTS)

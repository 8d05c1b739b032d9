"""Each mart publishes exactly the tables and columns its contract.yml declares, with those types."""

from __future__ import annotations

import pytest

from joinedup.warehouse.engines.duckdb import DuckDBEngine
from joinedup.warehouse.marts import MARTS, mart_contract


@pytest.mark.parametrize("mart", MARTS)
def test_mart_tables_match_their_contract(duckdb_warehouse: DuckDBEngine, mart: str) -> None:
    contract = mart_contract(mart)
    published = {name for name in duckdb_warehouse.table_names(mart) if "__" not in name}
    assert published == set(contract["tables"])
    for name, table in contract["tables"].items():
        schema = duckdb_warehouse.table(mart, name).schema()
        actual = {column: str(dtype).rstrip("!").replace("timestamp", "date") for column, dtype in schema.items()}
        declared = {column: spec["type"] for column, spec in table["columns"].items()}
        assert actual == declared, f"{mart}.{name}"

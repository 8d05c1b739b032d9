"""The build reads the store the same way from SQLite and from PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from warehouse_borough import build_borough_warehouse, rows, write_borough

from joinedup.settings import Settings
from joinedup.store import make_engine, make_session_factory
from joinedup.warehouse.engines.duckdb import DuckDBEngine


def test_build_from_either_store_gives_the_worked_example(database_url: str, tmp_path: object) -> None:
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    with sessions() as session:
        write_borough(session)
    warehouse = DuckDBEngine.open(None)
    report = build_borough_warehouse(sessions, Settings(home=tmp_path), warehouse)  # type: ignore[arg-type]
    engine.dispose()
    assert report.table_rows["core.encounter"] == 12
    people = {row["person_id"]: row for row in rows(warehouse, "core", "person")}
    assert (people["B"]["death_date"], people["A"]["lsoa_code"]) == (date(2024, 10, 15), "L1")
    year = {row["practice_code"]: row for row in rows(warehouse, "outcomes", "practice_year")}
    expected = 4 / 3 * 4 / (52 / 12) * 1000
    assert year["P1"]["emergency_admissions_per_1000_standardised"] == pytest.approx(expected, abs=1e-3)

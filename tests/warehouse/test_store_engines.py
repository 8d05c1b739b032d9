"""The build reads the store the same way from SQLite and from PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from warehouse_borough import build_borough_warehouse, rows, write_borough

from joinedup.settings import Settings
from joinedup.store import make_engine, make_session_factory
from joinedup.store.tables import Encounter, Person, SourcePatient
from joinedup.warehouse.engines.duckdb import DuckDBEngine
from joinedup.warehouse.extract import ENCOUNTER_SCHEMA, bulk_address, encounter_query, read_arrow, read_bulk


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


def test_the_fast_read_gives_the_drivers_rows_when_first_values_are_null(database_url: str, tmp_path: Path) -> None:
    """connectorx types SQLite's computed and NUMERIC columns from the first row: a NULL there once
    failed every real store's fast read (the build fell back to the slow path without a word)."""
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    with sessions() as session:
        session.add_all([Person(person_id="A"), Person(person_id="B", merged_into_person_id="A")])
        session.flush()
        first = SourcePatient(source="gp", local_id="gp-b", person_id="B", updated_at=datetime(2025, 1, 2, tzinfo=UTC))
        session.add(first)
        session.flush()
        day = [datetime(2025, 1, n, 10, tzinfo=UTC) for n in (1, 2, 3, 4)]
        session.add_all([
            Encounter(source="gp", source_record_id="r1", source_patient_id=first.source_patient_id, setting="gp",
                      start_at=day[0], cost_gbp=None, received_at=day[1], updated_at=day[1]),
            Encounter(source="gp", source_record_id="r2", source_patient_id=first.source_patient_id, setting="gp",
                      start_at=day[2], cost_gbp=Decimal("39.25"), received_at=day[3], updated_at=day[3]),
        ])
        session.commit()
    with engine.connect() as connection:
        address = bulk_address(connection)
        assert address is not None
        fast, = read_bulk(address, connection, [(encounter_query(), ENCOUNTER_SCHEMA)], tmp_path)
        slow = read_arrow(connection, encounter_query(), ENCOUNTER_SCHEMA)
    fast, slow = fast.sort_by("start_at"), slow.sort_by("start_at")
    engine.dispose()
    assert fast.equals(slow)
    assert fast.column("person_id").to_pylist() == ["A", "A"]  # B was merged into A
    assert fast.column("cost_gbp").to_pylist() == [None, 39.25]

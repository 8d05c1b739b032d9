"""Secondary-use marts include only the persons governance allows: opted-out E appears in none."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker
from warehouse_borough import AS_OF, NHS_NUMBERS, OPTED_OUT

from joinedup.governance import load_cleaned_list
from joinedup.settings import Settings
from joinedup.warehouse import build_warehouse
from joinedup.warehouse.engines.duckdb import DuckDBEngine
from joinedup.warehouse.marts import MARTS, mart_contract
from joinedup.warehouse.optouts import WAREHOUSE_PURPOSE


def _write_cleaned_list(folder: Path) -> Path:
    """The national checking service's answer: everyone but E has NOT opted out (as of 15 Dec)."""
    path = folder / "cleaned-list-2024-12-15.csv"
    kept = sorted(number for person, number in NHS_NUMBERS.items() if person not in OPTED_OUT)
    path.write_text("nhs_number\n" + "\n".join(kept) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def warehouse_with_governance(borough_sessions: sessionmaker[Session], tmp_path: Path) -> DuckDBEngine:
    with borough_sessions() as session:
        load_cleaned_list(session, _write_cleaned_list(tmp_path), WAREHOUSE_PURPOSE)
        session.commit()
    engine = DuckDBEngine.open(None)
    report = build_warehouse(borough_sessions, Settings(home=tmp_path / "home"), engine, as_of=AS_OF)
    assert (report.secondary_use_person_count, report.opted_out_person_count) == (5, 1)
    return engine


def test_opted_out_person_is_in_no_mart_table(warehouse_with_governance: DuckDBEngine) -> None:
    engine = warehouse_with_governance
    seen_person_tables = 0
    for mart in MARTS:
        for name, table in mart_contract(mart)["tables"].items():
            if "person_id" in table["columns"]:
                seen_person_tables += 1
                people = {row["person_id"] for row in engine.to_arrow(engine.table(mart, name)).to_pylist()}
                assert people.isdisjoint(OPTED_OUT), f"{mart}.{name}"
    assert seen_person_tables == 6
    # E is the only South resident: no South figures are published at all.
    population = engine.to_arrow(engine.table("activity", "practice_population")).to_pylist()
    areas = {row["neighbourhood"] for row in population}
    assert areas == {"North"}
    # Core keeps E: direct-care uses (risk stratification by the person's own practice) still see them.
    assert "E" in {row["person_id"] for row in engine.to_arrow(engine.table("core", "person")).to_pylist()}


def test_without_a_cleaned_list_governance_lets_nobody_into_the_marts(
    borough_sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    engine = DuckDBEngine.open(None)
    report = build_warehouse(borough_sessions, Settings(home=tmp_path / "home"), engine, as_of=AS_OF)
    assert report.secondary_use_person_count == 0
    assert engine.to_arrow(engine.table("cohorts", "person")).num_rows == 0

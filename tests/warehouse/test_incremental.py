"""Incremental builds refresh only the persons whose rows changed, and agree with a full build."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from warehouse_borough import AS_OF, allow_all_but_opted_out, build_borough_warehouse, rows

from joinedup.settings import Settings
from joinedup.store.tables import Encounter, SourcePatient
from joinedup.warehouse import build_warehouse, engine_runs
from joinedup.warehouse.core import CORE_TABLES
from joinedup.warehouse.engines.duckdb import DuckDBEngine
from joinedup.warehouse.marts import MARTS, mart_contract


def _add_outpatient_visit(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        patient = session.scalar(
            select(SourcePatient).where(SourcePatient.person_id == "C", SourcePatient.source == "hospital-sus")
        )
        assert patient is not None
        session.add(
            Encounter(
                source="hospital-sus",
                source_record_id="late-outpatient",
                source_patient_id=patient.source_patient_id,
                setting="outpatient",
                start_at=datetime(2024, 11, 5, 9, tzinfo=UTC),
                cost_gbp=Decimal("100"),
            )
        )
        session.commit()


def _snapshot(engine: DuckDBEngine) -> dict[str, list[tuple[object, ...]]]:
    tables = [("core", name) for name in CORE_TABLES]
    tables += [(mart, name) for mart in MARTS for name in mart_contract(mart)["tables"]]
    snapshot = {}
    for schema, name in tables:
        found = engine.to_arrow(engine.table(schema, name)).to_pylist()
        snapshot[f"{schema}.{name}"] = sorted(
            (tuple((key, round(value, 6) if isinstance(value, float) and not math.isnan(value) else value)
                   for key, value in sorted(row.items())) for row in found),
            key=repr,
        )
    return snapshot


def test_incremental_build_refreshes_only_changed_persons_and_matches_a_full_build(
    borough_sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    settings = Settings(home=tmp_path / "home")
    warehouse = DuckDBEngine.open(tmp_path / "warehouse.duckdb")
    first = build_borough_warehouse(borough_sessions, settings, warehouse)
    assert (first.mode, first.changed_person_count) == ("full", 6)

    _add_outpatient_visit(borough_sessions)
    # A new process opens the same warehouse file: the build must find the last run there.
    warehouse.close()
    warehouse = DuckDBEngine.open(tmp_path / "warehouse.duckdb")
    second = build_borough_warehouse(borough_sessions, settings, warehouse)
    assert (second.mode, second.changed_person_count) == ("incremental", 1)
    assert second.rows_read["encounter"] == 3  # only C's: day case, outpatient, the new visit
    november = [
        row for row in rows(warehouse, "activity", "practice_month")
        if row["month"] == date(2024, 11, 1) and row["setting_group"] == "outpatient"
    ]
    assert [(row["practice_code"], row["contact_count"], row["cost_gbp"]) for row in november] == [("P2", 1, 100.0)]

    full = DuckDBEngine.open(None)
    build_borough_warehouse(borough_sessions, settings, full, full=True)
    assert _snapshot(warehouse) == _snapshot(full)
    assert [run["mode"] for run in engine_runs(warehouse)] == ["full", "incremental"]

    third = build_borough_warehouse(borough_sessions, settings, warehouse)
    # The look-back overlap (5 minutes) re-reads C once more; nothing else is touched.
    assert (third.mode, third.changed_person_count) == ("incremental", 1)
    assert _snapshot(warehouse) == _snapshot(full)


def test_an_opt_out_alone_reaches_the_person_level_marts_of_an_incremental_build(
    borough_sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    settings = Settings(home=tmp_path / "home")
    warehouse = DuckDBEngine.open(tmp_path / "warehouse.duckdb")
    build_borough_warehouse(borough_sessions, settings, warehouse)
    assert "C" in {row["person_id"] for row in rows(warehouse, "activity", "person_month")}

    # C opts out; nothing in the store changes, so no person's rows are re-read.
    def without_c(session: Session, purpose: str, as_of: date) -> set[str]:
        return allow_all_but_opted_out(session, purpose, as_of) - {"C"}

    second = build_warehouse(borough_sessions, settings, warehouse, as_of=AS_OF, secondary_use=without_c)
    assert (second.mode, second.changed_person_count) == ("incremental", 0)
    assert "C" not in {row["person_id"] for row in rows(warehouse, "activity", "person_month")}
    assert "C" not in {row["person_id"] for row in rows(warehouse, "activity", "activity__encounter")}

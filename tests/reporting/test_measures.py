"""Measures and exports from a warehouse file built from the hand-built borough."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from sqlalchemy.orm import Session, sessionmaker
from warehouse_borough import AS_OF, allow_all_but_opted_out, write_borough

from joinedup.reporting import export_measure, measure_document, neighbourhood_small_multiples, report_measure
from joinedup.settings import Settings
from joinedup.store import make_engine, make_session_factory, upgrade_store
from joinedup.warehouse import WarehouseInputError, build_warehouse, open_warehouse


@pytest.fixture(scope="module")
def built_home(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    folder = tmp_path_factory.mktemp("report-home")
    engine = make_engine(f"sqlite:///{folder / 'store.sqlite'}")
    upgrade_store(engine)
    sessions: sessionmaker[Session] = make_session_factory(engine)
    with sessions() as session:
        write_borough(session)
    settings = Settings(home=folder)
    build_warehouse(sessions, settings, "duckdb", as_of=AS_OF, secondary_use=allow_all_but_opted_out)
    return settings


def test_emergency_admissions_by_practice_with_funnel(built_home: Settings) -> None:
    result = report_measure(built_home, measure="emergency_admissions_per_1000", by="practice")
    rows = {row.area: row for row in result.rows}
    # P1: 4 emergency admissions over 22 person-months = 4 × 12,000 / 22 per 1,000 person-years.
    assert rows["P1"].value == pytest.approx(4 * 12000 / 22)
    assert (rows["P2"].numerator, rows["P2"].denominator, rows["P2"].value) == (0.0, 30.0, 0.0)
    assert result.funnel is not None
    assert result.funnel.target == pytest.approx(4 * 12000 / 52)


def test_a_month_series_carries_an_spc_chart(built_home: Settings) -> None:
    result = report_measure(built_home, measure="emergency_admissions_per_1000", by="month")
    assert [row.area for row in result.rows][:2] == ["2024-01-01", "2024-02-01"]
    assert result.spc is not None
    assert len(result.spc.points) == 12
    february = next(row for row in result.rows if row.area == "2024-02-01")
    # February: 2 admissions, 5 registered (A, B, C, D, G).
    assert february.value == pytest.approx(2 * 12000 / 5)


def test_small_multiples_give_one_chart_per_neighbourhood(built_home: Settings) -> None:
    connection = open_warehouse(built_home)
    try:
        charts = neighbourhood_small_multiples(connection, "ae_attendances_per_1000")
    finally:
        connection.disconnect()
    # South's only resident (E) opted out: only North is drawn; its one A&E attendance is in February.
    assert list(charts) == ["North"]
    north = charts["North"]
    assert north is not None
    assert [point.value for point in north.points][:3] == [0.0, pytest.approx(1 * 12000 / 5), 0.0]


def test_disclosure_control_suppresses_small_numbers_in_every_output(built_home: Settings, tmp_path: Path) -> None:
    result = report_measure(built_home, measure="readmission_30d_pct", by="practice")
    document = measure_document(result)
    assert all(row["suppressed_flag"] and row["value"] is None for row in document["rows"])
    export_measure(result, tmp_path / "readmissions.csv", "csv")
    with (tmp_path / "readmissions.csv").open(encoding="utf-8") as handle:
        exported = list(csv.DictReader(handle))
    assert {(row["practice"], row["numerator"], row["value"]) for row in exported} == {
        ("P1", "*", "*"), ("P2", "*", "*"),
    }
    export_measure(result, tmp_path / "readmissions.parquet", "parquet")
    assert pq.read_table(tmp_path / "readmissions.parquet").column("value").null_count == 2


def test_unknown_measure_lists_the_known_ones(built_home: Settings) -> None:
    with pytest.raises(WarehouseInputError, match="emergency_admissions_per_1000"):
        report_measure(built_home, measure="nonsense", by="practice")

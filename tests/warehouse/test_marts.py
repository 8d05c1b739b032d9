"""Every mart measure against the worked examples in docs/marts/<mart>.md (hand-computed)."""

from __future__ import annotations

from datetime import date

import pytest
from warehouse_borough import rows

from joinedup.warehouse.engines.duckdb import DuckDBEngine


def _one(table: list[dict[str, object]], **match: object) -> dict[str, object]:
    found = [row for row in table if all(row[key] == value for key, value in match.items())]
    assert len(found) == 1, f"expected one row for {match}, found {len(found)}"
    return found[0]


def test_activity_counts_contacts_bed_days_and_cost_by_setting(duckdb_warehouse: DuckDBEngine) -> None:
    practice = rows(duckdb_warehouse, "activity", "practice_month")
    february = _one(practice, practice_code="P1", month=date(2024, 2, 1), setting_group="emergency_admission")
    assert (february["contact_count"], february["bed_days"], february["cost_gbp"], february["person_count"]) == (
        2, 4 + 2, 3500.0, 1,
    )
    day_case = _one(practice, practice_code="P2", month=date(2024, 3, 1), setting_group="elective_admission")
    assert (day_case["bed_days"], day_case["cost_gbp"]) == (0, 800.0)
    settings = {row["setting_group"] for row in practice}
    assert settings == {
        "gp", "ae", "emergency_admission", "elective_admission", "outpatient", "community", "social_care",
        "telehealth",
    }
    # The cancelled GP visit of March is not activity.
    assert not [row for row in practice if row["month"] == date(2024, 3, 1) and row["setting_group"] == "gp"]
    north = rows(duckdb_warehouse, "activity", "neighbourhood_month")
    # Everyone's costs but opted-out E's 1,800.
    assert sum(float(row["cost_gbp"]) for row in north) == sum((30, 150, 2000, 1500, 4000, 2500, 800, 120, 60, 200, 5))
    population = rows(duckdb_warehouse, "activity", "practice_population")
    assert _one(population, practice_code="P1", month=date(2024, 11, 1))["registered_count"] == 1
    assert _one(population, practice_code="P2", month=date(2024, 6, 1))["registered_count"] == 3
    assert _one(population, practice_code="P2", month=date(2024, 7, 1))["registered_count"] == 2


def test_outcomes_standardised_emergency_admission_rates(duckdb_warehouse: DuckDBEngine) -> None:
    year = rows(duckdb_warehouse, "outcomes", "practice_year")
    p1 = _one(year, practice_code="P1", year=2024)
    p2 = _one(year, practice_code="P2", year=2024)
    # P1: A (12 months, F 75-84) + B (10 months, M 65-74) = 22 person-months; 4 emergency admissions.
    assert p1["person_years"] == pytest.approx(22 / 12, abs=1e-4)
    assert p1["emergency_admission_count"] == 4
    # Borough rates: F 75-84 2 per 24 person-months (A and G), M 65-74 2 per 10 (B).
    # Expected P1 = 12 x 2/24 + 10 x 2/10 = 3; P2 = 12 x 2/24 (G) = 1.
    assert p1["expected_emergency_admission_count"] == pytest.approx(3.0)
    assert p2["expected_emergency_admission_count"] == pytest.approx(1.0)
    assert p1["emergency_admissions_per_1000"] == pytest.approx(4 / (22 / 12) * 1000, abs=1e-3)
    # Standardised = observed / expected x borough crude rate (4 per 52/12 person-years).
    crude = 4 / (52 / 12) * 1000
    assert p1["emergency_admissions_per_1000_standardised"] == pytest.approx(4 / 3 * crude, abs=1e-3)
    assert p2["emergency_admissions_per_1000_standardised"] == 0.0
    assert p1["ae_attendance_count"] == 1
    assert p1["ae_attendances_per_1000"] == pytest.approx(1 / (22 / 12) * 1000, abs=1e-3)


def test_outcomes_readmissions_length_of_stay_and_acs(duckdb_warehouse: DuckDBEngine) -> None:
    admissions = {row["encounter_id"]: row for row in rows(duckdb_warehouse, "outcomes", "admission")}
    by_start = {(row["person_id"], row["start_date"]): row for row in admissions.values()}
    assert by_start[("A", date(2024, 2, 1))]["readmitted_30d_flag"] is True  # back 20 Feb, 15 days later
    assert by_start[("A", date(2024, 2, 20))]["readmitted_30d_flag"] is False
    assert by_start[("B", date(2024, 9, 1))]["readmitted_30d_flag"] is True  # back 10 Oct, 29 days later
    assert by_start[("B", date(2024, 10, 10))]["index_exclusion_reason"] == "died_in_spell"
    assert by_start[("B", date(2024, 10, 10))]["readmitted_30d_flag"] is None
    assert {key for key, row in by_start.items() if row["acs_flag"]} == {
        ("A", date(2024, 2, 1)),  # E11.9 diabetes
        ("B", date(2024, 9, 1)),  # J44.1 COPD
        ("B", date(2024, 10, 10)),  # J44.9 COPD
    }
    year = rows(duckdb_warehouse, "outcomes", "practice_year")
    p1 = _one(year, practice_code="P1", year=2024)
    assert (p1["index_discharge_count"], p1["readmission_30d_count"]) == (3, 2)
    assert p1["readmission_30d_pct"] == pytest.approx(200 / 3, abs=1e-3)
    assert p1["mean_length_of_stay_days"] == pytest.approx((4 + 2 + 10 + 5) / 4)
    assert p1["acs_admission_count"] == 3
    assert _one(year, practice_code="P2", year=2024)["mean_length_of_stay_days"] == 0.0


def test_outcomes_last_days_of_life_and_place_of_death(duckdb_warehouse: DuckDBEngine) -> None:
    decedents = {row["person_id"]: row for row in rows(duckdb_warehouse, "outcomes", "decedent")}
    assert set(decedents) == {"B", "D"}
    # B: 10 nights in September and 5 in October, all within 90 days of death; died in hospital.
    assert decedents["B"]["bed_days_last_90_days"] == 15
    assert decedents["B"]["died_in_usual_residence_flag"] is False
    assert decedents["D"]["bed_days_last_90_days"] == 0
    assert decedents["D"]["died_in_usual_residence_flag"] is True
    year = rows(duckdb_warehouse, "outcomes", "practice_year")
    assert _one(year, practice_code="P2", year=2024)["death_in_usual_residence_pct"] == 100.0
    assert _one(year, practice_code="P1", year=2024)["mean_bed_days_last_90_days"] == 15.0


def test_registers_prevalence_observed_and_expected(duckdb_warehouse: DuckDBEngine) -> None:
    prevalence = rows(duckdb_warehouse, "registers", "practice_prevalence")
    # Alive on 31 Dec: P1 = A; P2 = C and G. Diabetes: A (F 75-84); borough F 75-84 prevalence 1/2.
    p1 = _one(prevalence, practice_code="P1", register="diabetes")
    assert (p1["list_size"], p1["register_count"], p1["observed_prevalence_pct"]) == (1, 1, 100.0)
    assert p1["expected_register_count"] == pytest.approx(0.5)
    p2 = _one(prevalence, practice_code="P2", register="diabetes")
    assert (p2["list_size"], p2["register_count"], p2["expected_prevalence_pct"]) == (2, 0, 25.0)
    # B's COPD does not count: B died before the reporting date.
    assert all(row["register_count"] == 0 for row in prevalence if row["register"] == "copd")
    assert _one(prevalence, practice_code="P2", register="asthma")["register_count"] == 1


def test_registers_diabetes_care_processes_control_and_aims(duckdb_warehouse: DuckDBEngine) -> None:
    care = rows(duckdb_warehouse, "registers", "diabetes_care")
    assert len(care) == 1
    a = care[0]
    assert (a["hba1c_flag"], a["blood_pressure_flag"], a["cholesterol_flag"]) == (True, True, False)
    assert a["care_process_count"] == 2
    # Latest HbA1c is the hospital's 78 on 10 June (the GP's 80 was on 1 June): >= 75.
    assert (a["latest_hba1c_mmol_mol"], a["hba1c_75_plus_flag"]) == (78.0, True)
    aims = {(row["area_code"], row["aim"]): row for row in rows(duckdb_warehouse, "registers", "diabetes_aims")}
    assert aims[("borough", "hba1c_75_plus_pct")]["value_pct"] == 100.0
    assert aims[("borough", "hba1c_75_plus_pct")]["met_flag"] is False
    assert aims[("P1", "hba1c_recorded_pct")]["met_flag"] is True
    assert aims[("P1", "all_eight_care_processes_pct")]["value_pct"] == 0.0


def test_registers_duplicated_tests_within_14_days(duckdb_warehouse: DuckDBEngine) -> None:
    duplicates = rows(duckdb_warehouse, "registers", "duplicate_test")
    assert duplicates == [
        {"practice_code": "P1", "neighbourhood": "North", "month": date(2024, 6, 1), "test": "hba1c",
         "duplicate_test_count": 1}
    ]


def test_cohorts_flags_and_care_plan_share(duckdb_warehouse: DuckDBEngine) -> None:
    people = {row["person_id"]: row for row in rows(duckdb_warehouse, "cohorts", "person")}
    assert set(people) == {"A", "C", "G"}  # alive, not opted out
    a_flags = (people["A"]["care_home_flag"], people["A"]["multiple_ltc_flag"], people["A"]["shared_care_plan_flag"])
    assert a_flags == (True, True, True)
    assert (people["G"]["housebound_flag"], people["G"]["multiple_ltc_flag"]) == (True, False)
    # No risk scores yet: frailty is flagged unknown, not guessed.
    assert people["A"]["frailty_moderate_severe_flag"] is None
    summary_rows = rows(duckdb_warehouse, "cohorts", "practice_summary")
    summary = {(row["practice_code"], row["cohort"]): row for row in summary_rows}
    assert summary[("P1", "care_home")]["with_care_plan_pct"] == 100.0
    assert summary[("P2", "housebound_or_end_of_life")]["person_count"] == 1
    assert summary[("P2", "housebound_or_end_of_life")]["with_care_plan_pct"] == 0.0
    assert summary[("P1", "over_75_moderate_severe_frailty")]["data_available_flag"] is False

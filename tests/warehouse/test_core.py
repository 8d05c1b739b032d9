"""The core layer built from the hand-built borough: the interface other areas read."""

from __future__ import annotations

from datetime import date

from warehouse_borough import rows

from joinedup.warehouse.engines.duckdb import DuckDBEngine


def test_core_person_takes_demographics_from_the_gp_record_first(duckdb_warehouse: DuckDBEngine) -> None:
    people = {row["person_id"]: row for row in rows(duckdb_warehouse, "core", "person")}
    # A's hospital record is newer and says L2 (South), but the GP record is trusted first.
    assert people["A"]["lsoa_code"] == "L1"
    assert people["A"]["imd_decile"] == 2
    assert people["A"]["practice_code"] == "P1"
    assert people["A"]["neighbourhood"] == "North"
    # B's death is known only to the hospital; it still reaches the person.
    assert people["B"]["death_date"] == date(2024, 10, 15)
    assert people["E"]["neighbourhood"] == "South"
    # Core holds everyone linked, opted out or not (it feeds direct-care risk stratification too);
    # the unlinked community client waits for linkage.
    assert sorted(people) == ["A", "B", "C", "D", "E", "G"]


def test_core_encounter_drops_cancelled_and_computes_length_of_stay(duckdb_warehouse: DuckDBEngine) -> None:
    encounters = rows(duckdb_warehouse, "core", "encounter", ["encounter_id"])
    # 14 written: A's cancelled GP visit and the unlinked client's contact... the latter has none,
    # so 13 linked encounters minus 1 cancelled.
    assert len(encounters) == 12
    by_person_start = {(row["person_id"], row["start_date"], row["setting"]): row for row in encounters}
    spell = by_person_start[("B", date(2024, 9, 1), "inpatient")]
    assert spell["length_of_stay_days"] == 10
    assert spell["end_date"] == date(2024, 9, 11)
    assert by_person_start[("C", date(2024, 3, 1), "inpatient")]["length_of_stay_days"] == 0
    assert by_person_start[("A", date(2024, 1, 15), "gp")]["length_of_stay_days"] is None
    costs = (30, 150, 2000, 1500, 4000, 2500, 800, 120, 60, 200, 5, 1800)
    assert sum(row["cost_gbp"] for row in encounters) == sum(costs)


def test_core_person_month_spans_the_window_from_birth_to_death(duckdb_warehouse: DuckDBEngine) -> None:
    months = rows(duckdb_warehouse, "core", "person_month")
    per_person: dict[str, int] = {}
    for row in months:
        per_person[str(row["person_id"])] = per_person.get(str(row["person_id"]), 0) + 1
    # Window 2024-01..2024-12; B died in October, D in June.
    assert per_person == {"A": 12, "B": 10, "C": 12, "D": 6, "E": 12, "G": 12}


def test_core_diagnosis_and_observation_keep_codes_as_given(duckdb_warehouse: DuckDBEngine) -> None:
    diagnoses = rows(duckdb_warehouse, "core", "diagnosis")
    assert {(row["person_id"], row["code"], row["code_system"]) for row in diagnoses} == {
        ("A", "44054006", "SNOMED CT"),
        ("A", "38341003", "SNOMED CT"),
        ("B", "J44.9", "ICD-10"),
        ("C", "195967001", "SNOMED CT"),
        ("E", "195967001", "SNOMED CT"),
    }
    observations = rows(duckdb_warehouse, "core", "observation")
    hba1c = [row for row in observations if row["code"] == "59261-8"]
    assert hba1c == [
        {
            "person_id": "A", "code": "59261-8", "code_system": "http://loinc.org", "value_num": 78.0,
            "unit": "mmol/mol", "effective_date": date(2024, 6, 10), "category": "laboratory",
            "source": "hospital-sus",
        }
    ]

"""Features from hand-made core tables: a worked example computed by hand, and no leakage."""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl
import pytest

from joinedup.risk.features import build_features, lace_at_discharge, model_feature_names
from joinedup.risk.frailty import efi_category

from .warehouse_builder import CoreTables

INDEX = date(2024, 1, 1)


def worked_example() -> CoreTables:
    """Person w1 (worked through in docs/risk.md), a healthy w2, a dead w3 and an unborn w4."""
    core = CoreTables()
    core.add_person("w1", date(1940, 3, 1), imd=2)
    core.add_person("w2", date(1990, 6, 1), sex="male", imd=9)
    core.add_person("w3", date(1930, 1, 1))
    core.person[-1]["death_date"] = date(2023, 12, 1)
    core.add_person("w4", date(2024, 2, 1))
    # GP problem list: AF, heart failure, hypertension (Read v2), osteoporosis, dizziness; MI in ICD-10.
    core.add_diagnosis("w1", "49436004", "http://snomed.info/sct", date(2015, 5, 1))
    core.add_diagnosis("w1", "84114007", "http://snomed.info/sct", date(2019, 1, 1))
    core.add_diagnosis("w1", "G20..", "Read v2", date(2010, 1, 1))
    core.add_diagnosis("w1", "64859006", "http://snomed.info/sct", date(2020, 1, 1))
    core.add_diagnosis("w1", "404640003", "http://snomed.info/sct", date(2023, 4, 1))
    core.add_diagnosis("w1", "I21.9", "ICD-10", date(2022, 3, 1))
    # A&E: one outside the 6 months before the June admission, two inside, one on the day (not counted).
    for day in (date(2022, 11, 1), date(2023, 2, 1), date(2023, 5, 20), date(2023, 6, 10), date(2023, 11, 20)):
        core.add_encounter("w1", "ae", day)
    core.add_encounter("w1", "inpatient", date(2023, 6, 10), date(2023, 6, 15), method="emergency", diagnosis="I50.0")
    core.add_encounter("w1", "inpatient", date(2023, 11, 20), date(2023, 11, 20), method="emergency", diagnosis="J44.9")
    core.add_encounter("w1", "inpatient", date(2023, 3, 1), date(2023, 3, 3), method="elective", diagnosis="Z51.1")
    for day in (date(2023, 2, 2), date(2023, 8, 1), date(2023, 12, 1)):
        core.add_encounter("w1", "gp", day)
    core.add_encounter("w1", "outpatient", date(2023, 4, 4))
    core.add_encounter("w1", "outpatient", date(2023, 9, 9))
    core.add_encounter("w1", "social_care", date(2023, 9, 15))
    for number in range(6):
        core.add_medication("w1", f"med{number}", date(2023, 2 + number, 1))
    core.add_medication("w1", "med-old", date(2021, 1, 1))
    core.add_observation("w1", "59261-8", "http://loinc.org", 86.0, "mmol/mol", date(2022, 12, 1))
    core.add_observation("w1", "4548-4", "http://loinc.org", 7.0, "%", date(2023, 10, 1))
    # Outcome: an emergency admission two months after the index date.
    core.add_encounter("w1", "inpatient", date(2024, 3, 1), date(2024, 3, 4), method="emergency", diagnosis="I50.0")
    return core


def features_of(core: CoreTables, index: date = INDEX) -> pl.DataFrame:
    con = duckdb.connect()
    core.write(con)
    try:
        return build_features(con, index, horizon_days=365)
    finally:
        con.close()


def test_population_is_everyone_alive_and_born_before_the_index_date() -> None:
    frame = features_of(worked_example())
    assert frame["person_id"].to_list() == ["w1", "w2"]


def test_worked_example_features_match_the_hand_computation() -> None:
    row = features_of(worked_example()).row(0, named=True)
    expected = {
        "age_years": 83, "sex_female": 1, "imd_decile": 2,
        "emergency_admissions_12m": 2, "other_admissions_12m": 1,
        "bed_days_12m": 5 + 0 + 2, "days_since_emergency_admission": 42.0,
        "ae_attendances_6m": 1, "ae_attendances_12m": 4, "outpatient_attendances_12m": 2, "gp_contacts_12m": 3,
        "social_care_contacts_12m": 1, "medicines_12m": 6,
        # 7.0 % by the IFCC master equation: (7.0 - 2.15) x 10.929 = 53.0 mmol/mol; the older 86 is superseded.
        "hba1c_mmol_mol": 53.0,
        # Charlson (ICD-10 only, 1987 weights): MI 1 + CHF 1 (I50.0) + chronic pulmonary 1 (J44.9).
        "charlson_index": 3,
        # AF, heart failure, hypertension, osteoporosis, dizziness, IHD (I21), respiratory (J44),
        # polypharmacy (6 medicines), requirement for care (social care contact) = 9 → moderate.
        "efi_count": 9,
        "multimorbidity_count": 6,
        # Last discharge 2023-11-20: L 0 + A 3 + C 3 (MI, CHF, COPD) + E 1 (A&E on 2023-06-10) = 7.
        "lace_last_discharge": 7,
        "outcome": 1,
    }
    assert {key: row[key] for key in expected} == expected
    assert row["efi_category"] == efi_category(9) == "moderate"
    assert row["efi_falls"] == 0
    assert row["efi_polypharmacy"] == 1
    assert row["cc_congestive_heart_failure"] == 1


def test_healthy_person_has_zero_counts_and_no_outcome() -> None:
    row = features_of(worked_example()).row(1, named=True)
    assert row["efi_count"] == 0
    assert row["efi_category"] == "fit"
    assert row["emergency_admissions_12m"] == 0
    assert row["hba1c_mmol_mol"] is None
    assert row["outcome"] == 0


def test_lace_at_every_discharge_matches_the_worked_example() -> None:
    con = duckdb.connect()
    worked_example().write(con)
    lace = lace_at_discharge(con, discharged_before=INDEX)
    rows = {r["discharge_date"]: r for r in lace.filter(pl.col("person_id") == "w1").iter_rows(named=True)}
    june = rows[date(2023, 6, 15)]
    # L: 5 days → 4; A: emergency → 3; C: MI (2022) + CHF coded on this spell = 2; E: A&E on 2023-02-01 and
    # 2023-05-20 (2022-11-01 is more than 182 days before; the same-day attendance is the admission route).
    assert (june["length_of_stay_points"], june["acuity_points"], june["comorbidity_points"],
            june["emergency_visit_points"], june["lace"]) == (4, 3, 2, 2, 11)
    assert rows[date(2023, 3, 3)]["lace"] == 2 + 0 + 1 + 2  # elective, 2 days, MI only, 2 A&E visits
    assert rows[date(2023, 11, 20)]["lace"] == 7


@pytest.mark.parametrize("kind", ["admission", "diagnosis", "medication", "lab", "death_after"])
def test_nothing_on_or_after_the_index_date_reaches_a_feature(kind: str) -> None:
    before = features_of(worked_example())
    core = worked_example()
    if kind == "admission":
        core.add_encounter("w2", "ae", INDEX)
        core.add_encounter("w2", "inpatient", INDEX, date(2024, 1, 20), method="emergency", diagnosis="C78.0")
    elif kind == "diagnosis":
        core.add_diagnosis("w2", "52448006", "http://snomed.info/sct", INDEX)
        core.add_diagnosis("w1", "F03", "ICD-10", date(2024, 6, 1))
    elif kind == "medication":
        for number in range(8):
            core.add_medication("w2", f"new{number}", INDEX)
    elif kind == "lab":
        core.add_observation("w1", "59261-8", "http://loinc.org", 120.0, "mmol/mol", INDEX)
    else:
        core.person[1]["death_date"] = date(2024, 5, 1)
    after = features_of(core)
    names = [*model_feature_names(), "efi_category"]
    assert after.select(names).equals(before.select(names))
    if kind == "admission":
        assert after["outcome"].to_list() == [1, 1]


def test_an_event_the_day_before_the_index_date_does_count() -> None:
    core = worked_example()
    core.add_encounter("w2", "inpatient", date(2023, 12, 31), date(2023, 12, 31), method="emergency", diagnosis="I50.0")
    row = features_of(core).row(1, named=True)
    assert row["emergency_admissions_12m"] == 1
    assert row["cc_congestive_heart_failure"] == 1

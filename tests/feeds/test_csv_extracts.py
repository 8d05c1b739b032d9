"""CSV / JSONL extracts through their layouts: SUS merges with ADT, telehealth news, social care packages."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import orjson
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from joinedup.feeds import ingest_paths
from joinedup.feeds.csv_extracts.layouts import all_layouts
from joinedup.store.tables import Encounter

from .builders import NHS_VALID, adt, count_rows, ingest_hl7

APC_COLUMNS = [
    "SUSSPELLID", "EPIKEY", "LOPATID", "NEWNHSNO", "NHSNOIND", "DOB", "SEX", "ETHNOS", "POSTCODE", "LSOA11", "GPPRAC",
    "PROCODE3", "SITETRET", "ADMIDATE", "ADMIMETH", "ADMISORC", "CLASSPAT", "AEKEY", "EPISTART", "EPIEND", "DISDATE",
    "DISMETH", "DISDEST", "SPELDUR", "MAINSPEF", "TRETSPEF", "DIAG_01", "DIAG_02", "DIAG_03", "DIAG_04", "DIAG_05",
    "DIAG_06", "OPERTN_01", "OPERTN_02", "OPERTN_03", "OPERTN_04", "OPDATE_01", "SUSHRG", "TARIFF_GBP",
]


def _apc_row(**values: str) -> dict[str, str]:
    row = dict.fromkeys(APC_COLUMNS, "")
    row.update(SUSSPELLID="SP0001", EPIKEY="EP1", LOPATID="M0001", NEWNHSNO=NHS_VALID, DOB="1940-01-15", SEX="2",
               PROCODE3="RZZ", ADMIDATE="2024-01-10", ADMIMETH="21", DISDATE="2024-01-13", DISDEST="19",
               SPELDUR="3", MAINSPEF="300", DIAG_01="I500", DIAG_02="J441", OPERTN_01="-", TARIFF_GBP="2100.00")
    row.update(values)
    return row


def _write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buffer.getvalue())


def test_every_layout_file_is_valid() -> None:
    names = {layout.name for layout in all_layouts()}
    assert {"sus-apc", "sus-ecds", "sus-op", "community-contacts", "social-care-assessments", "social-care-packages",
            "telehealth-readings", "synthea-patients", "synthea-encounters"} <= names


def test_sus_spell_and_adt_spell_are_one_encounter(session: Session, feed_dir: Path) -> None:
    ingest_hl7(session, adt("A01", "C1", "20240110083000", admit="20240110083000"),
               adt("A03", "C3", "20240113160000", admit="20240110083000", discharge="20240113160000"))
    _write_csv(feed_dir / "hospital-sus" / "apc-2024-01.csv", [_apc_row()])
    summary = ingest_paths(session, [feed_dir])
    assert (summary.accepted, summary.updated) == (1, 1)
    assert count_rows(session, "encounter") == 1
    spell = session.execute(select(Encounter.__table__)).mappings().one()
    # ADT's exact times stay; SUS adds the diagnosis, method and cost.
    assert spell["start_at"] == datetime(2024, 1, 10, 8, 30, tzinfo=UTC)
    assert spell["end_at"] == datetime(2024, 1, 13, 16, 0, tzinfo=UTC)
    assert (spell["primary_diagnosis_code"], spell["admission_method"], float(spell["cost_gbp"])) == (
        "I500", "emergency", 2100.0)
    diagnoses = session.execute(text("SELECT code, position, encounter_id FROM condition ORDER BY position")).all()
    assert [tuple(row) for row in diagnoses] == [("I500", 1, spell["encounter_id"]), ("J441", 2, spell["encounter_id"])]
    assert count_rows(session, "source_patient") == 1


def test_sus_faults_quarantined_by_column(session: Session, feed_dir: Path) -> None:
    rows = [
        _apc_row(SUSSPELLID="S1"),
        _apc_row(SUSSPELLID="S2", ADMIMETH="77"),
        _apc_row(SUSSPELLID="S3", SPELDUR="-2"),
        _apc_row(SUSSPELLID="S4", ADMIDATE="2024-02-30"),
        _apc_row(SUSSPELLID="S5", DIAG_01="not-a-code"),
        _apc_row(SUSSPELLID="S6", NEWNHSNO="1234"),
    ]
    _write_csv(feed_dir / "hospital-sus" / "apc-2024-01.csv", rows)
    summary = ingest_paths(session, [feed_dir])
    assert summary.accepted == 2
    assert dict(summary.quarantined) == {"unknown_code": 2, "impossible_value": 1, "malformed_date": 1}
    reasons = sorted(row[0] for row in session.execute(text("SELECT reason FROM quarantine_item")))
    assert reasons == [
        "ADMIDATE: not a valid datetime",
        "ADMIMETH: not a code this layout knows",
        "DIAG_01: not a code of the expected form",
        "SPELDUR: a value outside what is possible",
    ]
    # The wrong-length NHS number is counted, the row accepted, and the valid number given before is kept.
    assert session.execute(text("SELECT nhs_number FROM source_patient")).scalar_one() == NHS_VALID
    assert dict(summary.nhs_number_flags) == {"nhs_number_wrong_length": 1}


def test_telehealth_readings_write_news_and_refuse_impossible_values(session: Session, feed_dir: Path) -> None:
    readings = [
        {"reading_id": "R1", "device_patient_id": "TH000001", "nhs_number": NHS_VALID, "code": "29463-7",
         "code_system": "http://loinc.org", "display": "Body weight", "value": 81.4, "unit": "kg",
         "measured_at": "2024-01-10T07:00:00Z"},
        {"reading_id": "R2", "device_patient_id": "TH000001", "nhs_number": NHS_VALID, "code": "29463-7",
         "code_system": "http://loinc.org", "display": "Body weight", "value": 0, "unit": "kg",
         "measured_at": "2024-01-11T07:00:00Z"},
    ]
    path = feed_dir / "telehealth" / "readings-2024-01.jsonl"
    path.parent.mkdir()
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in readings) + b"\n")
    summary = ingest_paths(session, [feed_dir])
    assert (summary.accepted, dict(summary.quarantined)) == (1, {"impossible_value": 1})
    assert tuple(session.execute(text("SELECT code, value_num, category FROM observation")).one()) == (
        "29463-7", 81.4, "telehealth")
    event = session.execute(text("SELECT kind, payload FROM outbox_event")).one()
    payload = event[1] if isinstance(event[1], dict) else orjson.loads(event[1])
    assert (event[0], payload["value"], payload["code"]) == ("telehealth.reading", 81.4, "29463-7")


def test_care_package_start_then_end_is_one_finished_encounter(session: Session, feed_dir: Path) -> None:
    base = {"package_id": "PK1", "client_id": "SC0000001", "nhs_number": "", "forename": "Anna", "surname": "Tester",
            "date_of_birth": "1940-01-15", "gender": "F", "postcode": "ZZ1 1ZZ", "service_type": "home_care",
            "start_date": "2024-01-02", "weekly_hours": "10", "weekly_cost_gbp": "280"}
    _write_csv(feed_dir / "social-care" / "packages-2024-01.csv",
               [{**base, "record_status": "started", "end_date": "", "end_reason": ""}])
    _write_csv(feed_dir / "social-care" / "packages-2024-03.csv",
               [{**base, "record_status": "ended", "end_date": "2024-03-20", "end_reason": "no_longer_needed"}])
    summary = ingest_paths(session, [feed_dir])
    assert (summary.accepted, summary.updated) == (2, 1)
    row = session.execute(text("SELECT setting, status, service_code, discharge_destination FROM encounter")).one()
    assert tuple(row) == ("social_care", "finished", "home_care", "no_longer_needed")
    assert session.execute(text("SELECT nhs_number_status FROM source_patient")).scalar_one() == "missing"


def test_unknown_csv_is_quarantined_whole_and_truth_is_never_read(session: Session, feed_dir: Path) -> None:
    _write_csv(feed_dir / "mystery" / "x.csv", [{"a": "1", "b": "2"}])
    _write_csv(feed_dir / "truth" / "persons.csv", [{"person_id": "1"}])
    _write_csv(feed_dir / "national-data-opt-out" / "cleaned-list-2024-01-01.csv", [{"nhs_number": NHS_VALID}])
    summary = ingest_paths(session, [feed_dir])
    assert (summary.read, dict(summary.quarantined)) == (1, {"unknown_layout": 1})
    assert summary.files_read == 1

"""FHIR R4 bundles and NDJSON end to end on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import orjson
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from joinedup.feeds import ingest_paths
from joinedup.store.tables import Observation, SourcePatient

from .builders import NHS_VALID, count_rows, patient_resource, transaction

SNOMED = "http://snomed.info/sct"
REF = {"reference": "urn:uuid:p1"}


def _day_bundle() -> bytes:
    encounter = {"resourceType": "Encounter", "id": "e1", "status": "finished", "class": {"code": "AMB"},
                 "type": [{"coding": [{"system": SNOMED, "code": "185347001", "display": "Face to face"}]}],
                 "period": {"start": "2024-01-10T09:00:00Z", "end": "2024-01-10T09:15:00Z"},
                 "serviceProvider": {"identifier": {"value": "Z99001"}}, "subject": REF}
    condition = {"resourceType": "Condition", "id": "c1", "subject": REF, "encounter": {"reference": "urn:uuid:e1"},
                 "code": {"coding": [{"system": SNOMED, "code": "38341003", "display": "Hypertension"}]},
                 "category": [{"coding": [{"code": "problem-list-item"}]}],
                 "clinicalStatus": {"coding": [{"code": "active"}]}, "onsetDateTime": "2024-01-10"}
    blood_pressure = {
        "resourceType": "Observation", "id": "o1", "status": "final", "subject": REF,
        "category": [{"coding": [{"code": "vital-signs"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}, {"system": SNOMED, "code": "75367002"}]},
        "effectiveDateTime": "2024-01-10T09:05:00Z",
        "component": [
            {"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
             "valueQuantity": {"value": 152, "unit": "mm[Hg]"}},
            {"code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]},
             "valueQuantity": {"value": 94, "unit": "mm[Hg]"}},
        ],
    }
    medication = {"resourceType": "MedicationRequest", "id": "m1", "status": "active", "intent": "order",
                  "subject": REF, "authoredOn": "2024-01-10",
                  "medicationCodeableConcept": {"coding": [{"system": "https://dmd.nhs.uk", "code": "318420003",
                                                            "display": "Amlodipine 5mg tablets"}]}}
    allergy = {"resourceType": "AllergyIntolerance", "id": "a1", "patient": REF,
               "code": {"coding": [{"system": SNOMED, "code": "764146007", "display": "Penicillin"}]}}
    care_plan = {"resourceType": "CarePlan", "id": "cp1", "status": "active", "intent": "plan", "subject": REF}
    return transaction("b-2024-01-10", "2024-01-10T18:00:00Z", patient_resource("p1"), encounter, condition,
                       blood_pressure, medication, allergy, care_plan)


def test_daily_bundle_lands_in_every_table(session: Session, feed_dir: Path) -> None:
    daily = feed_dir / "gp" / "daily"
    daily.mkdir(parents=True)
    (daily / "2024-01-10.ndjson").write_bytes(_day_bundle() + b"\n")
    summary = ingest_paths(session, [feed_dir])
    assert (summary.read, summary.accepted, summary.quarantined_count) == (1, 1, 0)
    patient = session.execute(select(SourcePatient.__table__)).mappings().one()
    assert (patient["source"], patient["local_id"], patient["nhs_number"]) == ("gp", "p1", NHS_VALID)
    assert (patient["birth_date"], patient["registered_practice_code"]) == (date(1940, 1, 15), "Z99001")
    encounter = session.execute(text("SELECT encounter_id, setting, org_code, service_code FROM encounter")).one()
    assert tuple(encounter[1:]) == ("gp", "Z99001", "185347001")
    condition = session.execute(text("SELECT code, code_system, encounter_id, category FROM condition")).one()
    assert tuple(condition) == ("38341003", "snomed", encounter[0], "problem-list-item")
    observations = session.execute(
        select(Observation.code, Observation.code_system, Observation.value_num).order_by(Observation.code)
    ).all()
    # The panel (SNOMED coding preferred) and its two components, values as sent.
    assert [tuple(row) for row in observations] == [
        ("75367002", "snomed", None), ("8462-4", "loinc", 94.0), ("8480-6", "loinc", 152.0)
    ]
    assert tuple(session.execute(text("SELECT code, code_system FROM medication")).one()) == ("318420003", "dmd")
    assert session.execute(text("SELECT code FROM allergy")).scalar_one() == "764146007"
    assert session.execute(text("SELECT resource_type FROM care_document")).scalar_one() == "CarePlan"


def _patient_day(patient: str, day: str, *, weight: float = 71.5) -> bytes:
    """One patient's transaction Bundle of a day, as the synthetic GP daily NDJSON files carry it."""
    subject = {"reference": f"Patient/{patient}"}
    encounter = {"resourceType": "Encounter", "id": f"e-{patient}-{day}", "status": "finished",
                 "class": {"code": "AMB"}, "subject": subject,
                 "type": [{"coding": [{"system": SNOMED, "code": "185347001", "display": "Face to face"}]}],
                 "period": {"start": f"{day}T09:00:00Z", "end": f"{day}T09:15:00Z"},
                 "serviceProvider": {"identifier": {"value": "Z99001"}}}
    weight_observation = {"resourceType": "Observation", "id": f"o-{patient}-{day}", "status": "final",
                          "subject": subject, "category": [{"coding": [{"code": "vital-signs"}]}],
                          "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
                          "valueQuantity": {"value": weight, "unit": "kg"}, "effectiveDateTime": f"{day}T09:05:00Z"}
    return transaction(f"b-{patient}-{day}", f"{day}T23:59:59Z", encounter, weight_observation) + b"\n"


def test_a_bad_patient_bundle_costs_only_that_patients_day(session: Session, feed_dir: Path) -> None:
    daily = feed_dir / "gp" / "daily"
    daily.mkdir(parents=True)
    baseline = feed_dir / "gp" / "baseline"
    baseline.mkdir(parents=True)
    patients = ("p1", "p2", "p3")
    (baseline / "Patient.ndjson").write_bytes(b"".join(orjson.dumps(patient_resource(p)) + b"\n" for p in patients))
    (daily / "2024-01-10.ndjson").write_bytes(
        _patient_day("p1", "2024-01-10") + _patient_day("p2", "2024-01-10", weight=0) + _patient_day("p3", "2024-01-10")
    )
    first = ingest_paths(session, [feed_dir])
    assert (first.read, first.accepted, first.quarantined_count) == (6, 5, 1)  # 3 patients, 3 Bundles
    quarantined = session.execute(text("SELECT file_path, position, reason_code FROM quarantine_item")).one()
    assert (Path(quarantined[0]).name, quarantined[1], quarantined[2]) == ("2024-01-10.ndjson", "2", "impossible_value")
    assert count_rows(session, "encounter") == 2

    # The next day's file is picked up by the next run; the finished day is not read again.
    (daily / "2024-01-11.ndjson").write_bytes(_patient_day("p2", "2024-01-11"))
    second = ingest_paths(session, [feed_dir])
    assert (second.read, second.accepted, second.files_read) == (1, 1, 1)
    assert count_rows(session, "encounter") == 3


def test_ndjson_condition_before_its_patient_links_up(session: Session, feed_dir: Path) -> None:
    baseline = feed_dir / "gp" / "baseline"
    baseline.mkdir(parents=True)
    condition = {"resourceType": "Condition", "id": "c9", "subject": {"reference": "Patient/p9"},
                 "code": {"coding": [{"system": SNOMED, "code": "73211009"}]}}
    # Files are taken in name order: Condition.ndjson before Patient.ndjson.
    (baseline / "Condition.ndjson").write_bytes(orjson.dumps(condition) + b"\n")
    (baseline / "Patient.ndjson").write_bytes(orjson.dumps(patient_resource("p9")) + b"\n")
    summary = ingest_paths(session, [feed_dir])
    assert summary.accepted == 2
    row = session.execute(text(
        "SELECT sp.local_id, sp.nhs_number FROM condition c JOIN source_patient sp USING (source_patient_id)"
    )).one()
    assert tuple(row) == ("p9", NHS_VALID)
    assert count_rows(session, "source_patient") == 1


def test_later_patient_update_wins_and_a_late_older_one_does_not(session: Session, tmp_path: Path) -> None:
    folder = tmp_path / "gp"
    folder.mkdir()
    for name, month, postcode in (("1", "01", "AA1 1AA"), ("3", "03", "CC3 3CC"), ("2", "02", "BB2 2BB")):
        bundle = transaction(f"b{name}", f"2024-{month}-10T18:00:00Z", patient_resource("p1", postcode=postcode))
        (folder / f"{name}.json").write_bytes(bundle)
    summary = ingest_paths(session, [folder])
    assert (summary.accepted, summary.updated) == (3, 2)
    assert session.execute(text("SELECT postcode FROM source_patient")).scalar_one() == "CC3 3CC"


def test_bundle_with_a_bad_entry_is_quarantined_whole_with_every_problem(session: Session, tmp_path: Path) -> None:
    bad_observation = {"resourceType": "Observation", "id": "o2", "subject": REF,
                       "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
                       "valueQuantity": {"value": 0, "unit": "kg"}, "effectiveDateTime": "2024-13-40"}
    path = tmp_path / "gp" / "bad.json"
    path.parent.mkdir()
    path.write_bytes(transaction("b9", "2024-01-10T18:00:00Z", patient_resource("p1"), bad_observation))
    summary = ingest_paths(session, [path])
    assert dict(summary.quarantined) == {"malformed_date": 1}
    reason = session.execute(text("SELECT reason FROM quarantine_item")).scalar_one()
    assert reason == (
        "Bundle.entry[1].resource(Observation).effective[x]: not a valid date-time; "
        "Bundle.entry[1].resource(Observation).valueQuantity: a value outside what any body gives"
    )
    assert count_rows(session, "source_patient") == 0


def test_the_test_bundle_is_valid_fhir_r4() -> None:
    # The hot path maps plain dicts; validation with fhir.resources belongs at the edges and here,
    # to prove the shapes these tests feed in are real R4 (R4B models: R5 ones reject R4 Encounters).
    from fhir.resources.R4B.bundle import Bundle

    bundle = Bundle.model_validate(orjson.loads(_day_bundle()))
    assert [entry.resource.get_resource_type() for entry in bundle.entry] == [
        "Patient", "Encounter", "Condition", "Observation", "MedicationRequest", "AllergyIntolerance", "CarePlan"
    ]

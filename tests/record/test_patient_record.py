"""The shared care record summary, on SQLite and PostgreSQL, against the hand-worked record in seed.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup.errors import AccessDenied, NotFound
from joinedup.record import PORTAL_SECTIONS, PatientRecord, patient_record, trend_direction
from joinedup.store.tables.governance import AuditEntry

from .seed import ANN, BOB, PRACTICE_ANN, PRACTICE_OTHER, SAM, TRUST, SeededRecord, actor, seed_record


@pytest.fixture
def seeded(session: Session) -> SeededRecord:
    return seed_record(session)


def _audit(session: Session, person_id: str) -> list[tuple[str, str, str]]:
    return [
        (row.resource_type, row.action, row.outcome)
        for row in session.scalars(
            select(AuditEntry).where(AuditEntry.person_id == person_id).order_by(AuditEntry.sequence)
        )
    ]


def test_gp_sees_the_whole_worked_record(session: Session, seeded: SeededRecord) -> None:
    """One read by Ann's GP, checked section by section against seed.py (one store per engine)."""
    record = patient_record(session, actor=actor("gp", org=PRACTICE_ANN), person_id=ANN)
    _check_summary(record)
    _check_results(record)
    _check_timeline_location_and_coordination(record, seeded)
    _check_every_section_read_is_audited(session)


def _check_summary(record: PatientRecord) -> None:
    assert record.withheld == {}
    demographics = record.demographics
    assert demographics is not None
    # The GP record leads: its postcode, not the hospital's older one.
    assert (demographics.given_name, demographics.family_name, demographics.postcode) == ("Ann", "Example", "LS1 4AP")
    assert demographics.registered_practice_name == "Riverside Surgery"
    assert sorted(view.source for view in demographics.history) == ["community", "gp", "hospital-pas", "telehealth"]

    # Problems: one per code, GP may see the sealed one; resolved and encounter diagnoses left out.
    assert [(p.display, p.source) for p in record.problems] == [
        ("Essential hypertension", "gp"),
        ("Type 2 diabetes mellitus", "gp, hospital-pas"),
        ("Sexual health clinic attendance", "gp"),
    ]
    assert record.problems[1].onset_date.isoformat() == "2015-06-01"

    # Medicines: the same dm+d code from two sources is ONE line with both sources.
    assert [(m.display, m.source, m.dosage_differs) for m in record.medications] == [
        ("Amlodipine 5mg tablets", "community, gp", False),
        ("Metformin 500mg tablets", "gp, hospital-pas", True),
    ]
    assert record.medications[1].dosage_text == "500mg three times a day"

    [allergy] = record.allergies
    assert (allergy.criticality, allergy.source, allergy.reaction) == ("high", "gp, hospital-pas", "Anaphylaxis")


def _check_results(record: PatientRecord) -> None:
    trends = {trend.display: trend for trend in record.results}

    hba1c = trends["HbA1c"]
    assert [p.value_num for p in hba1c.points] == [48.0, 52.0, 58.0]
    assert (hba1c.direction, hba1c.latest.value_num, hba1c.unit) == ("rising", 58.0, "mmol/mol")
    assert trends["Systolic blood pressure"].direction == "steady"
    weight = trends["Body weight"]
    # 15 readings, the last 12 kept: 80.3 .. 81.4.
    assert len(weight.points) == 12
    assert (weight.points[0].value_num, weight.points[-1].value_num) == (80.3, 81.4)
    assert weight.source == "telehealth"
    # Newest first: the weight reading of yesterday leads.
    assert record.results[0].display == "Body weight"


def _check_timeline_location_and_coordination(record: PatientRecord, seeded: SeededRecord) -> None:
    assert [(e.setting, e.source) for e in record.timeline] == [
        ("inpatient", "hospital-pas"),
        ("ae", "hospital-pas"),
        ("community", "community"),
        ("gp", "gp"),
    ]
    assert record.timeline[0].org_name == "Borough General Hospital"
    location = record.location
    assert location is not None
    assert (location.place, location.ward, location.org_name) == ("admitted", "Ward 7", "Borough General Hospital")
    assert location.since_at == seeded.now - timedelta(days=2)

    assert [r.reason for r in record.referrals] == ["Two falls in a month"]
    assert [(p.pathway_id, p.current_step_id) for p in record.pathways] == [("falls-prevention", "home-assessment")]
    assert record.care_plan is not None
    assert record.care_plan.title == "Staying well at home"
    assert [f.kind for f in record.flags] == ["admitted"]
    assert record.risk is not None
    assert (record.risk.band, record.risk.efi_category) == ("high", "moderate")
    assert record.has_passport is True
    assert [(m.kind, m.org_code) for m in record.care_team] == [("registered_practice", PRACTICE_ANN)]


def _check_every_section_read_is_audited(session: Session) -> None:
    entries = _audit(session, ANN)
    assert {kind for kind, _, _ in entries} == {
        "patient", "condition", "medication", "allergy", "observation", "encounter", "booking", "referral",
        "care_plan", "passport", "risk_score",
    }
    assert {(action, outcome) for _, action, outcome in entries} == {("read", "allowed")}


def test_practice_nurse_does_not_see_sealed_items(session: Session, seeded: SeededRecord) -> None:
    record = patient_record(session, actor=actor("practice_nurse", org=PRACTICE_ANN), person_id=ANN)
    assert [p.display for p in record.problems] == ["Essential hypertension", "Type 2 diabetes mellitus"]


def test_practice_administrator_sees_demographics_and_appointment_fields_only(
    session: Session, seeded: SeededRecord
) -> None:
    record = patient_record(session, actor=actor("practice_administrator", org=PRACTICE_ANN), person_id=ANN)

    assert record.demographics is not None
    assert record.demographics.family_name == "Example"
    assert record.problems == ()
    assert "problems" in record.withheld
    assert record.medications == ()
    assert "medications" in record.withheld
    first = record.timeline[0]
    assert (first.setting, first.location) == ("inpatient", "Ward 7")
    # Not an appointment field: blanked.
    assert first.description is None
    assert first.admission_method is None
    denied = [entry for entry in _audit(session, ANN) if entry[2] == "denied"]
    assert ("condition", "read", "denied") in denied


def test_unrelated_gp_is_refused_and_the_refusal_audited(session: Session, seeded: SeededRecord) -> None:
    with pytest.raises(AccessDenied, match="no care relationship"):
        patient_record(session, actor=actor("gp", org=PRACTICE_OTHER), person_id=ANN)
    assert _audit(session, ANN) == [("patient", "read", "denied")]


def test_sensitive_person_is_not_found_for_a_stranger(session: Session, seeded: SeededRecord) -> None:
    with pytest.raises(NotFound):
        patient_record(session, actor=actor("gp", org=PRACTICE_ANN), person_id=SAM)
    assert _audit(session, SAM) == [("patient", "read", "not_found")]


def test_consultant_reads_through_the_admission(session: Session, seeded: SeededRecord) -> None:
    record = patient_record(session, actor=actor("consultant", org=TRUST), person_id=ANN)
    assert len(record.medications) == 2
    assert record.location is not None
    assert record.location.place == "admitted"


def test_location_from_coordination_wins(session: Session, seeded: SeededRecord) -> None:
    record = patient_record(session, actor=actor("gp", org=PRACTICE_OTHER), person_id=BOB)
    assert record.location is not None
    assert (record.location.place, record.location.org_name) == ("ae", "Borough General Hospital")
    assert record.location.since_at == seeded.now - timedelta(hours=3)


def test_patient_portal_sections(session: Session, seeded: SeededRecord) -> None:
    record = patient_record(session, actor=actor("patient", person_id=ANN), person_id=ANN, sections=PORTAL_SECTIONS)
    assert record.withheld == {}
    assert record.shown == PORTAL_SECTIONS
    assert len(record.medications) == 2
    assert record.care_plan is not None
    assert record.referrals == ()
    # The patient reading somebody else is refused.
    with pytest.raises(AccessDenied):
        patient_record(session, actor=actor("patient", person_id=ANN), person_id=BOB, sections=PORTAL_SECTIONS)


def test_unknown_person_is_not_found(session: Session, seeded: SeededRecord) -> None:
    with pytest.raises(NotFound):
        patient_record(session, actor=actor("gp", org=PRACTICE_ANN), person_id="per-nobody")


@pytest.mark.parametrize(
    ("values", "expected"),
    [([1.0, 2.0], "rising"), ([2.0, 1.0], "falling"), ([100.0, 104.0], "steady"), ([5.0], "single"),
     ([None], "text"), ([100.0, None, 94.0], "falling")],
)
def test_trend_direction(values: list[float | None], expected: str) -> None:
    assert trend_direction(values) == expected

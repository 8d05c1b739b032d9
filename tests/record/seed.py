"""A hand-built shared care record with answers worked out by hand (used by record and web tests).

People (person ids fixed):

``per-ann``  Ann Example, born 1948-03-02, registered at P00001 (Riverside Surgery). Three sources:
    gp (local G-ANN, NHS 9434765919, postcode LS1 4AP), hospital-pas (MRN M-ANN, postcode LS2 9ZZ,
    older) and community (C-ANN, no NHS number). Worked answers:

    - problems (active problem-list items, one per code): Type 2 diabetes (44054006; gp AND
      hospital-pas, so ONE problem with two sources), Essential hypertension (59621000; gp).
      Left out: asthma (resolved: abatement date), a hospital encounter diagnosis (not a
      problem-list item). Sealed: "Sexual health clinic attendance" (gp, sealed) shown only to a
      role whose decision allows sealed items (the GP, not the practice nurse).
    - medications (active, one per dm+d code): Amlodipine 5mg (gp + community, same dose: one
      item, two sources, dosage_differs False); Metformin 500mg (gp "500mg twice a day",
      hospital-pas "500mg three times a day": one item, two sources, dosage_differs True).
      Left out: Simvastatin (status completed).
    - allergies: Penicillin (gp low + hospital-pas high: one item, criticality high, two sources).
    - results: HbA1c 48, 52, 58 mmol/mol (rising; latest 58); systolic BP 150, 140, 139 (steady:
      139 is within 5 % of 140); weight from telehealth, 15 daily readings 80.0 .. 81.4 of which
      the last 12 are kept (80.3 .. 81.4; steady: 81.4 is within 5 % of 81.3).
    - timeline: 4 encounters, newest first: inpatient at RXX (Ward 7, in progress, started
      2 days ago), A&E at RXX (finished, 10 days ago), community visit (30 days ago), GP
      consultation at P00001 (60 days ago).
    - location: no coordination location row, so from the open admission: admitted, Ward 7,
      Borough General Hospital, since 2 days ago.
    - coordination: one open referral (falls), one closed referral (left out), one active
      pathway (falls-prevention), care plan "Staying well at home", one open board flag
      (admitted) and one cleared (left out); risk score band high; a passport.

``per-bob``  Bob Other, registered at P00002 (Hilltop): a GP at P00001 has no relationship.
    Location row from coordination: in A&E at RXX since 3 hours ago.
``per-sam``  Sam Sensitive, registered at P00002, sensitive (restricted) record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup.model import Actor
from joinedup.store.tables import (
    Allergy,
    Condition,
    Encounter,
    FeedMessage,
    IngestedFile,
    Medication,
    Observation,
    Organisation,
    OutboxCursor,
    OutboxEvent,
    Person,
    QuarantineItem,
    SourcePatient,
    utc_now,
)
from joinedup.store.tables.coordination import (
    BoardFlag,
    CarePlan,
    PathwayInstance,
    PatientPassport,
    PersonLocation,
    Referral,
)
from joinedup.store.tables.governance import Team
from joinedup.store.tables.risk import RiskScore

ANN = "per-ann"
BOB = "per-bob"
SAM = "per-sam"
ANN_NHS = "9434765919"
BOB_NHS = "9876543210"
SAM_NHS = "9449306621"
PRACTICE_ANN = "P00001"
PRACTICE_OTHER = "P00002"
TRUST = "RXX"


@dataclass(frozen=True)
class SeededRecord:
    """What the seed made, for assertions."""

    now: datetime
    ann_gp_patient_id: int
    admission_id: int


def actor(role: str, *, org: str | None = None, person_id: str | None = None, teams: tuple[str, ...] = ()) -> Actor:
    """An actor as governance would load it (no stored user needed for record tests)."""
    return Actor(
        user_id=f"user-{role}-{org or person_id or 'none'}",
        username=f"{role}.{org or 'x'}",
        role=role,
        org_code=org,
        team_ids=teams,
        person_id=person_id,
    )


def _source_patient(session: Session, person_id: str, source: str, local_id: str, **values: object) -> SourcePatient:
    patient = SourcePatient(source=source, local_id=local_id, person_id=person_id, **values)
    session.add(patient)
    session.flush()
    return patient


def _item(table: type, patient: SourcePatient, record_id: str, **values: object) -> None:
    row = table(
        source=patient.source, source_record_id=record_id, source_patient_id=patient.source_patient_id, **values
    )
    session = Session.object_session(patient)
    assert session is not None
    session.add(row)


def seed_record(session: Session) -> SeededRecord:
    """Write the people above into the store (flushes; the caller commits or rolls back)."""
    now = utc_now().replace(microsecond=0)
    session.add_all(
        [
            Organisation(org_code=PRACTICE_ANN, name="Riverside Surgery", kind="gp_practice", neighbourhood="North"),
            Organisation(
                org_code=PRACTICE_OTHER, name="Hilltop Medical Centre", kind="gp_practice", neighbourhood="South"
            ),
            Organisation(org_code=TRUST, name="Borough General Hospital", kind="acute_trust"),
            Person(person_id=ANN, status="active"),
            Person(person_id=BOB, status="active"),
            Person(person_id=SAM, status="active"),
            Team(team_id="team-falls", name="Falls prevention team", org_code="CMM", kind="care_team"),
        ]
    )
    session.flush()
    ann_gp = _source_patient(
        session, ANN, "gp", "G-ANN", nhs_number=ANN_NHS, nhs_number_given=ANN_NHS, nhs_number_status="valid",
        given_name="Ann", family_name="Example", birth_date=date(1948, 3, 2), sex="female", postcode="LS1 4AP",
        address_line="1 River Street", phone="0113 496 0000", registered_practice_code=PRACTICE_ANN,
        source_updated_at=now - timedelta(days=5), link_method="nhs_number",
    )
    ann_pas = _source_patient(
        session, ANN, "hospital-pas", "M-ANN", nhs_number=ANN_NHS, nhs_number_given=ANN_NHS,
        nhs_number_status="valid", given_name="Ann", family_name="Example", birth_date=date(1948, 3, 2),
        sex="female", postcode="LS2 9ZZ", source_updated_at=now - timedelta(days=400), link_method="nhs_number",
    )
    ann_community = _source_patient(
        session, ANN, "community", "C-ANN", nhs_number_status="missing", given_name="Ann", family_name="Example",
        birth_date=date(1948, 3, 2), sex="female", postcode="LS1 4AP", link_method="probabilistic",
    )
    ann_telehealth = _source_patient(session, ANN, "telehealth", "T-ANN", nhs_number=ANN_NHS, nhs_number_status="valid")
    bob_gp = _source_patient(
        session, BOB, "gp", "G-BOB", nhs_number=BOB_NHS, nhs_number_status="valid", given_name="Bob",
        family_name="Other", birth_date=date(1960, 7, 1), sex="male", registered_practice_code=PRACTICE_OTHER,
    )
    _source_patient(
        session, SAM, "gp", "G-SAM", nhs_number=SAM_NHS, nhs_number_status="valid", given_name="Sam",
        family_name="Sensitive", birth_date=date(1990, 1, 1), sex="other", registered_practice_code=PRACTICE_OTHER,
        sensitive_flag=True,
    )

    # Encounters: one per setting, newest is an admission in progress.
    admission = Encounter(
        source="hospital-pas", source_record_id="SPELL-1", source_patient_id=ann_pas.source_patient_id,
        setting="inpatient", class_code="IMP", admission_method="emergency", status="in-progress",
        start_at=now - timedelta(days=2), org_code=TRUST, location="Ward 7", description="Emergency admission",
    )
    session.add(admission)
    _item(Encounter, ann_pas, "ATT-1", setting="ae", class_code="EMER", status="finished",
          start_at=now - timedelta(days=10), end_at=now - timedelta(days=10) + timedelta(hours=4), org_code=TRUST,
          description="A&E attendance", primary_diagnosis_code="W19", primary_diagnosis_code_system="ICD-10")
    _item(Encounter, ann_community, "VISIT-1", setting="community", class_code="HH", status="finished",
          start_at=now - timedelta(days=30), org_code="CMM", description="District nurse visit")
    _item(Encounter, ann_gp, "CONS-1", setting="gp", class_code="AMB", status="finished",
          start_at=now - timedelta(days=60), org_code=PRACTICE_ANN, description="GP consultation")
    _item(Encounter, bob_gp, "CONS-B", setting="gp", status="finished", start_at=now - timedelta(days=3),
          org_code=PRACTICE_OTHER)

    # Problems.
    _item(Condition, ann_gp, "PROB-DM", code="44054006", code_system="SNOMED", display="Type 2 diabetes mellitus",
          onset_date=date(2015, 6, 1))
    _item(Condition, ann_pas, "PROB-DM-H", code="44054006", code_system="SNOMED",
          display="Type 2 diabetes mellitus", onset_date=date(2016, 1, 1))
    _item(Condition, ann_gp, "PROB-HT", code="59621000", code_system="SNOMED", display="Essential hypertension",
          onset_date=date(2010, 2, 1))
    _item(Condition, ann_gp, "PROB-ASTHMA", code="195967001", code_system="SNOMED", display="Asthma",
          onset_date=date(1990, 1, 1), abatement_date=date(2000, 1, 1), clinical_status="resolved")
    _item(Condition, ann_pas, "DIAG-1", code="S72.0", code_system="ICD-10", display="Fracture of neck of femur",
          category="encounter-diagnosis", position=1)
    _item(Condition, ann_gp, "PROB-SEALED", code="0000001", code_system="SNOMED",
          display="Sexual health clinic attendance", onset_date=date(2020, 1, 1), sealed_flag=True)

    # Medicines.
    _item(Medication, ann_gp, "MED-AML-G", code="319283006", code_system="dm+d", display="Amlodipine 5mg tablets",
          dosage_text="5mg once a day", authored_on=date(2025, 1, 10))
    _item(Medication, ann_community, "MED-AML-C", code="319283006", code_system="dm+d",
          display="Amlodipine 5mg tablets", dosage_text="5mg  once a day", authored_on=date(2025, 3, 1))
    _item(Medication, ann_gp, "MED-MET-G", code="325278007", code_system="dm+d",
          display="Metformin 500mg tablets", dosage_text="500mg twice a day", authored_on=date(2025, 2, 1))
    _item(Medication, ann_pas, "MED-MET-H", code="325278007", code_system="dm+d",
          display="Metformin 500mg tablets", dosage_text="500mg three times a day", authored_on=date(2025, 6, 1))
    _item(Medication, ann_gp, "MED-SIM", code="320000009", code_system="dm+d", display="Simvastatin 40mg tablets",
          status="completed", authored_on=date(2020, 1, 1))

    # Allergies.
    _item(Allergy, ann_gp, "ALG-PEN-G", code="91936005", code_system="SNOMED", display="Allergy to penicillin",
          criticality="low", reaction="Rash", recorded_date=date(2001, 5, 5))
    _item(Allergy, ann_pas, "ALG-PEN-H", code="91936005", code_system="SNOMED", display="Penicillin allergy",
          criticality="high", reaction="Anaphylaxis", recorded_date=date(2019, 5, 5))

    # Results.
    for index, value in enumerate((48.0, 52.0, 58.0)):
        _item(Observation, ann_gp, f"HBA1C-{index}", code="4548-4", code_system="LOINC", display="HbA1c",
              category="laboratory", value_num=value, unit="mmol/mol",
              effective_at=now - timedelta(days=300 - 100 * index))
    for index, value in enumerate((150.0, 140.0, 139.0)):
        _item(Observation, ann_gp, f"SBP-{index}", code="8480-6", code_system="LOINC",
              display="Systolic blood pressure", category="vital-signs", value_num=value, unit="mm[Hg]",
              effective_at=now - timedelta(days=90 - 30 * index))
    for day in range(15):
        _item(Observation, ann_telehealth, f"WT-{day}", code="29463-7", code_system="LOINC", display="Body weight",
              category="telehealth", value_num=round(80.0 + 0.1 * day, 1), unit="kg",
              effective_at=now - timedelta(days=15 - day))

    # Coordination.
    session.add_all(
        [
            Referral(person_id=ANN, channel="gp", reason="Two falls in a month", urgency="urgent",
                     suggested_pathway_id="falls-prevention", status="received", received_by="user-coord",
                     received_at=now - timedelta(days=8)),
            Referral(person_id=ANN, channel="gp", reason="Old referral", urgency="routine", status="closed",
                     received_by="user-coord", received_at=now - timedelta(days=200)),
            PathwayInstance(person_id=ANN, pathway_id="falls-prevention", pathway_version=1, status="active",
                            current_step_id="home-assessment", current_step_due_at=now + timedelta(days=2),
                            started_at=now - timedelta(days=7)),
            CarePlan(person_id=ANN, title="Staying well at home", status="active",
                     what_matters_to_me="Staying in my own home and seeing my grandchildren",
                     goals=[{"description": "Walk to the shop safely"}],
                     activities=[{"description": "Strength and balance classes"}], care_team=["team-falls"],
                     author="user-coord", review_date=date(2027, 1, 1)),
            BoardFlag(person_id=ANN, kind="admitted", detail="Admitted to Ward 7", raised_at=now - timedelta(days=2)),
            BoardFlag(person_id=ANN, kind="alert", detail="Old alert", raised_at=now - timedelta(days=50),
                      cleared_at=now - timedelta(days=40)),
            RiskScore(person_id=ANN, model_version="ea-1", as_of_date=now.date(), practice_code=PRACTICE_ANN,
                      score=0.31, population_rank=3, band="high", efi_count=7, efi_category="moderate",
                      charlson_index=3, reasons=["two emergency admissions in a year", "moderate frailty"]),
            PatientPassport(person_id=ANN, consent_given_flag=True, how_to_address_me="Ann", updated_by="user-vol"),
            PersonLocation(person_id=BOB, place="ae", org_code=TRUST, since_at=now - timedelta(hours=3),
                           visit_id="ATT-B"),
        ]
    )
    session.flush()
    return SeededRecord(now=now, ann_gp_patient_id=ann_gp.source_patient_id, admission_id=admission.encounter_id)


FEEDS_T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def seed_feeds(session: Session) -> None:
    """3 hospital-pas messages (2 accepted, 1 quarantined), 1 gp bundle; 2 open quarantine, 1 replayed."""
    for index, (source, status, kind) in enumerate(
        [("hospital-pas", "accepted", "ADT^A01"), ("hospital-pas", "accepted", "ADT^A03"),
         ("hospital-pas", "quarantined", "ADT^A01"), ("gp", "accepted", "transaction")]
    ):
        feed_format = "hl7v2" if source != "gp" else "fhir"
        session.add(FeedMessage(source=source, source_message_id=f"M{index}", format=feed_format,
                                content_sha256="0" * 64, message_type=kind, status=status,
                                received_at=FEEDS_T0 + timedelta(minutes=index), sent_at=FEEDS_T0 - timedelta(hours=1)))
    session.add_all([
        QuarantineItem(source="hospital-pas", format="hl7v2", file_path="adt-2026-11.hl7", position="3", stage="map",
                       reason_code="nhs_number_check_digit", reason="PID-3: the NHS number fails its check digit",
                       raw=b"MSH|...", content_sha256="1" * 64, received_at=FEEDS_T0),
        QuarantineItem(source="hospital-pas", format="hl7v2", file_path="adt-2026-11.hl7", position="9", stage="map",
                       reason_code="nhs_number_check_digit", reason="PID-3: the NHS number fails its check digit",
                       raw=b"MSH|...", content_sha256="2" * 64, received_at=FEEDS_T0 + timedelta(hours=1)),
        QuarantineItem(source="community", format="csv:community", stage="parse", reason_code="bad_date",
                       reason="row 4: date of birth 31/02/1950 is not a date", raw=b"x", content_sha256="3" * 64,
                       status="replayed"),
        IngestedFile(source="hospital-pas", file_path="adt-2026-11.hl7", content_sha256="4" * 64, size_bytes=10,
                     status="done"),
        OutboxEvent(kind="adt.admit", payload={}), OutboxEvent(kind="adt.discharge", payload={}),
        OutboxEvent(kind="adt.admit", payload={}),
    ])
    session.flush()
    first = session.scalar(select(OutboxEvent.outbox_event_id).order_by(OutboxEvent.outbox_event_id))
    session.add(OutboxCursor(consumer="coordination", last_outbox_event_id=first))
    session.flush()

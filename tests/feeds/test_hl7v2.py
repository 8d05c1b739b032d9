"""HL7 v2 ADT/ORU end to end on SQLite and PostgreSQL: state, order tolerance, merges, quarantine."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from .builders import NHS_BAD_CHECK, NHS_VALID, adt, count_rows, encounter_state, ingest_hl7

# Times in the messages are UK local; in January that is UTC.
ADMIT = "20240110083000"
TRANSFER = "20240111120000"
DISCHARGE = "20240113160000"


def _utc(text_value: str) -> datetime:
    return datetime.strptime(text_value, "%Y%m%d%H%M%S").replace(tzinfo=UTC)


def test_admit_transfer_discharge_gives_one_finished_spell(session: Session) -> None:
    outcomes = ingest_hl7(
        session,
        adt("A01", "C1", ADMIT, admit=ADMIT),
        adt("A02", "C2", TRANSFER, ward="WARD2", prior_ward="WARD1", admit=ADMIT),
        adt("A03", "C3", DISCHARGE, ward="WARD2", admit=ADMIT, discharge=DISCHARGE),
    )
    assert [o.status for o in outcomes] == ["accepted", "updated", "updated"]
    spell = encounter_state(session, "SP0001")
    assert spell["status"] == "finished"
    assert spell["setting"] == "inpatient"
    assert spell["admission_method"] == "emergency"
    assert spell["location"] == "WARD2"
    assert spell["start_at"] == _utc(ADMIT)
    assert spell["end_at"] == _utc(DISCHARGE)
    kinds = [row[0] for row in session.execute(text("SELECT kind FROM outbox_event ORDER BY outbox_event_id"))]
    assert kinds == ["adt.admit", "adt.transfer", "adt.discharge"]
    patient = session.execute(text("SELECT * FROM source_patient")).mappings().one()
    assert (patient["local_id"], patient["nhs_number"], patient["nhs_number_status"]) == ("M0001", NHS_VALID, "valid")
    assert patient["family_name"] == "TESTER"
    assert patient["postcode"] == "ZZ1 1ZZ"
    # Identity linked the new source patient at once on its valid NHS number.
    assert patient["person_id"] is not None


def test_discharge_before_admit_ends_discharged(session: Session) -> None:
    ingest_hl7(session, adt("A03", "C3", DISCHARGE, admit=ADMIT, discharge=DISCHARGE))
    ingest_hl7(session, adt("A01", "C1", ADMIT, admit=ADMIT))
    spell = encounter_state(session, "SP0001")
    assert spell["status"] == "finished"
    assert spell["end_at"] == _utc(DISCHARGE)
    assert spell["start_at"] == _utc(ADMIT)


def test_update_before_admit_keeps_the_admission(session: Session) -> None:
    ingest_hl7(session, adt("A08", "C2", TRANSFER, admit=ADMIT, family="TESTER-JONES"))
    ingest_hl7(session, adt("A01", "C1", ADMIT, admit=ADMIT))
    spell = encounter_state(session, "SP0001")
    assert spell["status"] == "in-progress"
    assert spell["start_at"] == _utc(ADMIT)
    # The newer A08's demographics win over the older A01's.
    assert session.execute(text("SELECT family_name FROM source_patient")).scalar_one() == "TESTER-JONES"


def test_update_after_discharge_does_not_reopen_the_spell(session: Session) -> None:
    ingest_hl7(session, adt("A01", "C1", ADMIT, admit=ADMIT),
               adt("A03", "C3", DISCHARGE, admit=ADMIT, discharge=DISCHARGE),
               adt("A08", "C4", "20240114090000", admit=ADMIT))
    assert encounter_state(session, "SP0001")["status"] == "finished"


def test_cancel_discharge_reopens_and_cancel_admit_cancels(session: Session) -> None:
    ingest_hl7(session, adt("A01", "C1", ADMIT, admit=ADMIT),
               adt("A03", "C3", DISCHARGE, admit=ADMIT, discharge=DISCHARGE),
               adt("A13", "C4", "20240113170000", admit=ADMIT))
    spell = encounter_state(session, "SP0001")
    assert (spell["status"], spell["end_at"]) == ("in-progress", None)
    ingest_hl7(session, adt("A11", "C5", "20240113180000", admit=ADMIT))
    assert encounter_state(session, "SP0001")["status"] == "cancelled"
    assert count_rows(session, "outbox_event", "kind = 'adt.cancel'") == 2


def test_ae_attendance_then_departure(session: Session) -> None:
    arrive, leave = "20240110100000", "20240110140000"
    ingest_hl7(session, adt("A04", "E1", arrive, visit="AE0001", patient_class="E", admit=arrive),
               adt("A03", "E2", leave, visit="AE0001", patient_class="E", admit=arrive, discharge=leave))
    visit = encounter_state(session, "AE0001")
    assert (visit["setting"], visit["status"], visit["class_code"]) == ("ae", "finished", "EMER")
    assert visit["end_at"] - visit["start_at"] == _utc(leave) - _utc(arrive)
    assert count_rows(session, "outbox_event", "kind = 'adt.attend'") == 1


def test_merge_names_both_source_patients(session: Session) -> None:
    ingest_hl7(session, adt("A01", "C1", ADMIT, mrn="M0002", admit=ADMIT, visit="SP0002"))
    ingest_hl7(session, adt("A40", "C9", DISCHARGE, mrn="M0001", visit="M0002"))
    event = session.execute(text("SELECT source_patient_id, payload FROM outbox_event WHERE kind='adt.merge'")).one()
    ids = dict(session.execute(text("SELECT local_id, source_patient_id FROM source_patient")).all())
    payload = event[1] if isinstance(event[1], dict) else __import__("json").loads(event[1])
    assert event[0] == ids["M0001"]
    assert payload["other_source_patient_id"] == ids["M0002"]


def test_invalid_nhs_number_is_kept_with_its_status_not_quarantined(session: Session) -> None:
    outcomes = ingest_hl7(session, adt("A01", "C1", ADMIT, nhs=NHS_BAD_CHECK, admit=ADMIT),
                          adt("A01", "C2", ADMIT, nhs="9999999999", mrn="M0009", visit="SP0009", admit=ADMIT))
    assert [o.status for o in outcomes] == ["accepted", "accepted"]
    rows = dict(session.execute(text("SELECT local_id, nhs_number_status FROM source_patient")).all())
    assert rows == {"M0001": "bad_check_digit", "M0009": "placeholder"}
    assert count_rows(session, "source_patient", "nhs_number IS NOT NULL") == 0
    assert count_rows(session, "quarantine_item") == 0


def test_each_fault_quarantined_with_its_field_and_reason(session: Session) -> None:
    good = adt("A01", "G1", ADMIT, admit=ADMIT)
    faults = {
        "missing_segment": adt("A01", "F1", ADMIT, admit=ADMIT).replace("PID|", "ZZZ|"),
        "missing_field": adt("A01", "F2", ADMIT, visit="", admit=ADMIT),
        "malformed_date": adt("A01", "F3", ADMIT, admit="2024011X"),
        "impossible_value": adt("A03", "F4", DISCHARGE, admit=DISCHARGE, discharge=ADMIT),
        "unknown_code": adt("A01", "F5", ADMIT, admit=ADMIT, patient_class="Q"),
        "unsupported_message_type": adt("A01", "F6", ADMIT, admit=ADMIT).replace("ADT^A01", "SIU^S12"),
        "malformed_message": "PID|1||X^^^RZZ^MR\r",
    }
    outcomes = ingest_hl7(session, good, *faults.values())
    assert outcomes[0].status == "accepted"
    assert {o.reason_code: o.status for o in outcomes[1:]} == dict.fromkeys(faults, "quarantined")
    reasons = dict(session.execute(text("SELECT reason_code, reason FROM quarantine_item")).all())
    assert reasons["missing_field"] == "PV1-19: no visit number (spell or attendance id)"
    assert reasons["missing_segment"] == "PID: no PID segment"
    assert reasons["malformed_date"] == "PV1-44: not a valid HL7 date-time"
    assert reasons["impossible_value"] == "PV1-45: discharged before admitted"
    assert reasons["unknown_code"] == "PV1-2: not a patient class joinedup knows"
    assert reasons["unsupported_message_type"] == "MSH-9: not a message type joinedup takes (ADT, ORU^R01)"
    stages = dict(session.execute(text("SELECT reason_code, stage FROM quarantine_item")).all())
    assert stages["malformed_message"] == "parse"
    # The raw bytes are kept whole for fix and replay.
    raw = session.execute(text("SELECT raw FROM quarantine_item WHERE reason_code='impossible_value'")).scalar_one()
    assert bytes(raw) == faults["impossible_value"].encode()


def test_same_message_twice_changes_nothing(session: Session) -> None:
    messages = [adt("A01", "C1", ADMIT, admit=ADMIT), adt("A03", "C3", DISCHARGE, admit=ADMIT, discharge=DISCHARGE)]
    ingest_hl7(session, *messages)
    before = {t: count_rows(session, t) for t in ("encounter", "source_patient", "outbox_event", "feed_message")}
    outcomes = ingest_hl7(session, *messages)
    assert [o.status for o in outcomes] == ["duplicate", "duplicate"]
    assert {t: count_rows(session, t) for t in before} == before


def test_control_id_reused_for_other_content_is_quarantined(session: Session) -> None:
    ingest_hl7(session, adt("A01", "C1", ADMIT, admit=ADMIT))
    outcome = ingest_hl7(session, adt("A01", "C1", ADMIT, admit=ADMIT, ward="OTHER"))[0]
    assert (outcome.status, outcome.reason_code) == ("quarantined", "message_id_reused")
    assert encounter_state(session, "SP0001")["location"] == "WARD1"


def test_oru_results_become_observations(session: Session) -> None:
    message = "\r".join([
        "MSH|^~\\&|LAB|RZZ|JOINEDUP|ZCC01|20240110093000||ORU^R01^ORU_R01|L1|P|2.4",
        f"PID|1||M0001^^^RZZ^MR~{NHS_VALID}^^^NHS^NH||TESTER^ANNA||19400115|F",
        "OBR|1||ORD1|24331-1^Lipid panel^LN|||20240110080000",
        "OBX|1|NM|2093-3^Cholesterol^LN||5.2|mmol/L|<5|H|||F",
        "OBX|2|ST|8251-1^Comment^LN||Fasting sample||||||F",
    ]) + "\r"
    assert ingest_hl7(session, message)[0].status == "accepted"
    rows = session.execute(text(
        "SELECT code, code_system, value_num, unit, value_text, interpretation FROM observation ORDER BY code"
    )).all()
    assert [tuple(r) for r in rows] == [
        ("2093-3", "loinc", 5.2, "mmol/L", None, "H"),
        ("8251-1", "loinc", None, None, "Fasting sample", None),
    ]

"""HL7 v2 ADT and ORU messages → store rows and outbox news, collecting every problem with its field.

ADT A01 admit, A02 transfer, A03 discharge, A04 register (A&E arrival), A05 pre-admit, A08 update,
A11 cancel admit, A13 cancel discharge, A28/A31 person add/update, A40 merge; ORU^R01 results.
The encounter is keyed by PV1-19 (the visit number: the spell id of an admission, the attendance id
in A&E), the same id SUS extracts give, so a spell stays one encounter from both feeds. State is
ordered by MSH-7: a late message only fills in what is still empty (see ``_store_rows``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from joinedup.feeds.codes import is_snomed_id, parse_hl7_date, parse_hl7_datetime, short_system
from joinedup.feeds.errors import Problems
from joinedup.feeds.hl7v2.parse import Hl7Message
from joinedup.feeds.mapped import CLEAR, Fill, MappedMessage, OutboxNote, PatientKey, RecordKey, RecordRow

ADT_EVENTS = {"A01", "A02", "A03", "A04", "A05", "A08", "A11", "A13", "A28", "A31", "A40"}
# Events whose trigger says something about the visit (and so need PV1-19).
VISIT_EVENTS = {"A01", "A02", "A03", "A04", "A05", "A11", "A13"}
PATIENT_CLASSES = {"E": "ae", "I": "inpatient", "O": "outpatient", "P": "inpatient", "R": "outpatient",
                   "B": "inpatient", "C": "outpatient", "N": "outpatient", "U": "outpatient"}
SEXES = {"M": "male", "F": "female", "U": "unknown", "O": "other", "A": "other", "N": "unknown", "1": "male",
         "2": "female", "9": "unknown"}
ADMISSION_TYPES = {"E": "emergency", "EM": "emergency", "A": "emergency", "U": "emergency", "EL": "elective",
                   "C": "elective", "R": "elective", "L": "maternity", "N": "maternity"}
EVENT_OUTBOX = {"A01": "adt.admit", "A02": "adt.transfer", "A03": "adt.discharge", "A04": "adt.attend",
                "A11": "adt.cancel", "A13": "adt.cancel", "A40": "adt.merge"}


def _when(message: Hl7Message, fields: list[str] | None, number: int, path: str, problems: Problems,
          ) -> datetime | None:
    text = message.value(fields, number)
    try:
        return parse_hl7_datetime(text)
    except ValueError:
        problems.add(path, "malformed_date", "not a valid HL7 date-time")
        return None


def _day(message: Hl7Message, fields: list[str] | None, number: int, path: str, problems: Problems) -> date | None:
    try:
        return parse_hl7_date(message.value(fields, number))
    except ValueError:
        problems.add(path, "malformed_date", "not a valid HL7 date")
        return None


def message_header(message: Hl7Message, problems: Problems) -> tuple[str, str, str, datetime | None]:
    """``(control id, type, event, sent at)`` from MSH-10, MSH-9 and MSH-7."""
    msh = message.segment("MSH")
    control_id = message.value(msh, 10)
    if not control_id:
        problems.add("MSH-10", "missing_field", "no message control id")
    kind = message.value(msh, 9, 1)
    event = message.value(msh, 9, 2)
    sent_at = _when(message, msh, 7, "MSH-7", problems)
    return control_id, kind, event, sent_at


def map_patient(message: Hl7Message, source: str, mapped: MappedMessage, problems: Problems) -> PatientKey | None:
    """PID (and PD1) → the source patient: MRN from PID-3 (type MR), NHS number (type NH)."""
    pid = message.segment("PID")
    if pid is None:
        problems.add("PID", "missing_segment", "no PID segment")
        return None
    local_id = nhs = None
    first_other = None
    for repetition in message.repetitions(pid, 3):
        identifier = message.part(repetition, 1)
        kind = message.part(repetition, 5).upper()
        authority = message.part(repetition, 4).upper()
        if not identifier:
            continue
        if kind == "NH" or authority == "NHS":
            nhs = identifier if nhs is None else nhs
        elif kind == "MR" and local_id is None:
            local_id = identifier
        elif first_other is None:
            first_other = identifier
    local_id = local_id or first_other or message.value(pid, 2) or message.value(pid, 4)
    if not local_id:
        problems.add("PID-3", "missing_identifier", "no local patient identifier (MRN)")
        return None
    values: dict[str, Any] = {"source": source, "local_id": local_id[:64], "nhs_number_given": nhs}
    family = message.value(pid, 5, 1)
    values["family_name"] = family[:100] or None
    values["given_name"] = message.value(pid, 5, 2)[:100] or None
    values["birth_date"] = _day(message, pid, 7, "PID-7", problems)
    sex = message.value(pid, 8)
    if sex:
        values["sex"] = SEXES.get(sex.upper())
        if values["sex"] is None:
            problems.add("PID-8", "unknown_code", "not an administrative sex code")
    values["address_line"] = message.value(pid, 11, 1)[:200] or None
    values["postcode"] = message.value(pid, 11, 5)[:10] or None
    values["phone"] = message.value(pid, 13, 1)[:40] or None
    ethnicity = message.value(pid, 22, 1)
    values["ethnicity_code"] = ethnicity[:8] or None
    death = _when(message, pid, 29, "PID-29", problems)
    values["deceased_date"] = death.date() if death else None
    practice = _practice_code(message)
    if practice:
        values["registered_practice_code"] = practice
    birth = values["birth_date"]
    if birth is not None and mapped.sent_at is not None and birth > mapped.sent_at.date():
        problems.add("PID-7", "impossible_value", "born after the message was sent")
    return mapped.add_patient(values, nhs_number_path="PID-3")


def _practice_code(message: Hl7Message) -> str | None:
    pd1 = message.segment("PD1")
    if pd1 is None:
        return None
    # PD1-3 XON: the organisation identifier is component 10 from v2.5, component 3 before.
    code = message.value(pd1, 3, 10) or message.value(pd1, 3, 3)
    return code[:12] or None


def map_visit(message: Hl7Message, source: str, event: str, key: PatientKey, mapped: MappedMessage,
              problems: Problems) -> RecordKey | None:
    """PV1 → the encounter's state for this event; news for the outbox."""
    pv1 = message.segment("PV1")
    if pv1 is None:
        if event in VISIT_EVENTS:
            problems.add("PV1", "missing_segment", "no PV1 segment")
        return None
    visit = message.value(pv1, 19)
    if not visit:
        if event in VISIT_EVENTS:
            problems.add("PV1-19", "missing_field", "no visit number (spell or attendance id)")
        return None
    patient_class = message.value(pv1, 2).upper()
    setting = PATIENT_CLASSES.get(patient_class)
    if setting is None and event in VISIT_EVENTS:
        problems.add("PV1-2", "unknown_code", "not a patient class joinedup knows")
    evn = message.segment("EVN")
    occurred = _when(message, evn, 6, "EVN-6", problems) or _when(message, evn, 2, "EVN-2", problems) \
        or mapped.sent_at
    admitted = _when(message, pv1, 44, "PV1-44", problems)
    discharged = _when(message, pv1, 45, "PV1-45", problems)
    if admitted and discharged and discharged < admitted:
        problems.add("PV1-45", "impossible_value", "discharged before admitted")
    ward = message.value(pv1, 3, 1)
    values: dict[str, Any] = {
        "source": source, "source_record_id": visit[:80],
        "setting": setting, "class_code": {"ae": "EMER", "inpatient": "IMP", "outpatient": "AMB"}.get(setting or ""),
        "start_at": admitted, "end_at": discharged,
        "location": ward[:80] or None,
        "org_code": (message.value(pv1, 3, 4) or message.value(pv1, 39))[:12] or None,
        "service_code": message.value(pv1, 10)[:40] or None,
        "discharge_destination": (message.value(pv1, 37) or message.value(pv1, 36))[:40] or None,
    }
    admission_type = message.value(pv1, 4).upper()
    if setting == "inpatient" and admission_type:
        values["admission_method"] = ADMISSION_TYPES.get(admission_type, "other")
    if event in ("A01", "A04"):
        values["status"] = "in-progress"
        values["start_at"] = admitted or occurred
    elif event == "A05":
        values["status"] = Fill("planned")
    elif event == "A03":
        values["status"] = "finished"
        values["end_at"] = discharged or occurred
    elif event == "A11":
        values["status"] = "cancelled"
    elif event == "A13":
        values["status"] = "in-progress"
        values["end_at"] = CLEAR
        values["discharge_destination"] = CLEAR
    else:
        # A02, A08: the message says nothing about status; a new row takes it from PV1-45.
        values["status"] = Fill("finished" if discharged else "in-progress")
    if event not in ("A01", "A04") and values["start_at"] is None:
        values["start_at"] = Fill(admitted)
    encounter_key = (source, visit[:80])
    mapped.records.append(RecordRow("encounter", values, key))
    kind = EVENT_OUTBOX.get(event)
    if kind:
        payload: dict[str, Any] = {"event": event, "encounter_key": list(encounter_key), "setting": setting,
                                   "ward": ward or None}
        if event == "A02":
            payload["from_ward"] = message.value(pv1, 6, 1) or None
        if event == "A03":
            payload["discharge_destination"] = values["discharge_destination"]
        if event in ("A01", "A04"):
            payload["admission_method"] = values.get("admission_method")
        mapped.events.append(OutboxNote(kind, key, payload, occurred))
    return encounter_key


def map_diagnoses(message: Hl7Message, source: str, key: PatientKey, encounter: RecordKey | None,
                  mapped: MappedMessage, problems: Problems, stem: str) -> None:
    """DG1 → conditions (encounter diagnoses), AL1 → allergies, PR1 → procedures."""
    for index, dg1 in enumerate(message.all("DG1"), start=1):
        code, system, display = _coded(message, dg1, 3, f"DG1[{index}]-3", problems)
        if code:
            mapped.records.append(RecordRow("condition", {
                "source": source, "source_record_id": f"{stem}/DG1/{code}"[:80], "code": code,
                "code_system": system, "display": display or message.value(dg1, 4)[:200] or None,
                "category": "encounter-diagnosis", "position": index,
            }, key, encounter))
    for index, al1 in enumerate(message.all("AL1"), start=1):
        code, system, display = _coded(message, al1, 3, f"AL1[{index}]-3", problems)
        if code:
            mapped.records.append(RecordRow("allergy", {
                "source": source, "source_record_id": f"{stem}/AL1/{code}"[:80], "code": code,
                "code_system": system, "display": display, "reaction": message.value(al1, 5)[:200] or None,
            }, key))
    for index, pr1 in enumerate(message.all("PR1"), start=1):
        code, system, display = _coded(message, pr1, 3, f"PR1[{index}]-3", problems)
        if code:
            mapped.records.append(RecordRow("procedure", {
                "source": source, "source_record_id": f"{stem}/PR1/{code}"[:80], "code": code,
                "code_system": system, "display": display,
                "performed_at": _when(message, pr1, 5, f"PR1[{index}]-5", problems), "position": index,
            }, key, encounter))


def _coded(message: Hl7Message, fields: list[str], number: int, path: str, problems: Problems,
           ) -> tuple[str | None, str, str | None]:
    code = message.value(fields, number, 1)
    if not code:
        problems.add(path, "unknown_code", "no code")
        return None, "", None
    if len(code) > 20:
        problems.add(path, "unknown_code", "a code longer than any terminology uses")
        return None, "", None
    system = short_system(message.value(fields, number, 3))
    if system == "snomed" and not is_snomed_id(code):
        problems.add(path, "unknown_code", "not a SNOMED CT identifier (partition or check digit wrong)")
        return None, "", None
    return code, system, message.value(fields, number, 2)[:200] or None


def map_results(message: Hl7Message, source: str, key: PatientKey, encounter: RecordKey | None,
                mapped: MappedMessage, problems: Problems, stem: str) -> None:
    """ORU^R01 OBX → observations (numeric values as numbers, others as text)."""
    obr = message.segment("OBR")
    order_time = _when(message, obr, 7, "OBR-7", problems) if obr else None
    count = 0
    for index, obx in enumerate(message.all("OBX"), start=1):
        path = f"OBX[{index}]"
        code, system, display = _coded(message, obx, 3, f"{path}-3", problems)
        value_type = message.value(obx, 2).upper()
        raw_value = message.value(obx, 5)
        values: dict[str, Any] = {"value_num": None, "value_text": None}
        if value_type in ("NM", "SN") and raw_value:
            try:
                values["value_num"] = float(raw_value) if value_type == "NM" else float(message.value(obx, 5, 2))
            except ValueError:
                problems.add(f"{path}-5", "malformed_value", "not a number where OBX-2 says numeric")
        elif raw_value:
            values["value_text"] = raw_value[:200]
        effective = _when(message, obx, 14, f"{path}-14", problems) or order_time or mapped.sent_at
        if code is None:
            continue
        count += 1
        mapped.records.append(RecordRow("observation", {
            "source": source, "source_record_id": f"{stem}/OBX/{index}"[:80], "code": code, "code_system": system,
            "display": display, "category": "laboratory", "unit": message.value(obx, 6, 1)[:20] or None,
            "effective_at": effective, "interpretation": message.value(obx, 8)[:4] or None, **values,
        }, key, encounter))
    if count == 0 and not problems.items:
        problems.add("OBX", "missing_segment", "a result message with no results")


def map_merge(message: Hl7Message, source: str, key: PatientKey, mapped: MappedMessage, problems: Problems) -> None:
    """A40: MRG-1 names the retired MRN; the news carries both source patients for identity."""
    mrg = message.segment("MRG")
    retired = message.value(mrg, 1) if mrg else ""
    if not retired:
        problems.add("MRG-1", "missing_field", "no retired patient identifier")
        return
    retired_key = mapped.add_patient({"source": source, "local_id": retired[:64]})
    evn = message.segment("EVN")
    occurred = _when(message, evn, 2, "EVN-2", problems) or mapped.sent_at
    mapped.events.append(OutboxNote("adt.merge", key, {"event": "A40"}, occurred, other_patient=retired_key))


def map_hl7(message: Hl7Message, source: str) -> MappedMessage:
    """Map one ADT or ORU message from ``source``; raises FeedError with every problem found."""
    problems = Problems()
    control_id, kind, event, sent_at = message_header(message, problems)
    message_type = f"{kind}^{event}" if event else kind
    mapped = MappedMessage(message_id=control_id or "", message_type=message_type[:20], sent_at=sent_at)
    supported = (kind == "ADT" and event in ADT_EVENTS) or (kind == "ORU" and event == "R01")
    if not supported:
        problems.add("MSH-9", "unsupported_message_type", "not a message type joinedup takes (ADT, ORU^R01)")
        problems.raise_if_any(message_id=control_id or None, message_type=message_type[:20])
    for number, fields in enumerate(message.segments, start=1):
        name = fields[0]
        if len(name) != 3 or not name.isalnum() or not ("A" <= name[0] <= "Z"):
            problems.add(f"segment {number}", "malformed_segment", "not an HL7 segment (no 3-character segment id)")
    key = map_patient(message, source, mapped, problems)
    stem = control_id or "message"
    if key is not None:
        if kind == "ADT" and event == "A40":
            map_merge(message, source, key, mapped, problems)
        else:
            encounter = map_visit(message, source, event if kind == "ADT" else "R01", key, mapped, problems)
            # Diagnoses belong to the visit: the same DG1 sent again in an A08 is the same condition.
            map_diagnoses(message, source, key, encounter, mapped, problems, encounter[1] if encounter else stem)
            if kind == "ORU":
                map_results(message, source, key, encounter, mapped, problems, stem)
    problems.raise_if_any(message_id=control_id or None, message_type=message_type[:20])
    return mapped

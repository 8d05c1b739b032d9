"""Monthly CSV extracts: the hospital's SUS submissions (APC, ECDS, outpatients) with HES-style
columns, the community provider's contacts and the council's social care assessments and packages,
each system with its own ids and its own way of holding (or not holding) the NHS number.

Every column is documented in docs/synthetic-data.md."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from joinedup.synth.borough import ACUTE_SITE, ACUTE_TRUST
from joinedup.synth.codes import UNKNOWN_ICD10, UNKNOWN_SNOMED
from joinedup.synth.events import AeAttendance, OutpatientAppointment, Spell
from joinedup.synth.faults import NHS_NUMBER_KINDS
from joinedup.synth.writers.common import (
    IDENTITY_FAULTS,
    Subject,
    csv_row,
    iso_date,
    money,
    month_of,
    show_identity,
)
from joinedup.synth.writers.spool import FaultNote

APC_COLUMNS = (
    "SUSSPELLID", "EPIKEY", "LOPATID", "NEWNHSNO", "NHSNOIND", "DOB", "SEX", "ETHNOS", "POSTCODE", "LSOA11",
    "GPPRAC", "PROCODE3", "SITETRET", "ADMIDATE", "ADMIMETH", "ADMISORC", "CLASSPAT", "AEKEY", "EPISTART",
    "EPIEND", "DISDATE", "DISMETH", "DISDEST", "SPELDUR", "MAINSPEF", "TRETSPEF",
    "DIAG_01", "DIAG_02", "DIAG_03", "DIAG_04", "DIAG_05", "DIAG_06",
    "OPERTN_01", "OPERTN_02", "OPERTN_03", "OPERTN_04", "OPDATE_01", "SUSHRG", "TARIFF_GBP",
)
ECDS_COLUMNS = (
    "ATTENDANCE_ID", "LOCAL_PATIENT_ID", "NHS_NUMBER", "NHS_NUMBER_STATUS_INDICATOR_CODE", "BIRTH_DATE",
    "STATED_GENDER", "ETHNIC_CATEGORY", "PATIENT_POSTCODE", "LSOA_2011", "PRACTICE_CODE_PATIENT_REGISTRATION",
    "PROVIDER_CODE", "SITE", "DEPARTMENT_TYPE", "ARRIVAL_DATE", "ARRIVAL_TIME", "ARRIVAL_MODE",
    "ATTENDANCE_CATEGORY", "ACUITY", "CHIEF_COMPLAINT", "DIAGNOSIS_CODE_1", "DIAGNOSIS_CODE_2",
    "DIAGNOSIS_CODE_3", "DECIDED_TO_ADMIT_DATE", "DECIDED_TO_ADMIT_TIME", "DEPARTURE_DATE", "DEPARTURE_TIME",
    "DISCHARGE_DESTINATION", "SUSSPELLID", "FINAL_PRICE",
)
OP_COLUMNS = (
    "ATTENDKEY", "LOPATID", "NEWNHSNO", "NHSNOIND", "DOB", "SEX", "ETHNOS", "POSTCODE", "LSOA11", "GPPRAC",
    "PROCODE3", "SITETRET", "APPTDATE", "ATTENDED", "FIRSTATT", "MAINSPEF", "TRETSPEF", "REFSOURC", "PRIORITY",
    "OUTCOME", "DIAG_01", "OPERTN_01", "TARIFF_GBP",
)
COMMUNITY_COLUMNS = (
    "contact_id", "client_id", "nhs_number", "given_name", "family_name", "birth_date", "sex", "postcode",
    "gp_practice_code", "team", "contact_date", "contact_time", "contact_mode", "duration_minutes",
    "reason_code", "reason_display", "cost_gbp",
)
ASSESSMENT_COLUMNS = (
    "assessment_id", "client_id", "nhs_number", "forename", "surname", "date_of_birth", "gender", "postcode",
    "assessment_date", "assessment_type", "primary_support_reason", "outcome", "cost_gbp",
)
PACKAGE_COLUMNS = (
    "package_id", "client_id", "nhs_number", "forename", "surname", "date_of_birth", "gender", "postcode",
    "record_status", "service_type", "start_date", "end_date", "end_reason", "weekly_hours", "weekly_cost_gbp",
)
HEADERS = {
    "hospital-sus/apc": APC_COLUMNS,
    "hospital-sus/ecds": ECDS_COLUMNS,
    "hospital-sus/op": OP_COLUMNS,
    "community/contacts": COMMUNITY_COLUMNS,
    "social-care/assessments": ASSESSMENT_COLUMNS,
    "social-care/packages": PACKAGE_COLUMNS,
}
_HES_SEX = {"male": "1", "female": "2"}
_ECDS_ACUITY = {1: "1077251000000100", 2: "1064891000000107", 3: "1064911000000105", 4: "1077241000000103",
                5: "1077231000000107"}
_ECDS_DESTINATION = {"home": "306689006", "admitted": "306706006", "died": "305398007"}
_DISMETH = {"79": "4"}


@dataclass(frozen=True, slots=True)
class _Breakable:
    """Which columns a row's faults may break: a date, a code, an impossible value."""

    date_column: str
    code_column: str = ""
    unknown_code: str = UNKNOWN_ICD10
    impossible: tuple[str, str] = ("", "")


def _exclusions(spec: _Breakable, identity: bool) -> tuple[str, ...]:
    excluded = [] if identity else [*NHS_NUMBER_KINDS, "name_typo", "dob_day_month_swapped"]
    if not spec.code_column:
        excluded.append("unknown_code")
    if not spec.impossible[0]:
        excluded.append("impossible_value")
    return tuple(excluded)


def _queue_row(
    subject: Subject,
    stem: str,
    month: str,
    record_id: str,
    values: dict[str, str],
    kind: str | None,
    notes: list[FaultNote],
    spec: _Breakable,
    sort_key: str,
) -> None:
    """Break the row as the fault says, then queue it (twice, or in a later month, if so)."""
    columns = HEADERS[stem]
    if kind is not None and kind not in IDENTITY_FAULTS:
        notes.append(FaultNote(kind, record_id))
    if kind == "malformed":
        day = values[spec.date_column]
        values[spec.date_column] = f"{day[8:10]}/{day[5:7]}/{day[:4]}" if len(day) == 10 else "unknown"
    elif kind == "unknown_code":
        values[spec.code_column] = spec.unknown_code
    elif kind == "impossible_value":
        values[spec.impossible[0]] = spec.impossible[1]
    fields = [values.get(c, "") for c in columns]
    if kind == "truncated":
        fields = fields[: len(fields) // 2]
    row = csv_row(fields)
    key = f"{sort_key}|{record_id}"
    if kind == "late":
        later = subject.later_month(month)
        if later is None:
            notes = [n for n in notes if n.kind != "late"]
        else:
            month, key = later, f"~{key}"
    output = f"{stem}-{month}.csv"
    if kind == "duplicate":
        subject.spool.add(output, row, key, tuple(n for n in notes if n.kind != "duplicate"))
        subject.spool.add(output, row, key + "~", (FaultNote("duplicate", record_id),))
        return
    subject.spool.add(output, row, key, tuple(notes))


def _nhs_indicator(number: str) -> str:
    return "01" if number else "03"


def _mrn_for(subject: Subject, moment: datetime) -> str:
    """The MRN the encounter was recorded under (the duplicate, for the first one, if any)."""
    first = _first_hospital_contact(subject)
    if subject.ids.mrn_duplicate and first is not None and moment <= first:
        return subject.ids.mrn_duplicate
    return subject.ids.mrn


def _first_hospital_contact(subject: Subject) -> datetime | None:
    moments = [a.arrival for a in subject.history.ae] + [s.admit for s in subject.history.spells]
    return min(moments) if moments else None


def write_sus(subject: Subject) -> None:
    """The person's APC spells, ECDS attendances and outpatient appointments."""
    first = _first_hospital_contact(subject)
    for spell in subject.history.spells:
        _apc_row(subject, spell, first)
    for attendance in subject.history.ae:
        _ecds_row(subject, attendance, first)
    for appointment in subject.history.outpatients:
        _op_row(subject, appointment)


def _hospital_identity(
    subject: Subject, feed: str, spec: _Breakable, record_id: str
) -> tuple[str | None, list[FaultNote], dict[str, str]]:
    kind = subject.faults.pick(feed, exclude=_exclusions(spec, identity=True))
    shown = show_identity(subject, kind, record_id, subject.quality.pas)
    return kind, list(shown.notes), {
        "nhs": shown.nhs_number,
        "dob": iso_date(shown.birth_date),
        "given": shown.given_name,
        "family": shown.family_name,
    }


def _apc_row(subject: Subject, spell: Spell, first: datetime | None) -> None:
    if spell.admit.date() >= subject.end:
        return
    person = subject.person
    area, postcode, _, practice = person.address_on(spell.admit.date())
    spec = _Breakable("ADMIDATE", "DIAG_01", UNKNOWN_ICD10, ("SPELDUR", "-3"))
    kind, notes, who = _hospital_identity(subject, "sus", spec, spell.spell_id)
    finished = spell.discharge.date() < subject.end
    diagnoses = (spell.diagnoses + [""] * 6)[:6]
    procedures = (spell.procedures + ["-"] * 4)[:4] if spell.procedures else ["-", "", "", ""]
    values = {
        "SUSSPELLID": spell.spell_id,
        "EPIKEY": f"{spell.spell_id}01",
        "LOPATID": _mrn_for(subject, spell.admit),
        "NEWNHSNO": who["nhs"],
        "NHSNOIND": _nhs_indicator(who["nhs"]),
        "DOB": who["dob"],
        "SEX": _HES_SEX.get(person.sex, "9"),
        "ETHNOS": person.ethnic_category,
        "POSTCODE": postcode,
        "LSOA11": area.lsoa_code,
        "GPPRAC": practice,
        "PROCODE3": ACUTE_TRUST,
        "SITETRET": ACUTE_SITE,
        "ADMIDATE": iso_date(spell.admit.date()),
        "ADMIMETH": spell.admission_method,
        "ADMISORC": "54" if spell.from_care_home else "19",
        "CLASSPAT": spell.patient_class,
        "AEKEY": spell.ae_attendance_id,
        "EPISTART": iso_date(spell.admit.date()),
        "EPIEND": iso_date(spell.discharge.date()) if finished else "",
        "DISDATE": iso_date(spell.discharge.date()) if finished else "",
        "DISMETH": _DISMETH.get(spell.discharge_destination, "1") if finished else "",
        "DISDEST": spell.discharge_destination if finished else "",
        "SPELDUR": str(spell.length_of_stay) if finished else "",
        "MAINSPEF": spell.specialty,
        "TRETSPEF": spell.specialty,
        "OPDATE_01": iso_date(spell.admit.date()) if spell.procedures else "",
        "SUSHRG": _hrg(spell),
        "TARIFF_GBP": money(spell.cost_gbp),
    }
    for k, code in enumerate(diagnoses, 1):
        values[f"DIAG_{k:02d}"] = code
    for k, code in enumerate(procedures, 1):
        values[f"OPERTN_{k:02d}"] = code
    sort_key = spell.admit.isoformat()
    _queue_row(subject, "hospital-sus/apc", month_of(spell.admit), spell.spell_id, values, kind, notes, spec, sort_key)


def _hrg(spell: Spell) -> str:
    if not spell.emergency:
        return "FD01A" if spell.patient_class == "2" else "HN12C"
    return {"heart_failure": "EB03D", "copd": "DZ65H", "pneumonia": "DZ11R", "fall_fracture": "HE11C"}.get(
        spell.cause, "WH07G"
    )


def _ecds_row(subject: Subject, attendance: AeAttendance, first: datetime | None) -> None:
    person = subject.person
    area, postcode, _, practice = person.address_on(attendance.arrival.date())
    spec = _Breakable("ARRIVAL_DATE", "DIAGNOSIS_CODE_1", UNKNOWN_SNOMED, ("DEPARTURE_TIME", "27:75:00"))
    kind, notes, who = _hospital_identity(subject, "sus", spec, attendance.attendance_id)
    admitted = bool(attendance.admitted_spell_id)
    values = {
        "ATTENDANCE_ID": attendance.attendance_id,
        "LOCAL_PATIENT_ID": _mrn_for(subject, attendance.arrival),
        "NHS_NUMBER": who["nhs"],
        "NHS_NUMBER_STATUS_INDICATOR_CODE": _nhs_indicator(who["nhs"]),
        "BIRTH_DATE": who["dob"],
        "STATED_GENDER": _HES_SEX.get(person.sex, "9"),
        "ETHNIC_CATEGORY": person.ethnic_category,
        "PATIENT_POSTCODE": postcode,
        "LSOA_2011": area.lsoa_code,
        "PRACTICE_CODE_PATIENT_REGISTRATION": practice,
        "PROVIDER_CODE": ACUTE_TRUST,
        "SITE": ACUTE_SITE,
        "DEPARTMENT_TYPE": "01",
        "ARRIVAL_DATE": iso_date(attendance.arrival.date()),
        "ARRIVAL_TIME": attendance.arrival.time().isoformat(),
        "ARRIVAL_MODE": "1048031000000100" if attendance.ambulance else "1048061000000105",
        "ATTENDANCE_CATEGORY": "1",
        "ACUITY": _ECDS_ACUITY[attendance.acuity],
        "CHIEF_COMPLAINT": attendance.complaint,
        "DIAGNOSIS_CODE_1": attendance.diagnosis,
        "DECIDED_TO_ADMIT_DATE": iso_date(attendance.departure.date()) if admitted else "",
        "DECIDED_TO_ADMIT_TIME": attendance.departure.time().isoformat() if admitted else "",
        "DEPARTURE_DATE": iso_date(attendance.departure.date()),
        "DEPARTURE_TIME": attendance.departure.time().isoformat(),
        "DISCHARGE_DESTINATION": _ECDS_DESTINATION["admitted" if admitted else "home"],
        "SUSSPELLID": attendance.admitted_spell_id,
        "FINAL_PRICE": money(attendance.cost_gbp),
    }
    sort_key = attendance.arrival.isoformat()
    _queue_row(subject, "hospital-sus/ecds", month_of(attendance.arrival), attendance.attendance_id, values,
               kind, notes, spec, sort_key)


def _op_row(subject: Subject, appointment: OutpatientAppointment) -> None:
    person = subject.person
    area, postcode, _, practice = person.address_on(appointment.at.date())
    spec = _Breakable("APPTDATE", "MAINSPEF", "999", ("TARIFF_GBP", "-110.00"))
    kind, notes, who = _hospital_identity(subject, "sus", spec, appointment.appointment_id)
    values = {
        "ATTENDKEY": appointment.appointment_id,
        "LOPATID": subject.ids.mrn,
        "NEWNHSNO": who["nhs"],
        "NHSNOIND": _nhs_indicator(who["nhs"]),
        "DOB": who["dob"],
        "SEX": _HES_SEX.get(person.sex, "9"),
        "ETHNOS": person.ethnic_category,
        "POSTCODE": postcode,
        "LSOA11": area.lsoa_code,
        "GPPRAC": practice,
        "PROCODE3": ACUTE_TRUST,
        "SITETRET": ACUTE_SITE,
        "APPTDATE": iso_date(appointment.at.date()),
        "ATTENDED": appointment.attended,
        "FIRSTATT": "1" if appointment.first else "2",
        "MAINSPEF": appointment.specialty,
        "TRETSPEF": appointment.specialty,
        "REFSOURC": appointment.referral_source,
        "PRIORITY": appointment.priority,
        "OUTCOME": appointment.outcome,
        "DIAG_01": appointment.diagnosis,
        "OPERTN_01": appointment.procedure,
        "TARIFF_GBP": money(appointment.cost_gbp),
    }
    sort_key = appointment.at.isoformat()
    _queue_row(subject, "hospital-sus/op", month_of(appointment.at), appointment.appointment_id, values, kind,
               notes, spec, sort_key)


def _local_identity(
    subject: Subject, quality: str, spec: _Breakable, record_id: str, first_seen: date
) -> tuple[str | None, list[FaultNote], dict[str, str]]:
    """How a local system (community, council) shows the person: address as first recorded."""
    kind = subject.faults.pick("local_csv", exclude=_exclusions(spec, identity=True))
    shown = show_identity(subject, kind, record_id, quality)
    _, postcode, _, _ = subject.person.address_on(first_seen)
    return kind, list(shown.notes), {
        "nhs": shown.nhs_number,
        "dob": iso_date(shown.birth_date),
        "given": shown.given_name,
        "family": shown.family_name,
        "postcode": postcode,
    }


def write_community(subject: Subject) -> None:
    """The community provider's contacts with the person."""
    contacts = subject.history.community
    if not contacts:
        return
    first_seen = contacts[0].at.date()
    person = subject.person
    for contact in contacts:
        spec = _Breakable("contact_date", "reason_code", UNKNOWN_SNOMED, ("duration_minutes", "-30"))
        kind, notes, who = _local_identity(subject, subject.quality.community, spec, contact.contact_id, first_seen)
        values = {
            "contact_id": contact.contact_id,
            "client_id": subject.ids.community_client_id,
            "nhs_number": who["nhs"],
            "given_name": who["given"],
            "family_name": who["family"],
            "birth_date": who["dob"],
            "sex": person.sex,
            "postcode": who["postcode"],
            "gp_practice_code": person.address_on(contact.at.date())[3],
            "team": contact.team,
            "contact_date": iso_date(contact.at.date()),
            "contact_time": contact.at.time().isoformat(),
            "contact_mode": contact.mode,
            "duration_minutes": str(contact.minutes),
            "reason_code": contact.reason.code,
            "reason_display": contact.reason.display,
            "cost_gbp": money(contact.cost_gbp),
        }
        sort_key = contact.at.isoformat()
        _queue_row(subject, "community/contacts", month_of(contact.at), contact.contact_id, values, kind, notes,
                   spec, sort_key)


def write_social_care(subject: Subject) -> None:
    """The council's assessments and the start and end of each package."""
    history, person = subject.history, subject.person
    moments = [a.on for a in history.assessments] + [p.start for p in history.packages]
    if not moments:
        return
    first_seen = min(moments)
    gender = {"male": "M", "female": "F"}.get(person.sex, "U")
    for assessment in history.assessments:
        spec = _Breakable("assessment_date")
        quality = subject.quality.social_care
        kind, notes, who = _local_identity(subject, quality, spec, assessment.assessment_id, first_seen)
        values = {
            "assessment_id": assessment.assessment_id,
            "client_id": subject.ids.social_care_client_id,
            "nhs_number": who["nhs"], "forename": who["given"], "surname": who["family"],
            "date_of_birth": who["dob"], "gender": gender, "postcode": who["postcode"],
            "assessment_date": iso_date(assessment.on),
            "assessment_type": assessment.kind,
            "primary_support_reason": assessment.support_reason,
            "outcome": assessment.outcome,
            "cost_gbp": money(assessment.cost_gbp),
        }
        _queue_row(subject, "social-care/assessments", month_of(assessment.on), assessment.assessment_id, values,
                   kind, notes, spec, assessment.on.isoformat())
    for package in history.packages:
        events = [("started", package.start)]
        if package.end is not None:
            events.append(("ended", package.end))
        for status, day in events:
            if day >= subject.end:
                continue
            record_id = f"{package.package_id}-{status}"
            spec = _Breakable("start_date", impossible=("weekly_hours", "400"))
            kind, notes, who = _local_identity(subject, subject.quality.social_care, spec, record_id, first_seen)
            values = {
                "package_id": package.package_id,
                "client_id": subject.ids.social_care_client_id,
                "nhs_number": who["nhs"], "forename": who["given"], "surname": who["family"],
                "date_of_birth": who["dob"], "gender": gender, "postcode": who["postcode"],
                "record_status": status,
                "service_type": package.service_type,
                "start_date": iso_date(package.start),
                "end_date": iso_date(package.end) if status == "ended" else "",
                "end_reason": package.end_reason if status == "ended" else "",
                "weekly_hours": f"{package.weekly_hours:g}",
                "weekly_cost_gbp": money(package.weekly_cost_gbp),
            }
            _queue_row(subject, "social-care/packages", month_of(day), record_id, values, kind, notes, spec,
                       day.isoformat())

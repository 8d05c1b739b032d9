"""The ground truth, kept beside the feeds and never ingested: who each source record really is,
everything that really happened, and each person's latent risk."""

from __future__ import annotations

import math
from datetime import date, timedelta

from joinedup.synth.activity import repeat_drugs_on
from joinedup.synth.borough import ACUTE_TRUST, COMMUNITY_PROVIDER, LOCAL_AUTHORITY
from joinedup.synth.codes import CONDITIONS, ICD10, OPCS4, SNOMED
from joinedup.synth.costs import unit_costs
from joinedup.synth.writers.common import Subject, csv_row, iso_date, money

PERSONS_COLUMNS = (
    "person_id", "nhs_number", "given_name", "family_name", "birth_date", "sex", "ethnic_category", "postcode",
    "lsoa_code", "imd_decile", "neighbourhood", "practice_code", "lives_alone_flag", "opted_out_flag",
    "resident_from", "resident_to", "death_date", "death_in_hospital_flag", "conditions", "efi_deficit_count",
)
SOURCE_RECORDS_COLUMNS = ("source", "local_id", "true_person_id")
EVENTS_COLUMNS = (
    "event_id", "person_id", "kind", "start_date", "end_date", "setting", "org_code", "code", "code_system",
    "cost_gbp", "source_record_id",
)
LATENT_COLUMNS = (
    "person_id", "year_start", "age", "efi_deficit_count", "emergency_admission_rate",
    "p_emergency_admission_12m", "p_death_12m",
)
FAULTS_COLUMNS = ("file", "position", "fault_kind", "record_id", "origin", "detail")
TRUTH_HEADERS = {
    "truth/persons.csv": PERSONS_COLUMNS,
    "truth/source_records.csv": SOURCE_RECORDS_COLUMNS,
    "truth/events.csv": EVENTS_COLUMNS,
    "truth/latent_risk.csv": LATENT_COLUMNS,
}


def _flag(value: bool) -> str:
    return "1" if value else "0"


def write_truth(subject: Subject) -> None:
    """The person's rows in every truth file."""
    person, clinical, history, spool = subject.person, subject.clinical, subject.history, subject.spool
    enters = max(subject.start, person.resident_from)
    deficits = clinical.deficit_count(
        enters, lives_alone=person.lives_alone, repeat_drug_count=len(repeat_drugs_on(clinical, enters))
    )
    conditions = [k for k in CONDITIONS if k in clinical.conditions and clinical.conditions[k] < subject.end]
    spool.add_direct(
        "truth/persons.csv",
        csv_row([
            person.person_id, person.nhs_number, person.given_name, person.family_name, iso_date(person.birth_date),
            person.sex, person.ethnic_category, person.postcode, person.small_area.lsoa_code,
            str(person.small_area.imd_decile), person.small_area.neighbourhood, person.practice_code,
            _flag(person.lives_alone), _flag(person.opted_out), iso_date(person.resident_from),
            iso_date(person.resident_to), iso_date(person.death_date), _flag(person.death_in_hospital),
            ";".join(conditions), str(deficits),
        ]),
    )
    for source, local_id in source_identities(subject):
        spool.add_direct("truth/source_records.csv", csv_row([source, local_id, person.person_id]))
    for year in history.risk_years:
        spool.add_direct(
            "truth/latent_risk.csv",
            csv_row([
                person.person_id, iso_date(year.year_start), str(year.age), str(year.deficit_count),
                f"{year.emergency_rate:.5f}", f"{1 - math.exp(-year.emergency_rate):.5f}",
                f"{1 - math.exp(-year.death_hazard):.5f}",
            ]),
        )
    for number, row in enumerate(_event_rows(subject), 1):
        spool.add_direct("truth/events.csv", csv_row([f"{person.person_id}-{number:05d}", person.person_id, *row]))
    if not person.opted_out:
        spool.add_direct(cleaned_list_path(subject.end), person.nhs_number)


def cleaned_list_path(end: date) -> str:
    """The national checking service's answer, as checked on the last simulated day (the day
    before ``end``): the date secondary-use outputs describing the period can rely on."""
    return f"national-data-opt-out/cleaned-list-{(end - timedelta(days=1)).isoformat()}.csv"


def source_identities(subject: Subject) -> list[tuple[str, str]]:
    """Every (source, local id) under which some feed shows this person."""
    history, ids = subject.history, subject.ids
    found = [("gp", ids.gp_patient_id)]
    hospital = bool(history.ae or history.spells)
    if hospital:
        found.append(("hospital-pas", ids.mrn))
        if subject.used_duplicate_mrn:
            found.append(("hospital-pas", ids.mrn_duplicate))
    if hospital or history.outpatients:
        found.append(("hospital-sus", ids.mrn))
        if subject.used_duplicate_mrn:
            found.append(("hospital-sus", ids.mrn_duplicate))
    if history.community:
        found.append(("community", ids.community_client_id))
    if history.assessments or history.packages:
        found.append(("social-care", ids.social_care_client_id))
    if history.telehealth:
        found.append(("telehealth", ids.telehealth_id))
    return found


def _event_rows(subject: Subject) -> list[list[str]]:
    person, clinical, history = subject.person, subject.clinical, subject.history
    rows: list[tuple[date, list[str]]] = []
    reading_cost = unit_costs()["telehealth_reading"]

    def add(day: date, kind: str, end: date | None, setting: str, org: str, code: str = "", system: str = "",
            cost: float = 0.0, record: str = "") -> None:
        rows.append((day, [kind, iso_date(day), iso_date(end), setting, org, code, system, money(cost), record]))

    if person.resident_from > subject.start:
        born = person.resident_from == person.birth_date
        add(person.resident_from, "birth" if born else "moved_in", None, "", person.practice_code)
    for move in person.moves:
        add(move.move_date, "practice_change", None, "gp", move.practice_code)
    if person.resident_to and (person.death_date is None or person.resident_to < person.death_date):
        add(person.resident_to, "moved_away", None, "", "")
    if person.death_date:
        add(person.death_date, "death", None, "inpatient" if person.death_in_hospital else "community", "")
    for key, onset in clinical.conditions.items():
        if onset < subject.end:
            add(onset, "condition_onset", None, "gp", "", CONDITIONS[key].snomed.code, SNOMED, record=key)
    for contact in history.gp:
        add(contact.at.date(), "gp_consultation", None, "gp", contact.practice_code, cost=contact.cost_gbp)
    for attendance in history.ae:
        add(attendance.arrival.date(), "ae_attendance", attendance.departure.date(), "ae", ACUTE_TRUST,
            attendance.diagnosis, SNOMED, attendance.cost_gbp, attendance.attendance_id)
    for spell in history.spells:
        kind = "emergency_admission" if spell.emergency else "elective_admission"
        add(spell.admit.date(), kind, spell.discharge.date(), "inpatient", ACUTE_TRUST, spell.diagnoses[0], ICD10,
            spell.cost_gbp, spell.spell_id)
        if spell.procedures:
            add(spell.admit.date(), "procedure", None, "inpatient", ACUTE_TRUST, spell.procedures[0], OPCS4,
                record=spell.spell_id)
    for appointment in history.outpatients:
        add(appointment.at.date(), "outpatient_appointment", None, "outpatient", ACUTE_TRUST, appointment.attended,
            "ATTENDED", appointment.cost_gbp, appointment.appointment_id)
    for community in history.community:
        add(community.at.date(), "community_contact", None, "community", COMMUNITY_PROVIDER, community.reason.code,
            SNOMED, community.cost_gbp, community.contact_id)
    for assessment in history.assessments:
        add(assessment.on, "social_care_assessment", None, "social_care", LOCAL_AUTHORITY, assessment.kind, "",
            assessment.cost_gbp, assessment.assessment_id)
    for package in history.packages:
        add(package.start, "care_package", package.end, "social_care", LOCAL_AUTHORITY, package.service_type, "",
            package.weekly_cost_gbp, package.package_id)
    for reading in history.telehealth:
        add(reading.at.date(), "telehealth_reading", None, "telehealth", "", reading.key, "", reading_cost,
            reading.reading_id)
    rows.sort(key=lambda r: r[0])
    return [row for _, row in rows]

"""The GP system's feed: a FHIR R4 bulk export at the start (NDJSON) and, each day, one transaction
Bundle per patient with activity (a day's NDJSON file), in UK Core shapes. Built as plain dicts and
serialised with orjson."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import orjson

from joinedup.synth.activity import repeat_drugs_on
from joinedup.synth.borough import town_of
from joinedup.synth.codes import (
    BP_DIASTOLIC,
    BP_PANEL,
    BP_SYSTOLIC,
    CONDITIONS,
    EFI_DEFICITS,
    ETHNIC_CATEGORIES,
    GP_ENCOUNTER_TYPES,
    LOINC,
    OBSERVATIONS,
    SNOMED,
    UNKNOWN_SNOMED,
    Code,
)
from joinedup.synth.events import GpContact, Measurement
from joinedup.synth.identifiers import stable_uuid
from joinedup.synth.writers.common import IDENTITY_FAULTS, Subject, iso_instant, show_identity
from joinedup.synth.writers.spool import FaultNote

NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
ODS_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"
ETHNIC_EXTENSION = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory"
ETHNIC_SYSTEM = "https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategory"
UCUM = "http://unitsofmeasure.org"
RESOURCE_TYPES = ("Patient", "Condition", "Observation", "MedicationRequest", "AllergyIntolerance", "Encounter")
_IMPOSSIBLE = {"hba1c": 900.0, "egfr": -5.0, "cholesterol": 95.0, "weight": 0.0, "bmi": 0.0, "heart_rate": 0.0,
               "bp": 400.0}


def _dumps(resource: dict[str, Any]) -> str:
    return orjson.dumps(resource).decode()


def _coding(code: Code) -> dict[str, Any]:
    return {"system": code.system, "code": code.code, "display": code.display}


def patient_resource(
    subject: Subject, on: date, kind: str | None, record_id: str
) -> tuple[dict[str, Any], list[FaultNote]]:
    """The Patient as the GP system holds them on a day (address and practice after any moves)."""
    person = subject.person
    shown = show_identity(subject, kind, record_id)
    area, postcode, line, practice = person.address_on(on)
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": subject.ids.gp_patient_id,
        "meta": {"profile": ["https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient"]},
        "extension": [
            {
                "url": ETHNIC_EXTENSION,
                "valueCodeableConcept": {
                    "coding": [
                        {
                            "system": ETHNIC_SYSTEM,
                            "code": person.ethnic_category,
                            "display": ETHNIC_CATEGORIES[person.ethnic_category],
                        }
                    ]
                },
            }
        ],
        "identifier": [{"system": NHS_NUMBER_SYSTEM, "value": shown.nhs_number}] if shown.nhs_number else [],
        "active": True,
        "name": [{"use": "official", "family": shown.family_name, "given": [shown.given_name]}],
        "gender": person.sex,
        "birthDate": shown.birth_date.isoformat(),
        "address": [{"use": "home", "line": [line], "city": town_of(area.neighbourhood), "postalCode": postcode}],
        "generalPractitioner": [{"type": "Organization", "identifier": {"system": ODS_SYSTEM, "value": practice}}],
    }
    if not resource["identifier"]:
        del resource["identifier"]
    if person.death_date is not None and person.death_date <= on:
        resource["deceasedDateTime"] = iso_instant(datetime.combine(person.death_date, time(12, 0)))
    if person.resident_to is not None and person.resident_to <= on:
        resource["active"] = False
        del resource["generalPractitioner"]
    return resource, shown.notes


def _status(code_system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": f"http://terminology.hl7.org/CodeSystem/{code_system}", "code": code}]}


def _patient_ref(subject: Subject) -> dict[str, str]:
    return {"reference": f"Patient/{subject.ids.gp_patient_id}"}


def encounter_resource(subject: Subject, contact: GpContact) -> dict[str, Any]:
    """A GP consultation."""
    act_class, kind = GP_ENCOUNTER_TYPES[contact.mode]
    minutes = 20 if contact.mode == "home_visit" else 10
    return {
        "resourceType": "Encounter",
        "id": stable_uuid(subject.seed, "Encounter", subject.person.index, contact.seq),
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": act_class},
        "type": [{"coding": [_coding(kind)]}],
        "subject": _patient_ref(subject),
        "period": {"start": iso_instant(contact.at), "end": iso_instant(contact.at + timedelta(minutes=minutes))},
        "serviceProvider": {"identifier": {"system": ODS_SYSTEM, "value": contact.practice_code}},
    }


def condition_resource(
    subject: Subject, code: Code, onset: date, recorded: datetime, encounter_id: str | None, kind: str | None
) -> dict[str, Any]:
    """A problem-list Condition (a long-term condition or a frailty deficit)."""
    coding = _coding(code)
    if kind == "unknown_code":
        coding = {"system": SNOMED, "code": UNKNOWN_SNOMED, "display": code.display}
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "id": stable_uuid(subject.seed, "Condition", subject.person.index, code.code),
        "clinicalStatus": _status("condition-clinical", "active"),
        "verificationStatus": _status("condition-ver-status", "confirmed"),
        "category": [_status("condition-category", "problem-list-item")],
        "code": {"coding": [coding]},
        "subject": _patient_ref(subject),
        "onsetDateTime": onset.isoformat(),
        "recordedDate": iso_instant(recorded),
    }
    if encounter_id:
        resource["encounter"] = {"reference": f"Encounter/{encounter_id}"}
    if kind == "malformed":
        resource["onsetDateTime"] = f"{onset.year}-02-30"
    return resource


def _quantity(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def observation_resource(
    subject: Subject, measurement: Measurement, at: datetime, seq: str, encounter_id: str | None, kind: str | None
) -> dict[str, Any]:
    """A vital sign or lab result (blood pressure as a panel with two components)."""
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": stable_uuid(subject.seed, "Observation", subject.person.index, seq, measurement.key),
        "status": "final",
        "subject": _patient_ref(subject),
        "effectiveDateTime": iso_instant(at),
    }
    value = _IMPOSSIBLE[measurement.key] if kind == "impossible_value" else measurement.value
    if measurement.key == "bp":
        resource["category"] = [_category("vital-signs")]
        resource["code"] = _both(BP_PANEL[0], BP_PANEL[1], BP_PANEL[2])
        resource["component"] = [
            {"code": _both(*BP_SYSTOLIC), "valueQuantity": _quantity(value, "mm[Hg]")},
            {"code": _both(*BP_DIASTOLIC), "valueQuantity": _quantity(measurement.value2, "mm[Hg]")},
        ]
    else:
        snomed, loinc, display, unit, category = OBSERVATIONS[measurement.key]
        resource["category"] = [_category(category)]
        resource["code"] = _both(snomed, loinc, display)
        resource["valueQuantity"] = _quantity(value, unit)
    if encounter_id:
        resource["encounter"] = {"reference": f"Encounter/{encounter_id}"}
    if kind == "unknown_code":
        resource["code"]["coding"] = [{"system": SNOMED, "code": UNKNOWN_SNOMED}]
    if kind == "malformed":
        resource["effectiveDateTime"] = at.strftime("%d/%m/%Y %H:%M")
    return resource


def _category(code: str) -> dict[str, Any]:
    return {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": code}]}


def _both(snomed: str, loinc: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": SNOMED, "code": snomed, "display": display}, {"system": LOINC, "code": loinc}]}


def medication_request_resource(
    subject: Subject, drug: Code, repeat: bool, authored: datetime, seq: str, encounter_id: str | None, kind: str | None
) -> dict[str, Any]:
    """A prescription: a repeat (re-authorised at reviews) or an acute issue."""
    coding = _coding(drug)
    if kind == "unknown_code":
        coding["code"] = UNKNOWN_SNOMED
    resource: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": stable_uuid(subject.seed, "MedicationRequest", subject.person.index, seq, drug.code),
        "status": "active" if repeat else "completed",
        "intent": "order",
        "medicationCodeableConcept": {"coding": [coding]},
        "subject": _patient_ref(subject),
        "authoredOn": iso_instant(authored),
        "courseOfTherapyType": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/medicationrequest-course-of-therapy",
                    "code": "continuous" if repeat else "acute",
                }
            ]
        },
        "dispenseRequest": {"numberOfRepeatsAllowed": 11 if repeat else 0},
    }
    if encounter_id:
        resource["encounter"] = {"reference": f"Encounter/{encounter_id}"}
    if kind == "malformed":
        resource["authoredOn"] = "yesterday"
    return resource


def allergy_resource(subject: Subject, substance: Code, recorded: date) -> dict[str, Any]:
    """A recorded allergy."""
    return {
        "resourceType": "AllergyIntolerance",
        "id": stable_uuid(subject.seed, "AllergyIntolerance", subject.person.index, substance.code),
        "clinicalStatus": _status("allergyintolerance-clinical", "active"),
        "verificationStatus": _status("allergyintolerance-verification", "confirmed"),
        "code": {"coding": [_coding(substance)]},
        "patient": _patient_ref(subject),
        "recordedDate": recorded.isoformat(),
    }


# --- baseline -------------------------------------------------------------------------------------


def write_gp_baseline(subject: Subject) -> None:
    """The bulk export on the start date, for everyone registered then."""
    person, clinical, start = subject.person, subject.clinical, subject.start
    if person.resident_from > start:
        return
    spool, faults = subject.spool, subject.faults

    def put(resource: dict[str, Any], feed: str, notes: list[FaultNote] | None = None) -> None:
        spool.add_direct(f"gp/baseline/{resource['resourceType']}.ndjson", _dumps(resource), tuple(notes or ()))

    kind = faults.pick("gp_baseline_patient")
    patient, notes = patient_resource(subject, start - timedelta(days=1), kind, subject.ids.gp_patient_id)
    put(patient, "gp_baseline_patient", notes)
    items = [(CONDITIONS[k].snomed, onset) for k, onset in clinical.conditions.items() if onset < start]
    items += [(EFI_DEFICITS[k], onset) for k, onset in clinical.deficits.items() if onset < start]
    if person.lives_alone:
        items.append((EFI_DEFICITS["social_vulnerability"], start - timedelta(days=365)))
    for code, onset in items:
        kind = faults.pick("gp_baseline_clinical", exclude=("impossible_value", "malformed"))
        resource = condition_resource(subject, code, onset, datetime.combine(onset, time(10, 0)), None, kind)
        put(resource, "gp_baseline_clinical", _note(kind, resource))
    conditions = clinical.conditions_on(start - timedelta(days=1))
    if conditions:
        review_day = start - timedelta(days=30 + person.index % 300)
        review = GpContact(0, datetime.combine(review_day, time(10, 0)), "face_to_face", person.practice_code, True)
        encounter = encounter_resource(subject, review)
        put(encounter, "gp_baseline_clinical")
        for measurement in _baseline_measurements(subject, conditions):
            kind = faults.pick("gp_baseline_clinical")
            resource = observation_resource(subject, measurement, review.at, "baseline", encounter["id"], kind)
            put(resource, "gp_baseline_clinical", _note(kind, resource))
        for drug in repeat_drugs_on(clinical, start - timedelta(days=1)):
            kind = faults.pick("gp_baseline_clinical", exclude=("impossible_value",))
            resource = medication_request_resource(subject, drug, True, review.at, "baseline", encounter["id"], kind)
            put(resource, "gp_baseline_clinical", _note(kind, resource))
    for substance in clinical.allergies:
        put(allergy_resource(subject, substance, start - timedelta(days=400)), "gp_baseline_clinical")


def _baseline_measurements(subject: Subject, conditions: list[str]) -> list[Measurement]:
    clinical = subject.clinical
    weight = clinical.weight_kg
    systolic = round(clinical.systolic_base)
    found = [
        Measurement("bp", systolic, round(systolic * 0.6 + 6)),
        Measurement("weight", weight),
        Measurement("bmi", round(weight / clinical.height_m**2, 1)),
    ]
    if "diabetes" in conditions:
        found.append(Measurement("hba1c", round(clinical.hba1c_mean)))
    if set(conditions) & {"diabetes", "ckd", "hypertension", "heart_failure"}:
        found.append(Measurement("egfr", round(clinical.egfr_base)))
    return found


def _note(kind: str | None, resource: dict[str, Any]) -> list[FaultNote]:
    return [FaultNote(kind, str(resource["id"]))] if kind else []


# --- daily bundles --------------------------------------------------------------------------------


def write_gp_daily(subject: Subject) -> None:
    """Every GP-visible change and contact, into the patient's transaction Bundle of the day."""
    person = subject.person
    changes: list[date] = []
    if person.resident_from > subject.start:
        changes.append(person.resident_from)
    changes.extend(m.move_date for m in person.moves)
    if person.death_date is not None:
        changes.append(min(person.death_date + timedelta(days=1 + person.index % 3), subject.end - timedelta(days=1)))
    if person.resident_to is not None and (person.death_date is None or person.resident_to < person.death_date):
        changes.append(person.resident_to)
    for day in changes:
        if day >= subject.end:
            continue
        kind = subject.faults.pick("gp_patient")
        patient, notes = patient_resource(subject, day, kind, subject.ids.gp_patient_id)
        if kind is not None and kind not in IDENTITY_FAULTS:
            notes.append(FaultNote(kind, subject.ids.gp_patient_id))
        _put_entry(subject, patient, datetime.combine(day, time(7, 0)), kind, notes)
    if person.lives_alone and subject.start < person.resident_from < subject.end:
        code, at = EFI_DEFICITS["social_vulnerability"], datetime.combine(person.resident_from, time(7, 5))
        _put_entry(subject, condition_resource(subject, code, person.resident_from, at, None, None), at, None, [])
    for contact in subject.history.gp:
        _write_contact(subject, contact)


def _write_contact(subject: Subject, contact: GpContact) -> None:
    encounter = encounter_resource(subject, contact)
    kind = subject.faults.pick("gp_clinical", exclude=("malformed", "unknown_code", "impossible_value"))
    _put_entry(subject, encounter, contact.at, kind, _note(kind, encounter))
    for code in contact.new_conditions:
        kind = subject.faults.pick("gp_clinical", exclude=("impossible_value",))
        resource = condition_resource(subject, code, contact.at.date(), contact.at, encounter["id"], kind)
        _put_entry(subject, resource, contact.at, kind, _note(kind, resource))
    seq = f"gp{contact.seq}"
    for measurement in contact.measurements:
        kind = subject.faults.pick("gp_clinical")
        resource = observation_resource(subject, measurement, contact.at, seq, encounter["id"], kind)
        _put_entry(subject, resource, contact.at, kind, _note(kind, resource))
    for drug, repeat in contact.prescriptions:
        kind = subject.faults.pick("gp_clinical", exclude=("impossible_value",))
        resource = medication_request_resource(subject, drug, repeat, contact.at, seq, encounter["id"], kind)
        _put_entry(subject, resource, contact.at, kind, _note(kind, resource))


def _put_entry(
    subject: Subject, resource: dict[str, Any], at: datetime, kind: str | None, notes: list[FaultNote]
) -> None:
    """Queue a Bundle entry on its day (a later day when late; sent again the next day when duplicated).

    The key starts ``day|patient id`` so a day's entries come back grouped into one Bundle per patient
    (see ``patient_day_of``).
    """
    entry = _dumps(
        {
            "fullUrl": f"urn:uuid:{resource['id']}",
            "resource": resource,
            "request": {"method": "PUT", "url": f"{resource['resourceType']}/{resource['id']}"},
        }
    )
    day = at.date()
    key = f"{at.time().isoformat()}|{resource['resourceType'] != 'Patient'}|{resource['id']}"
    if kind == "late":
        late_day = day + timedelta(days=1 + subject.faults.rng.randrange(5))
        if late_day < subject.end:
            day, key = late_day, f"23:59:59|late|{resource['id']}"
        else:
            notes = [n for n in notes if n.kind != "late"]
    patient = subject.ids.gp_patient_id
    key = f"{day.isoformat()}|{patient}|{key}"
    output = f"gp/daily-month/{day.year:04d}-{day.month:02d}"
    resend = day + timedelta(days=1)
    if kind == "duplicate" and resend < subject.end:
        # A transaction may hold a resource only once, so the repeat comes in the patient's Bundle of the next day.
        subject.spool.add(output, entry, key, tuple(n for n in notes if n.kind != "duplicate"))
        again = f"{resend.isoformat()}|{patient}|23:59:58|duplicate|{resource['id']}"
        duplicate = (FaultNote("duplicate", str(resource["id"])),)
        subject.spool.add(f"gp/daily-month/{resend.year:04d}-{resend.month:02d}", entry, again, duplicate)
        return
    if kind == "duplicate":
        notes = [n for n in notes if n.kind != "duplicate"]
    subject.spool.add(output, entry, key, tuple(notes))


def patient_day_of(sort_key: str) -> tuple[str, str]:
    """The day and the GP patient id a daily entry's spool key names (its Bundle)."""
    day, patient, _ = sort_key.split("|", 2)
    return day, patient


def patient_day_bundle(day: str, patient: str, seed: int, entries: list[str]) -> str:
    """One patient's transaction Bundle of a day, as one NDJSON line.

    Why per patient: a transaction is all or nothing, so a day's Bundle for the whole borough lost
    every consultation of the day to one bad entry. Real GP systems (GP Connect, IM1) send a
    patient's changes together; a fault now costs only that patient's changes that day.
    """
    head = orjson.dumps(
        {
            "resourceType": "Bundle",
            "id": stable_uuid(seed, "Bundle", day, patient),
            "meta": {"lastUpdated": f"{day}T23:59:59Z"},
            "type": "transaction",
            "timestamp": f"{day}T23:59:59Z",
        }
    ).decode()
    return head[:-1] + ',"entry":[' + ",".join(entries) + "]}\n"

"""FHIR R4 resources (as plain dicts) → store rows, collecting every problem with its path.

Patient → ``source_patient`` (UK Core NHS number identifier, ODS practice, ethnic category);
Encounter, Condition, Observation (panel components as rows of their own), MedicationRequest and
MedicationStatement, AllergyIntolerance, Procedure → their record tables; CarePlan, ServiceRequest
and any other resource about a patient → ``care_document`` kept whole. Codes are kept as given.
Resources about nobody (Practitioner, Organization...) are support material inside a bundle.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson

from joinedup.feeds.codes import is_snomed_id, parse_date, parse_datetime, short_system
from joinedup.feeds.errors import Problems
from joinedup.feeds.mapped import MappedMessage, PatientKey, RecordKey, RecordRow

NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
ODS_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"
ETHNIC_CATEGORY_URL = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory"
ADMISSION_METHOD_URL = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-AdmissionMethod"

# FHIR Encounter.class → the record's setting.
CLASS_SETTINGS = {
    "EMER": "ae",
    "IMP": "inpatient",
    "ACUTE": "inpatient",
    "NONAC": "inpatient",
    "PRENC": "outpatient",
    "SS": "inpatient",
    "OBSENC": "inpatient",
    "HH": "community",
    "VR": "telehealth",
    "FLD": "community",
}
# Feed sources whose ambulatory (AMB) encounters are their own setting, not hospital outpatients.
AMBULATORY_SETTINGS = {"gp": "gp", "community": "community", "social-care": "social_care", "telehealth": "telehealth"}

ENCOUNTER_STATUSES = {"planned", "arrived", "triaged", "in-progress", "onleave", "finished", "cancelled",
                      "entered-in-error", "unknown"}


def as_list(value: Any) -> list[Any]:
    """A FHIR repeating element as a list, whether it arrived as one item or many."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def first(value: Any) -> Any:
    """The first item of a repeating element, or None."""
    items = as_list(value)
    return items[0] if items else None


def reference_id(reference: str) -> str:
    """The logical id of ``Patient/123``, ``https://x/fhir/Patient/123/_history/2`` or ``urn:uuid:…``."""
    if reference.startswith("urn:uuid:") or reference.startswith("urn:oid:"):
        return reference.rsplit(":", 1)[-1]
    parts = reference.split("/_history/", 1)[0].rstrip("/").split("/")
    return parts[-1]


def record_id(resource: dict[str, Any], full_url: str | None) -> str:
    """The id a resource is stored under: its own id, its ``urn:uuid`` fullUrl, or a content hash."""
    identifier = resource.get("id")
    if isinstance(identifier, str) and identifier:
        return identifier[:80]
    if full_url:
        return reference_id(full_url)[:80]
    return "sha:" + hashlib.sha256(orjson.dumps(resource, option=orjson.OPT_SORT_KEYS)).hexdigest()[:40]


class BundleContext:
    """What mapping one bundle (or one lone resource) needs to resolve references in it."""

    def __init__(self, source: str, message: MappedMessage, problems: Problems) -> None:
        self.source = source
        self.message = message
        self.problems = problems
        self.by_full_url: dict[str, dict[str, Any]] = {}
        self.medications: dict[str, dict[str, Any]] = {}

    def index(self, entries: list[tuple[str, dict[str, Any]]]) -> None:
        """Remember every entry by fullUrl and ``Type/id`` so references inside the bundle resolve."""
        for full_url, resource in entries:
            if full_url:
                self.by_full_url[full_url] = resource
            if resource.get("id"):
                self.by_full_url[f"{resource['resourceType']}/{resource['id']}"] = resource
            if resource.get("resourceType") == "Medication":
                self.medications[f"Medication/{resource.get('id')}"] = resource
                if full_url:
                    self.medications[full_url] = resource

    def patient_key(self, reference: Any, path: str) -> PatientKey | None:
        """The source patient a ``subject``/``patient`` reference names, or None with a problem noted."""
        if not isinstance(reference, dict):
            self.problems.add(path, "missing_patient", "no patient reference")
            return None
        ref = reference.get("reference")
        identifier = reference.get("identifier")
        if isinstance(ref, str) and ref:
            target = self.by_full_url.get(ref)
            if target is not None and target.get("resourceType") == "Patient":
                return (self.source, record_id(target, ref if ref.startswith("urn:") else None))
            if ref.startswith("#"):
                self.problems.add(path, "unsupported_reference", "a contained patient is not supported")
                return None
            kind = ref.split("/_history/", 1)[0].rstrip("/").split("/")
            if ref.startswith("urn:uuid:") or (len(kind) >= 2 and kind[-2] == "Patient"):
                return (self.source, reference_id(ref)[:64])
            self.problems.add(path, "unsupported_reference", "the subject is not a Patient")
            return None
        if isinstance(identifier, dict) and identifier.get("system") == NHS_NUMBER_SYSTEM and identifier.get("value"):
            # A logical reference by NHS number: a patient known to this source by that number alone.
            local_id = f"nhs-number:{str(identifier['value']).replace(' ', '')}"[:64]
            key = (self.source, local_id)
            self.message.add_patient(
                {"source": self.source, "local_id": local_id, "nhs_number_given": str(identifier["value"])},
                nhs_number_path=f"{path}.identifier",
            )
            return key
        self.problems.add(path, "missing_patient", "no patient reference")
        return None

    def encounter_key(self, reference: Any) -> RecordKey | None:
        """The encounter a reference names (in this bundle or already stored), if any."""
        if not isinstance(reference, dict) or not isinstance(reference.get("reference"), str):
            return None
        ref = reference["reference"]
        target = self.by_full_url.get(ref)
        if target is not None:
            return (self.source, record_id(target, ref if ref.startswith("urn:") else None))
        return (self.source, reference_id(ref)[:80])


def _coding(concept: Any, path: str, problems: Problems, *, required: bool = True) -> dict[str, Any] | None:
    """The coding to keep from a CodeableConcept: SNOMED CT first, else the first with a code."""
    # One pass, as this runs for nearly every resource: the first SNOMED CT coding with a code, else the first coded.
    chosen: dict[str, Any] | None = None
    system = ""
    for coding in as_list(concept.get("coding") if isinstance(concept, dict) else None):
        if not isinstance(coding, dict) or not coding.get("code"):
            continue
        coding_system = short_system(coding.get("system"))
        if coding_system == "snomed":
            chosen, system = coding, coding_system
            break
        if chosen is None:
            chosen, system = coding, coding_system
    if chosen is None:
        if required:
            problems.add(path, "unknown_code", "no coded value (text only or empty)")
        return None
    if len(str(chosen["code"])) > 20:
        if required:
            problems.add(path, "unknown_code", "a code longer than any terminology uses")
        return None
    if system in ("snomed", "dmd") and not is_snomed_id(str(chosen["code"]), check_digit=system == "snomed"):
        if required:
            problems.add(path, "unknown_code", "not a SNOMED CT identifier (partition or check digit wrong)")
        return None
    return chosen


def _code_values(concept: Any, path: str, problems: Problems) -> dict[str, Any] | None:
    coding = _coding(concept, path, problems)
    if coding is None:
        return None
    display = coding.get("display") or (concept.get("text") if isinstance(concept, dict) else None)
    return {"code": str(coding["code"]), "code_system": short_system(coding.get("system")),
            "display": display[:200] if isinstance(display, str) else None}


def _when(value: Any, path: str, problems: Problems) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_datetime(str(value))
    except ValueError:
        problems.add(path, "malformed_date", "not a valid date-time")
        return None


def _day(value: Any, path: str, problems: Problems) -> Any:
    if value is None:
        return None
    try:
        return parse_date(str(value))
    except ValueError:
        problems.add(path, "malformed_date", "not a valid date")
        return None


def _element(resource: dict[str, Any], name: str) -> dict[str, Any]:
    """A complex element (``period``...) as a dict, empty when absent or malformed."""
    value = resource.get(name)
    return value if isinstance(value, dict) else {}


def _text(value: Any, length: int) -> str | None:
    return value[:length] if isinstance(value, str) and value else None


def _ods_code(reference: Any) -> str | None:
    if isinstance(reference, dict):
        identifier = reference.get("identifier")
        if isinstance(identifier, dict) and identifier.get("value"):
            return str(identifier["value"])[:12]
    return None


def map_patient(resource: dict[str, Any], path: str, context: BundleContext, full_url: str | None) -> None:
    """Patient → ``source_patient`` values (demographics as this source holds them)."""
    problems = context.problems
    values: dict[str, Any] = {"source": context.source, "local_id": record_id(resource, full_url)[:64]}
    nhs = None
    for identifier in as_list(resource.get("identifier")):
        if isinstance(identifier, dict) and identifier.get("system") == NHS_NUMBER_SYSTEM:
            nhs = identifier.get("value")
            break
    values["nhs_number_given"] = str(nhs) if nhs is not None else None
    names = [n for n in as_list(resource.get("name")) if isinstance(n, dict)]
    name = next((n for n in names if n.get("use") in ("official", "usual")), names[0] if names else None)
    if name:
        values["family_name"] = _text(name.get("family"), 100)
        values["given_name"] = _text(first(name.get("given")), 100)
    gender = resource.get("gender")
    if gender is not None:
        if gender not in ("male", "female", "other", "unknown"):
            problems.add(f"{path}.gender", "unknown_code", "not an administrative gender code")
        values["sex"] = gender
    values["birth_date"] = _day(resource.get("birthDate"), f"{path}.birthDate", problems)
    addresses = [a for a in as_list(resource.get("address")) if isinstance(a, dict)]
    address = next((a for a in addresses if a.get("use") == "home"), addresses[0] if addresses else None)
    if address:
        values["postcode"] = _text(address.get("postalCode"), 10)
        values["address_line"] = _text(first(address.get("line")), 200)
    phone = next((t for t in as_list(resource.get("telecom")) if isinstance(t, dict) and t.get("system") == "phone"),
                 None)
    if phone:
        values["phone"] = _text(phone.get("value"), 40)
    practice = _ods_code(first(resource.get("generalPractitioner")))
    if practice:
        values["registered_practice_code"] = practice
    deceased = resource.get("deceasedDateTime")
    if deceased:
        moment = _when(deceased, f"{path}.deceasedDateTime", problems)
        values["deceased_date"] = moment.date() if moment else None
    for extension in as_list(resource.get("extension")):
        if isinstance(extension, dict) and extension.get("url") == ETHNIC_CATEGORY_URL:
            coding = _coding(extension.get("valueCodeableConcept"), f"{path}.extension(ethnicCategory)", problems,
                             required=False)
            if coding:
                values["ethnicity_code"] = str(coding["code"])[:8]
    security = as_list((resource.get("meta") or {}).get("security")) if isinstance(resource.get("meta"), dict) else []
    if any(isinstance(s, dict) and s.get("code") in ("R", "V") for s in security):
        values["sensitive_flag"] = True
    context.message.add_patient(values, nhs_number_path=f"{path}.identifier")


def map_encounter(resource: dict[str, Any], path: str, context: BundleContext, key: PatientKey, rid: str) -> None:
    """Encounter → ``encounter`` (setting from the class; AMB takes the feed's own setting)."""
    problems = context.problems
    class_code = resource.get("class", {}).get("code") if isinstance(resource.get("class"), dict) else None
    setting = CLASS_SETTINGS.get(class_code or "")
    if class_code in ("AMB", "HH", "VR", None) and context.source in AMBULATORY_SETTINGS:
        # A GP's home visit or phone call is general practice, not community or telehealth care.
        setting = AMBULATORY_SETTINGS[context.source]
    elif setting is None and class_code in ("AMB", None):
        setting = "outpatient"
    if setting is None:
        problems.add(f"{path}.class", "unknown_code", "not an encounter class joinedup knows")
        return
    status = resource.get("status") or "unknown"
    if status not in ENCOUNTER_STATUSES:
        problems.add(f"{path}.status", "unknown_code", "not an encounter status")
    period = _element(resource, "period")
    start = _when(period.get("start"), f"{path}.period.start", problems)
    end = _when(period.get("end"), f"{path}.period.end", problems)
    if start and end and end < start:
        problems.add(f"{path}.period", "impossible_value", "ends before it starts")
    values: dict[str, Any] = {
        "source": context.source, "source_record_id": rid, "setting": setting, "class_code": class_code,
        "status": status if status != "unknown" else None, "start_at": start, "end_at": end,
        "org_code": _ods_code(resource.get("serviceProvider")),
    }
    kind = first(resource.get("type"))
    coding = _coding(kind, f"{path}.type", problems, required=False) if kind else None
    if coding:
        values["service_code"] = str(coding["code"])[:40]
        values["description"] = _text(coding.get("display") or kind.get("text"), 200)
    location = first(resource.get("location"))
    if isinstance(location, dict) and isinstance(location.get("location"), dict):
        values["location"] = _text(location["location"].get("display"), 80)
    hospitalization = resource.get("hospitalization")
    if isinstance(hospitalization, dict):
        disposition = _coding(hospitalization.get("dischargeDisposition"), f"{path}.hospitalization", problems,
                              required=False)
        if disposition:
            values["discharge_destination"] = str(disposition["code"])[:40]
    for extension in as_list(resource.get("extension")):
        if isinstance(extension, dict) and extension.get("url") == ADMISSION_METHOD_URL:
            method = _coding(extension.get("valueCodeableConcept"), f"{path}.extension(admissionMethod)", problems,
                             required=False)
            if method:
                values["admission_method"] = admission_method(str(method["code"]))
    reason = first(resource.get("reasonCode"))
    reason_coding = _coding(reason, f"{path}.reasonCode", problems, required=False) if reason else None
    if reason_coding:
        values["primary_diagnosis_code"] = str(reason_coding["code"])
        values["primary_diagnosis_code_system"] = short_system(reason_coding.get("system"))
    context.message.records.append(RecordRow("encounter", values, key))


def admission_method(code: str) -> str:
    """NHS Data Dictionary admission method (``11``…``2A``…``81``) → the record's grouping."""
    if code.startswith("1"):
        return "elective"
    if code.startswith("2"):
        return "emergency"
    if code.startswith("3"):
        return "maternity"
    if code == "81":
        return "transfer"
    return "other"


def map_condition(resource: dict[str, Any], path: str, context: BundleContext, key: PatientKey, rid: str) -> None:
    """Condition → ``condition``."""
    problems = context.problems
    code = _code_values(resource.get("code"), f"{path}.code", problems)
    category = _coding(first(resource.get("category")), f"{path}.category", problems, required=False)
    clinical = _coding(resource.get("clinicalStatus"), f"{path}.clinicalStatus", problems, required=False)
    onset = _day(resource.get("onsetDateTime"), f"{path}.onsetDateTime", problems)
    abatement = _day(resource.get("abatementDateTime"), f"{path}.abatementDateTime", problems)
    if onset is None and resource.get("recordedDate"):
        onset = _day(resource.get("recordedDate"), f"{path}.recordedDate", problems)
    if code is None:
        return
    values = {
        "source": context.source, "source_record_id": rid, **code,
        "category": str(category["code"])[:24] if category else None,
        "clinical_status": str(clinical["code"])[:12] if clinical else None,
        "onset_date": onset, "abatement_date": abatement,
    }
    encounter = context.encounter_key(resource.get("encounter"))
    context.message.records.append(RecordRow("condition", values, key, encounter))


def _quantity(resource: dict[str, Any], path: str, problems: Problems) -> dict[str, Any]:
    values: dict[str, Any] = {}
    quantity = resource.get("valueQuantity")
    if isinstance(quantity, dict):
        number = quantity.get("value")
        try:
            values["value_num"] = float(number) if number is not None else None
        except (TypeError, ValueError):
            problems.add(f"{path}.valueQuantity.value", "malformed_value", "not a number")
        values["unit"] = _text(quantity.get("unit") or quantity.get("code"), 20)
    elif resource.get("valueString") is not None:
        values["value_text"] = _text(str(resource["valueString"]), 200)
    elif isinstance(resource.get("valueCodeableConcept"), dict):
        concept = resource["valueCodeableConcept"]
        coding = first(concept.get("coding")) or {}
        values["value_text"] = _text(concept.get("text") or coding.get("display") or coding.get("code"), 200)
    elif resource.get("valueBoolean") is not None:
        values["value_text"] = str(resource["valueBoolean"]).lower()
    elif resource.get("valueInteger") is not None:
        values["value_num"] = float(resource["valueInteger"])
    return values


# Values no living body has, per code (LOINC and SNOMED): a reading outside is quarantined.
PLAUSIBLE_RANGES: dict[str, tuple[float, float]] = {
    "29463-7": (0.3, 400.0), "27113001": (0.3, 400.0),  # body weight, kg
    "59261-8": (10.0, 250.0), "999791000000106": (10.0, 250.0),  # HbA1c, mmol/mol
    "8480-6": (40.0, 300.0), "271649006": (40.0, 300.0),  # systolic BP
    "8462-4": (20.0, 200.0), "271650006": (20.0, 200.0),  # diastolic BP
    "8867-4": (20.0, 300.0), "364075005": (20.0, 300.0),  # heart rate
    "59408-5": (40.0, 100.0), "2708-6": (40.0, 100.0),  # SpO2 %
    "39156-5": (5.0, 150.0), "60621009": (5.0, 150.0),  # BMI
    "15074-8": (0.5, 60.0),  # blood glucose mmol/L
    "2093-3": (0.5, 30.0), "1005671000000105": (0.5, 30.0),  # total cholesterol, mmol/L
    "62238-1": (1.0, 200.0), "1011481000000105": (1.0, 200.0),  # eGFR, mL/min/1.73m2
}


def check_plausible(code: str, value: float | None, path: str, problems: Problems) -> None:
    """Note an ``impossible_value`` when a measurement is outside what any body gives."""
    bounds = PLAUSIBLE_RANGES.get(code)
    if bounds is not None and value is not None and not bounds[0] <= value <= bounds[1]:
        problems.add(path, "impossible_value", "a value outside what any body gives")


def map_observation(resource: dict[str, Any], path: str, context: BundleContext, key: PatientKey, rid: str) -> None:
    """Observation → ``observation``; each panel component (blood pressure) is a row of its own too."""
    problems = context.problems
    code = _code_values(resource.get("code"), f"{path}.code", problems)
    category = _coding(first(resource.get("category")), f"{path}.category", problems, required=False)
    period = _element(resource, "effectivePeriod")
    effective = resource.get("effectiveDateTime") or period.get("start")
    effective_at = _when(effective or resource.get("effectiveInstant") or resource.get("issued"),
                         f"{path}.effective[x]", problems)
    interpretation = _coding(first(resource.get("interpretation")), f"{path}.interpretation", problems,
                             required=False)
    quantity = _quantity(resource, path, problems)
    if code is None:
        return
    check_plausible(code["code"], quantity.get("value_num"), f"{path}.valueQuantity", problems)
    encounter = context.encounter_key(resource.get("encounter"))
    shared = {"source": context.source, "category": str(category["code"])[:20] if category else None,
              "effective_at": effective_at,
              "interpretation": str(interpretation["code"])[:4] if interpretation else None}
    context.message.records.append(
        RecordRow("observation", {**shared, "source_record_id": rid, **code, **quantity}, key, encounter)
    )
    for index, component in enumerate(as_list(resource.get("component"))):
        if not isinstance(component, dict):
            continue
        part_path = f"{path}.component[{index}]"
        part_code = _code_values(component.get("code"), f"{part_path}.code", problems)
        part_value = _quantity(component, part_path, problems)
        if part_code is None:
            continue
        check_plausible(part_code["code"], part_value.get("value_num"), f"{part_path}.valueQuantity", problems)
        values = {**shared, "source_record_id": f"{rid}/component/{index}"[:80], **part_code, **part_value}
        context.message.records.append(RecordRow("observation", values, key, encounter))


def map_medication(resource: dict[str, Any], path: str, context: BundleContext, key: PatientKey, rid: str) -> None:
    """MedicationRequest / MedicationStatement → ``medication`` (dm+d or other code as given)."""
    problems = context.problems
    statement = resource["resourceType"] == "MedicationStatement"
    concept = resource.get("medicationCodeableConcept")
    if concept is None and isinstance(resource.get("medicationReference"), dict):
        ref = resource["medicationReference"].get("reference", "")
        medication = context.medications.get(ref)
        if medication is None and ref.startswith("#"):
            medication = next((c for c in as_list(resource.get("contained"))
                               if isinstance(c, dict) and c.get("id") == ref[1:]), None)
        if medication is None:
            problems.add(f"{path}.medicationReference", "unresolved_reference",
                         "the Medication it names is not in the message")
            return
        concept = medication.get("code")
    code = _code_values(concept, f"{path}.medication[x]", problems)
    if statement:
        when = resource.get("effectiveDateTime") or resource.get("dateAsserted")
    else:
        when = resource.get("authoredOn")
    authored = _day(when, f"{path}.{'effective[x]' if statement else 'authoredOn'}", problems)
    dosage = first(resource.get("dosage") if statement else resource.get("dosageInstruction"))
    if code is None:
        return
    values = {"source": context.source, "source_record_id": rid, **code,
              "kind": "statement" if statement else "request",
              "status": _text(resource.get("status"), 20), "authored_on": authored,
              "dosage_text": _text(dosage.get("text"), 200) if isinstance(dosage, dict) else None}
    context.message.records.append(RecordRow("medication", values, key))


def map_allergy(resource: dict[str, Any], path: str, context: BundleContext, key: PatientKey, rid: str) -> None:
    """AllergyIntolerance → ``allergy``."""
    problems = context.problems
    code = _code_values(resource.get("code"), f"{path}.code", problems)
    reaction = first(resource.get("reaction"))
    manifestation = first(reaction.get("manifestation")) if isinstance(reaction, dict) else None
    manifestation_coding = first(manifestation.get("coding")) if isinstance(manifestation, dict) else None
    reaction_text = (manifestation_coding or {}).get("display") if isinstance(manifestation_coding, dict) else None
    recorded = _day(resource.get("recordedDate"), f"{path}.recordedDate", problems)
    if code is None:
        return
    values = {"source": context.source, "source_record_id": rid, **code,
              "criticality": _text(resource.get("criticality"), 20),
              "reaction": _text(reaction_text or (manifestation or {}).get("text")
                                if isinstance(manifestation, dict) else None, 200),
              "recorded_date": recorded}
    context.message.records.append(RecordRow("allergy", values, key))


def map_procedure(resource: dict[str, Any], path: str, context: BundleContext, key: PatientKey, rid: str) -> None:
    """Procedure → ``procedure``."""
    problems = context.problems
    code = _code_values(resource.get("code"), f"{path}.code", problems)
    period = _element(resource, "performedPeriod")
    performed = _when(resource.get("performedDateTime") or period.get("start"), f"{path}.performed[x]", problems)
    if code is None:
        return
    values = {"source": context.source, "source_record_id": rid, **code, "performed_at": performed}
    encounter = context.encounter_key(resource.get("encounter"))
    context.message.records.append(RecordRow("procedure", values, key, encounter))


def map_document(resource: dict[str, Any], path: str, context: BundleContext, key: PatientKey, rid: str) -> None:
    """CarePlan, ServiceRequest and any other resource about a patient → ``care_document``, whole."""
    problems = context.problems
    period = _element(resource, "period")
    when = (resource.get("authoredOn") or resource.get("occurrenceDateTime") or resource.get("effectiveDateTime")
            or resource.get("date") or period.get("start"))
    effective = _when(when, f"{path}.date", problems) if isinstance(when, str) else None
    values = {"source": context.source, "source_record_id": rid, "resource_type": resource["resourceType"][:40],
              "status": _text(resource.get("status"), 20), "effective_at": effective,
              "resource_json": orjson.dumps(resource).decode()}
    context.message.records.append(RecordRow("care_document", values, key))


RecordMapper = Callable[[dict[str, Any], str, BundleContext, PatientKey, str], None]

MAPPERS: dict[str, RecordMapper] = {
    "Encounter": map_encounter,
    "Condition": map_condition,
    "Observation": map_observation,
    "MedicationRequest": map_medication,
    "MedicationStatement": map_medication,
    "AllergyIntolerance": map_allergy,
    "Procedure": map_procedure,
}

# Resources about nobody in particular: they support references and are otherwise not stored.
SUPPORT_RESOURCES = {
    "Practitioner", "PractitionerRole", "Organization", "Location", "Medication", "HealthcareService",
    "Device", "Substance", "Questionnaire", "Schedule", "Slot", "OperationOutcome", "MessageHeader",
    "Endpoint", "Group", "CodeSystem", "ValueSet", "StructureDefinition", "CapabilityStatement", "Provenance",
    "AuditEvent", "Binary", "Subscription", "Parameters", "Basic", "List", "ImagingStudy", "BodyStructure",
}


def patient_reference(resource: dict[str, Any]) -> Any:
    """The element naming the patient a resource is about (``subject``, ``patient``, ``beneficiary``)."""
    for name in ("subject", "patient", "beneficiary", "for"):
        if resource.get(name) is not None:
            return first(resource[name])
    for participant in as_list(resource.get("participant")):
        actor = participant.get("actor") if isinstance(participant, dict) else None
        if isinstance(actor, dict) and "Patient/" in str(actor.get("reference", "")):
            return actor
    return None


def map_resource(resource: dict[str, Any], path: str, context: BundleContext, full_url: str | None) -> bool:
    """Map one resource into the message; returns False when it had nowhere to go (support material)."""
    kind = resource.get("resourceType")
    if kind == "Patient":
        map_patient(resource, path, context, full_url)
        return True
    mapper = MAPPERS.get(str(kind))
    reference = patient_reference(resource)
    if mapper is None and (kind in SUPPORT_RESOURCES or reference is None):
        return False
    if isinstance(reference, dict) and isinstance(reference.get("reference"), str):
        target_kind = reference_id_kind(reference["reference"], context)
        if mapper is None and target_kind not in ("Patient", None):
            return False
    element = next((name for name in ("subject", "patient", "beneficiary", "for") if name in resource), "participant")
    key = context.patient_key(reference, f"{path}.{element}")
    if key is None:
        return True
    rid = record_id(resource, full_url)
    (mapper or map_document)(resource, path, context, key, rid)
    return True


def reference_id_kind(reference: str, context: BundleContext) -> str | None:
    """The resource type a reference points at, when it can be told (``Patient``, ``Group``...)."""
    target = context.by_full_url.get(reference)
    if target is not None:
        return str(target.get("resourceType"))
    if reference.startswith("urn:"):
        return None
    parts = reference.split("/_history/", 1)[0].rstrip("/").split("/")
    return parts[-2] if len(parts) >= 2 else None

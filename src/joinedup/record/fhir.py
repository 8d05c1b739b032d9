"""The shared care record as FHIR R4 (UK Core identifiers): read, search and ``Patient/$everything``.

Resources are built as plain dicts from the store's rows (validation with ``fhir.resources``
belongs at the edges and in tests: it is too slow for the hot path). Ids: ``Patient`` is the
linked ``person_id``; every other resource is its row's id. ``meta.source`` names the sending
system and ``meta.lastUpdated`` when joinedup last received or changed the item.

Every read asks governance for the person and resource type first (and so leaves an audit
entry); field limits drop elements, sealed items are left out unless the decision allows them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from joinedup.errors import AccessDenied, InvalidInput, NotFound
from joinedup.model import Actor
from joinedup.record._rows import SectionAccess, authorise_sections, source_patients, surviving_person_id
from joinedup.record.patient_record import _by_preference
from joinedup.record.search import search_patients
from joinedup.store.tables import Allergy, Condition, Encounter, Medication, Observation, Procedure, SourcePatient

NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
ODS_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"
DEFAULT_COUNT = 50
MAX_COUNT = 200

CODE_SYSTEMS = {
    "snomed": "http://snomed.info/sct",
    "sct": "http://snomed.info/sct",
    "snomed-ct": "http://snomed.info/sct",
    "icd-10": "http://hl7.org/fhir/sid/icd-10",
    "icd10": "http://hl7.org/fhir/sid/icd-10",
    "loinc": "http://loinc.org",
    "dm+d": "https://dmd.nhs.uk",
    "dmd": "https://dmd.nhs.uk",
    "opcs-4": "http://fhir.nhs.uk/CodeSystem/opcs-4",
    "opcs4": "http://fhir.nhs.uk/CodeSystem/opcs-4",
    "read": "http://read.info/readv2",
    "read-v2": "http://read.info/readv2",
}
CLASS_CODES = {"gp": "AMB", "ae": "EMER", "inpatient": "IMP", "outpatient": "AMB", "community": "HH",
               "social_care": "HH", "telehealth": "VR", "voluntary": "HH"}
ENCOUNTER_STATUSES = {"planned", "arrived", "triaged", "in-progress", "onleave", "finished", "cancelled",
                      "entered-in-error", "unknown"}
MEDICATION_STATUSES = {"active", "on-hold", "cancelled", "completed", "entered-in-error", "stopped", "draft",
                       "unknown"}


def code_system_uri(code_system: str | None) -> str:
    """The FHIR URI of a code system as the store names it (SNOMED, ICD-10, dm+d, LOINC...)."""
    if not code_system:
        return "urn:joinedup:code-system:unknown"
    if "://" in code_system or code_system.startswith("urn:"):
        return code_system
    name = code_system.strip().lower()
    return CODE_SYSTEMS.get(name, "urn:joinedup:code-system:" + re.sub(r"[^a-z0-9.+-]+", "-", name))


def _instant(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


def _meta(row: Any) -> dict[str, Any]:
    updated = getattr(row, "updated_at", None) or getattr(row, "received_at", None)
    meta: dict[str, Any] = {"source": f"urn:joinedup:source:{row.source}"}
    if updated is not None:
        meta["lastUpdated"] = _instant(updated)
    return meta


def _concept(code: str, code_system: str, display: str | None) -> dict[str, Any]:
    coding: dict[str, Any] = {"system": code_system_uri(code_system), "code": code}
    if display:
        coding["display"] = display
    concept: dict[str, Any] = {"coding": [coding]}
    if display:
        concept["text"] = display
    return concept


def _subject(person_id: str) -> dict[str, str]:
    return {"reference": f"Patient/{person_id}"}


# --- resources -------------------------------------------------------------------------------


def patient_resource(person_id: str, patients: Sequence[SourcePatient], access: SectionAccess) -> dict[str, Any]:
    """A ``Patient`` from every linked source's demographics (the GP record leads)."""
    ordered = _by_preference(patients)

    def first(attribute: str) -> Any:
        if not access.can_see(attribute):
            return None
        return next((getattr(p, attribute) for p in ordered if getattr(p, attribute)), None)

    resource: dict[str, Any] = {"resourceType": "Patient", "id": person_id}
    if ordered:
        resource["meta"] = {
            "source": f"urn:joinedup:source:{ordered[0].source}",
            "lastUpdated": _instant(max(p.updated_at for p in ordered)),
        }
    if nhs_number := first("nhs_number"):
        resource["identifier"] = [{"system": NHS_NUMBER_SYSTEM, "value": nhs_number}]
    family, given = first("family_name"), first("given_name")
    if family or given:
        name: dict[str, Any] = {"use": "official"}
        if family:
            name["family"] = family
        if given:
            name["given"] = [given]
        resource["name"] = [name]
    if gender := first("sex"):
        resource["gender"] = gender if gender in ("male", "female", "other", "unknown") else "unknown"
    if birth_date := first("birth_date"):
        resource["birthDate"] = birth_date.isoformat()
    if deceased := first("deceased_date"):
        resource["deceasedDateTime"] = deceased.isoformat()
    line, postcode = first("address_line"), first("postcode")
    if line or postcode:
        address: dict[str, Any] = {"use": "home"}
        if line:
            address["line"] = [line]
        if postcode:
            address["postalCode"] = postcode
        resource["address"] = [address]
    if phone := first("phone"):
        resource["telecom"] = [{"system": "phone", "value": phone}]
    if practice := first("registered_practice_code"):
        resource["generalPractitioner"] = [
            {"type": "Organization", "identifier": {"system": ODS_SYSTEM, "value": practice}}
        ]
    return resource


def encounter_resource(row: Encounter, person_id: str, access: SectionAccess) -> dict[str, Any]:
    """An ``Encounter`` (any setting); a role limited to appointment fields sees only those."""
    status = row.status if row.status in ENCOUNTER_STATUSES and access.can_see("status") else "unknown"
    class_code = row.class_code or CLASS_CODES.get(row.setting or "", "AMB")
    resource: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": str(row.encounter_id),
        "meta": _meta(row),
        "identifier": [{"system": f"urn:joinedup:source:{row.source}", "value": row.source_record_id}],
        "status": status,
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": class_code},
        "subject": _subject(person_id),
    }
    if access.can_see("setting") and row.setting:
        resource["type"] = [{"coding": [{"system": "urn:joinedup:setting", "code": row.setting}],
                             "text": row.description or row.setting}]
    period = {}
    if access.can_see("start_at") and row.start_at:
        period["start"] = _instant(row.start_at)
    if access.can_see("end_at") and row.end_at:
        period["end"] = _instant(row.end_at)
    if period:
        resource["period"] = period
    if access.can_see("org_code") and row.org_code:
        resource["serviceProvider"] = {"identifier": {"system": ODS_SYSTEM, "value": row.org_code}}
    if access.can_see("location") and row.location:
        resource["location"] = [{"location": {"display": row.location}}]
    if access.can_see("primary_diagnosis_code") and row.primary_diagnosis_code:
        resource["reasonCode"] = [_concept(row.primary_diagnosis_code, row.primary_diagnosis_code_system or "", None)]
    if access.can_see("discharge_destination") and row.discharge_destination:
        resource["hospitalization"] = {"dischargeDisposition": {"text": row.discharge_destination}}
    return resource


def condition_resource(row: Condition, person_id: str, access: SectionAccess) -> dict[str, Any]:
    """A ``Condition`` (problem-list item or encounter diagnosis)."""
    clinical = row.clinical_status if row.clinical_status in ("active", "inactive", "resolved", "remission",
                                                               "recurrence", "relapse") else "active"
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "id": str(row.condition_id),
        "meta": _meta(row),
        "clinicalStatus": {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": clinical}]},
        "category": [{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": row.category}]}],
        "code": _concept(row.code, row.code_system, row.display),
        "subject": _subject(person_id),
    }
    if row.encounter_id:
        resource["encounter"] = {"reference": f"Encounter/{row.encounter_id}"}
    if row.onset_date:
        resource["onsetDateTime"] = row.onset_date.isoformat()
    if row.abatement_date:
        resource["abatementDateTime"] = row.abatement_date.isoformat()
    return resource


def observation_resource(row: Observation, person_id: str, access: SectionAccess) -> dict[str, Any]:
    """An ``Observation`` (vital sign, laboratory result, telehealth reading, score)."""
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": str(row.observation_id),
        "meta": _meta(row),
        "status": "final",
        "code": _concept(row.code, row.code_system, row.display),
        "subject": _subject(person_id),
    }
    if row.category:
        resource["category"] = [{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": row.category}]}]
    if row.encounter_id:
        resource["encounter"] = {"reference": f"Encounter/{row.encounter_id}"}
    if row.effective_at:
        resource["effectiveDateTime"] = _instant(row.effective_at)
    if row.value_num is not None:
        quantity: dict[str, Any] = {"value": row.value_num}
        if row.unit:
            quantity["unit"] = row.unit
        resource["valueQuantity"] = quantity
    elif row.value_text:
        resource["valueString"] = row.value_text
    if row.interpretation:
        resource["interpretation"] = [{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
            "code": row.interpretation}]}]
    return resource


def medication_request_resource(row: Medication, person_id: str, access: SectionAccess) -> dict[str, Any]:
    """A ``MedicationRequest`` (a statement is sent as a request with intent ``plan``)."""
    resource: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": str(row.medication_id),
        "meta": _meta(row),
        "status": row.status if row.status in MEDICATION_STATUSES else "unknown",
        "intent": "order" if row.kind == "request" else "plan",
        "medicationCodeableConcept": _concept(row.code, row.code_system, row.display),
        "subject": _subject(person_id),
    }
    if row.authored_on:
        resource["authoredOn"] = row.authored_on.isoformat()
    if row.dosage_text:
        resource["dosageInstruction"] = [{"text": row.dosage_text}]
    return resource


def allergy_resource(row: Allergy, person_id: str, access: SectionAccess) -> dict[str, Any]:
    """An ``AllergyIntolerance``."""
    resource: dict[str, Any] = {
        "resourceType": "AllergyIntolerance",
        "id": str(row.allergy_id),
        "meta": _meta(row),
        "clinicalStatus": {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active"}]},
        "code": _concept(row.code, row.code_system, row.display),
        "patient": _subject(person_id),
    }
    if row.criticality in ("low", "high", "unable-to-assess"):
        resource["criticality"] = row.criticality
    if row.recorded_date:
        resource["recordedDate"] = row.recorded_date.isoformat()
    if row.reaction:
        resource["reaction"] = [{"manifestation": [{"text": row.reaction}]}]
    return resource


def procedure_resource(row: Procedure, person_id: str, access: SectionAccess) -> dict[str, Any]:
    """A ``Procedure`` (OPCS-4 in hospital, SNOMED CT elsewhere)."""
    resource: dict[str, Any] = {
        "resourceType": "Procedure",
        "id": str(row.procedure_id),
        "meta": _meta(row),
        "status": "completed",
        "code": _concept(row.code, row.code_system, row.display),
        "subject": _subject(person_id),
    }
    if row.encounter_id:
        resource["encounter"] = {"reference": f"Encounter/{row.encounter_id}"}
    if row.performed_at:
        resource["performedDateTime"] = _instant(row.performed_at)
    return resource


@dataclass(frozen=True)
class ResourceKind:
    """How one FHIR resource type maps onto the store and the access policy."""

    table: Any
    key: InstrumentedAttribute[Any]
    governance_type: str
    date_column: InstrumentedAttribute[Any] | None
    to_fhir: Callable[[Any, str, SectionAccess], dict[str, Any]]
    sealable: bool = False


KINDS: dict[str, ResourceKind] = {
    "Encounter": ResourceKind(Encounter, Encounter.encounter_id, "encounter", Encounter.start_at, encounter_resource),
    "Condition": ResourceKind(
        Condition, Condition.condition_id, "condition", Condition.onset_date, condition_resource, sealable=True
    ),
    "Observation": ResourceKind(
        Observation, Observation.observation_id, "observation", Observation.effective_at, observation_resource,
        sealable=True,
    ),
    "MedicationRequest": ResourceKind(
        Medication, Medication.medication_id, "medication", Medication.authored_on, medication_request_resource
    ),
    "AllergyIntolerance": ResourceKind(
        Allergy, Allergy.allergy_id, "allergy", Allergy.recorded_date, allergy_resource
    ),
    "Procedure": ResourceKind(Procedure, Procedure.procedure_id, "procedure", Procedure.performed_at,
                              procedure_resource),
}
RESOURCE_TYPES = ("Patient", *KINDS)


# --- reading ---------------------------------------------------------------------------------


def read_resource(session: Session, *, actor: Actor, resource_type: str, resource_id: str) -> dict[str, Any]:
    """One resource by id, through governance.

    Raises:
        NotFound: no such resource (or type), or a person the actor may not know of.
        AccessDenied: the actor may not read this kind of record of this person.
    """
    if resource_type == "Patient":
        access = authorise_sections(
            session, actor=actor, person_id=resource_id, resource_types=["patient"], detail="FHIR read Patient"
        )["patient"]
        _raise_if_refused(access)
        person_id = surviving_person_id(session, resource_id)
        return patient_resource(person_id, source_patients(session, person_id), access)
    kind = _kind(resource_type)
    if not resource_id.isdigit():
        raise NotFound(f"no {resource_type} with that id")
    found = session.execute(
        select(kind.table, SourcePatient.person_id)
        .join(SourcePatient, SourcePatient.source_patient_id == kind.table.source_patient_id)
        .where(kind.key == int(resource_id))
    ).first()
    if found is None or found[1] is None:
        raise NotFound(f"no {resource_type} with that id")
    row, person_id = found
    access = authorise_sections(
        session,
        actor=actor,
        person_id=person_id,
        resource_types=[kind.governance_type],
        detail=f"FHIR read {resource_type}/{resource_id}",
    )[kind.governance_type]
    _raise_if_refused(access)
    if kind.sealable and row.sealed_flag and not access.sealed_allowed:
        raise NotFound(f"no {resource_type} with that id")
    return kind.to_fhir(row, surviving_person_id(session, person_id), access)


def _raise_if_refused(access: SectionAccess) -> None:
    if not access.allowed:
        raise AccessDenied(access.refusal or "you may not read this record")


def _kind(resource_type: str) -> ResourceKind:
    kind = KINDS.get(resource_type)
    if kind is None:
        raise NotFound(f"this server does not hold {resource_type} resources")
    return kind


@dataclass(frozen=True)
class SearchPage:
    """One page of search results and the total that matched."""

    resource_type: str
    total: int
    offset: int
    count: int
    resources: list[dict[str, Any]]


_DATE_PREFIXES = ("eq", "ne", "ge", "gt", "le", "lt", "sa", "eb")


def parse_date_parameter(raw: str) -> tuple[str, datetime, datetime]:
    """A FHIR ``date`` search value → (prefix, start, end) of the period it names, in UTC.

    ``ge2024-01-01``, ``lt2024-03``, ``2024``, ``eq2024-01-01T10:00:00Z``.
    """
    prefix = raw[:2] if raw[:2] in _DATE_PREFIXES else "eq"
    value = raw[2:] if raw[:2] in _DATE_PREFIXES else raw
    if prefix in ("ne", "sa", "eb"):
        raise InvalidInput(f"the date prefix {prefix!r} is not supported; use eq, ge, gt, le or lt")
    try:
        if re.fullmatch(r"\d{4}", value):
            start = datetime(int(value), 1, 1, tzinfo=UTC)
            end = datetime(int(value) + 1, 1, 1, tzinfo=UTC)
        elif re.fullmatch(r"\d{4}-\d{2}", value):
            year, month = (int(part) for part in value.split("-"))
            start = datetime(year, month, 1, tzinfo=UTC)
            end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
        elif re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            day = date.fromisoformat(value)
            start = datetime.combine(day, time(), tzinfo=UTC)
            end = start + timedelta(days=1)
        else:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            start = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
            end = start + timedelta(seconds=1)
    except ValueError as exc:
        raise InvalidInput("date: use YYYY, YYYY-MM, YYYY-MM-DD or a full date-time, with a prefix") from exc
    return prefix, start, end


def _date_filter(column: InstrumentedAttribute[Any], raw: str) -> ColumnElement[bool]:
    prefix, start, end = parse_date_parameter(raw)
    is_date = column.type.python_type is date
    low: date | datetime = start.date() if is_date else start
    high: date | datetime = end.date() if is_date else end
    if prefix == "ge":
        return column >= low
    if prefix == "gt":
        return column >= high
    if prefix == "le":
        return column < high
    if prefix == "lt":
        return column < low
    return (column >= low) & (column < high)


def patient_reference(raw: str) -> str:
    """``Patient/abc`` or ``abc`` → ``abc``."""
    value = raw.strip()
    if value.startswith("Patient/"):
        value = value[len("Patient/"):]
    if not value or "/" in value:
        raise InvalidInput("patient: give a Patient id or reference (Patient/<id>)")
    return value


def search_resources(
    session: Session,
    *,
    actor: Actor,
    resource_type: str,
    patient: str | None = None,
    identifier: str | None = None,
    dates: Sequence[str] = (),
    count: int = DEFAULT_COUNT,
    offset: int = 0,
) -> SearchPage:
    """Search one resource type: ``Patient`` by identifier (NHS number); the rest by ``patient``.

    Raises:
        InvalidInput: a search without the parameter that bounds it, or a bad parameter.
        AccessDenied / NotFound: as for reading the person's record.
    """
    count = max(0, min(count, MAX_COUNT))
    offset = max(0, offset)
    if resource_type == "Patient":
        return _search_patients(session, actor=actor, identifier=identifier, count=count, offset=offset)
    kind = _kind(resource_type)
    if not patient:
        raise InvalidInput(f"searching {resource_type} needs the patient parameter")
    person_id = patient_reference(patient)
    access = authorise_sections(
        session,
        actor=actor,
        person_id=person_id,
        resource_types=[kind.governance_type],
        detail=f"FHIR search {resource_type}",
    )[kind.governance_type]
    _raise_if_refused(access)
    person_id = surviving_person_id(session, person_id)
    patient_ids = select(SourcePatient.source_patient_id).where(SourcePatient.person_id == person_id)
    query: Select[Any] = select(kind.table).where(kind.table.source_patient_id.in_(patient_ids))
    if kind.sealable and not access.sealed_allowed:
        query = query.where(kind.table.sealed_flag.is_(False))
    for raw in dates:
        if kind.date_column is None:
            raise InvalidInput(f"{resource_type} has no date to search on")
        query = query.where(_date_filter(kind.date_column, raw))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    order = [kind.date_column.desc()] if kind.date_column is not None else []
    rows = session.scalars(query.order_by(*order, kind.key.desc()).offset(offset).limit(count))
    return SearchPage(
        resource_type=resource_type,
        total=total,
        offset=offset,
        count=count,
        resources=[kind.to_fhir(row, person_id, access) for row in rows],
    )


def _search_patients(
    session: Session, *, actor: Actor, identifier: str | None, count: int, offset: int
) -> SearchPage:
    if not identifier:
        raise InvalidInput("searching Patient needs identifier=https://fhir.nhs.uk/Id/nhs-number|<NHS number>")
    system, _, value = identifier.rpartition("|")
    if system and system != NHS_NUMBER_SYSTEM:
        raise InvalidInput(f"identifier: only the NHS number system ({NHS_NUMBER_SYSTEM}) is searchable")
    matches = [m for m in search_patients(session, actor=actor, nhs_number=value) if m.allowed]
    resources = []
    for match in matches[offset : offset + count]:
        access = authorise_sections(
            session, actor=actor, person_id=match.person_id, resource_types=["patient"], detail="FHIR search Patient"
        )["patient"]
        if access.allowed:
            resources.append(patient_resource(match.person_id, source_patients(session, match.person_id), access))
    return SearchPage("Patient", len(matches), offset, count, resources)


def everything_bundle(
    session: Session,
    *,
    actor: Actor,
    person_id: str,
    base_url: str = "",
    resource_types: Sequence[str] | None = None,
) -> dict[str, Any]:
    """``Patient/$everything``: the person and every record item the actor may read, as one Bundle.

    Resource types governance refuses are left out and named in an ``OperationOutcome`` entry.
    ``resource_types`` narrows the types asked for (a token's scopes); default all of them.

    Raises:
        AccessDenied: the actor may not read this person's record at all.
        NotFound: no such person, or one the actor may not know of.
    """
    kinds = {name: kind for name, kind in KINDS.items() if resource_types is None or name in resource_types}
    # One batched decision; a refusal of the patient part refuses everything.
    access = authorise_sections(
        session,
        actor=actor,
        person_id=person_id,
        resource_types=["patient", *(kind.governance_type for kind in kinds.values())],
        detail="FHIR $everything",
        gate="patient",
    )
    patient_access = access["patient"]
    person_id = surviving_person_id(session, person_id)
    patients = source_patients(session, person_id)
    patient_ids = [p.source_patient_id for p in patients]
    resources = [patient_resource(person_id, patients, patient_access)]
    withheld = []
    for resource_type, kind in kinds.items():
        section = access[kind.governance_type]
        if not section.allowed:
            withheld.append(resource_type)
            continue
        if not patient_ids:
            continue
        query = select(kind.table).where(kind.table.source_patient_id.in_(patient_ids))
        if kind.sealable and not section.sealed_allowed:
            query = query.where(kind.table.sealed_flag.is_(False))
        resources.extend(kind.to_fhir(row, person_id, section) for row in session.scalars(query.order_by(kind.key)))
    entries: list[dict[str, Any]] = [
        {
            "fullUrl": f"{base_url}/{resource['resourceType']}/{resource['id']}",
            "resource": resource,
            "search": {"mode": "match"},
        }
        for resource in resources
    ]
    if withheld:
        outcome = {
            "resourceType": "OperationOutcome",
            "issue": [{
                "severity": "information",
                "code": "suppressed",
                "diagnostics": "not included, your access does not cover them: " + ", ".join(withheld),
            }],
        }
        entries.append({"resource": outcome, "search": {"mode": "outcome"}})
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "timestamp": _instant(datetime.now(UTC)),
        "entry": entries,
    }


def search_bundle(page: SearchPage, *, base_url: str, query: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """A searchset Bundle for one page, with self/next/previous links that keep the query."""

    def link(relation: str, offset: int) -> dict[str, str]:
        params = [*query, ("_count", str(page.count)), ("_offset", str(offset))]
        return {"relation": relation, "url": f"{base_url}/{page.resource_type}?{urlencode(params)}"}

    links = [link("self", page.offset)]
    if page.offset + page.count < page.total:
        links.append(link("next", page.offset + page.count))
    if page.offset > 0:
        links.append(link("previous", max(0, page.offset - page.count)))
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": page.total,
        "link": links,
        "entry": [
            {
                "fullUrl": f"{base_url}/{resource['resourceType']}/{resource['id']}",
                "resource": resource,
                "search": {"mode": "match"},
            }
            for resource in page.resources
        ],
    }


__all__ = [
    "KINDS",
    "RESOURCE_TYPES",
    "SearchPage",
    "code_system_uri",
    "everything_bundle",
    "parse_date_parameter",
    "read_resource",
    "search_bundle",
    "search_resources",
]

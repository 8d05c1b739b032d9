"""One person's shared care record, assembled from every source, read through governance.

``patient_record`` asks governance about every resource type it shows (patient, condition,
medication, allergy, observation, encounter, care plan, referral, booking, passport, risk score)
in one batched decision (``governance.authorise_many``): a refusal withholds that section (with the
reason) and leaves the rest; field limits (``visible_fields``) blank what the role may not see;
sealed items are left out unless the decision allows them. Each type's decision is audited.

Every item says where it came from (``source``) and how fresh it is (``as_of``: when joinedup last
received or changed it). Medicines, problems and allergies coded the same by several sources are
shown once with all their sources: a clinical-safety control (one medicine listed twice reads as
a double dose; two entries that differ in dose are marked).

The record is read with one set-based query per section (about fifteen in all), whatever the
size of the history: results keep the last ``RESULT_POINTS`` values per test in the database.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from joinedup import governance
from joinedup.model import Actor
from joinedup.record._rows import (
    SectionAccess,
    organisation_names,
    section_access,
    source_patients,
)
from joinedup.store.tables import Allergy, Condition, Encounter, Medication, Observation, SourcePatient, utc_now
from joinedup.store.tables.coordination import (
    BoardFlag,
    Booking,
    CarePlan,
    CaseloadEntry,
    PathwayInstance,
    PatientPassport,
    PersonLocation,
    Referral,
    Service,
)
from joinedup.store.tables.governance import CareRelationship, Team
from joinedup.store.tables.risk import RiskScore

RESULT_POINTS = 12
TIMELINE_LIMIT = 500
# Where a GP record says otherwise, its demographics win: it is the registration record.
PREFERRED_DEMOGRAPHIC_SOURCES = ("gp",)
CLOSED_REFERRAL_STATUSES = ("closed", "completed", "rejected", "declined", "redirected", "cancelled", "withdrawn")
OPEN_PATHWAY_STATUSES = ("active", "paused")
IN_HOSPITAL_SETTINGS = {"inpatient": "admitted", "ae": "ae"}
IN_PROGRESS_STATUSES = ("arrived", "triaged", "in-progress", "onleave")

# Each section of the record and the resource type governance decides it under.
SECTIONS: dict[str, str] = {
    "demographics": "patient",
    "care_team": "patient",
    "flags": "patient",
    "problems": "condition",
    "medications": "medication",
    "allergies": "allergy",
    "results": "observation",
    "timeline": "encounter",
    "location": "encounter",
    "appointments": "booking",
    "referrals": "referral",
    "pathways": "referral",
    "care_plan": "care_plan",
    "passport": "passport",
    "risk": "risk_score",
}
PORTAL_SECTIONS = frozenset(
    {"demographics", "problems", "medications", "allergies", "results", "timeline", "care_plan", "passport"}
)


@dataclass(frozen=True)
class SourceRef:
    """One source's copy of an item."""

    source: str
    source_record_id: str
    as_of: datetime | None
    detail: str | None = None


@dataclass(frozen=True)
class DemographicView:
    """What one source system says about the person (the history behind the summary)."""

    source: str
    local_id: str | None
    nhs_number: str | None
    nhs_number_status: str | None
    given_name: str | None
    family_name: str | None
    birth_date: date | None
    sex: str | None
    postcode: str | None
    address_line: str | None
    phone: str | None
    registered_practice_code: str | None
    deceased_date: date | None
    link_method: str | None
    as_of: datetime | None


@dataclass(frozen=True)
class Demographics:
    """Who the person is, as the preferred source says, with every source's view behind it."""

    person_id: str | None
    nhs_number: str | None
    given_name: str | None
    family_name: str | None
    birth_date: date | None
    sex: str | None
    deceased_date: date | None
    postcode: str | None
    address_line: str | None
    phone: str | None
    ethnicity_code: str | None
    registered_practice_code: str | None
    registered_practice_name: str | None
    sensitive: bool
    source: str
    as_of: datetime | None
    history: tuple[DemographicView, ...] = ()


class _ListedBySources:
    """An item shown once however many sources list it; ``source`` names them all."""

    sources: tuple[SourceRef, ...]

    @property
    def source(self) -> str:
        """The sources, comma-separated."""
        return ", ".join(ref.source for ref in self.sources)


@dataclass(frozen=True)
class Problem(_ListedBySources):
    """An active problem, once per code however many sources list it."""

    code: str
    code_system: str
    display: str | None
    onset_date: date | None
    sources: tuple[SourceRef, ...]
    as_of: datetime | None


@dataclass(frozen=True)
class MedicationItem(_ListedBySources):
    """A current medicine, once per dm+d code with every source that lists it."""

    code: str
    code_system: str
    display: str | None
    dosage_text: str | None
    authored_on: date | None
    sources: tuple[SourceRef, ...]
    as_of: datetime | None
    # The sources give different dose instructions: check before acting on either.
    dosage_differs: bool = False


@dataclass(frozen=True)
class AllergyItem(_ListedBySources):
    """An allergy or intolerance, once per code with every source that records it."""

    code: str
    code_system: str
    display: str | None
    criticality: str | None
    reaction: str | None
    recorded_date: date | None
    sources: tuple[SourceRef, ...]
    as_of: datetime | None


@dataclass(frozen=True)
class ResultPoint:
    """One value of a test or reading."""

    effective_at: datetime | None
    value_num: float | None
    value_text: str | None
    interpretation: str | None
    source: str


@dataclass(frozen=True)
class ResultTrend:
    """A test or reading: its latest value and the recent values before it (oldest first)."""

    code: str
    code_system: str
    display: str | None
    unit: str | None
    category: str | None
    points: tuple[ResultPoint, ...]
    # rising | falling | steady | single (one value) | text (not numeric)
    direction: str
    source: str
    as_of: datetime | None

    @property
    def latest(self) -> ResultPoint:
        """The most recent value."""
        return self.points[-1]


@dataclass(frozen=True)
class TimelineEntry:
    """One encounter in any setting, on the person's single timeline."""

    encounter_id: int | None
    setting: str | None
    class_code: str | None
    status: str | None
    start_at: datetime | None
    end_at: datetime | None
    org_code: str | None
    org_name: str | None
    location: str | None
    service_code: str | None
    description: str | None
    admission_method: str | None
    primary_diagnosis_code: str | None
    primary_diagnosis_code_system: str | None
    discharge_destination: str | None
    source: str
    as_of: datetime | None


@dataclass(frozen=True)
class CurrentLocation:
    """Where the person is now: home, in A&E, admitted to a ward, and since when."""

    # home | ae | admitted | community_bed | care_home
    place: str
    ward: str | None
    org_code: str | None
    org_name: str | None
    since_at: datetime | None
    source: str
    as_of: datetime | None


@dataclass(frozen=True)
class CareTeamMember:
    """A team or practice involved in the person's care."""

    name: str
    kind: str
    team_id: str | None
    org_code: str | None
    since_at: datetime | None
    until: datetime | None
    source: str
    as_of: datetime | None


@dataclass(frozen=True)
class ReferralItem:
    """An open referral to the coordination centre or a service."""

    referral_id: int
    reason: str
    urgency: str
    status: str
    received_at: datetime | None
    suggested_pathway_id: str | None
    source: str
    as_of: datetime | None


@dataclass(frozen=True)
class PathwayItem:
    """A pathway the person is on, and the step they are at."""

    pathway_instance_id: int
    pathway_id: str
    status: str
    current_step_id: str | None
    current_step_due_at: datetime | None
    started_at: datetime | None
    source: str
    as_of: datetime | None


@dataclass(frozen=True)
class CarePlanSummary:
    """The person's current care plan."""

    care_plan_id: int
    title: str
    status: str
    what_matters_to_me: str | None
    goals: tuple[dict[str, Any], ...]
    activities: tuple[dict[str, Any], ...]
    review_date: date | None
    author: str
    source: str
    as_of: datetime | None


@dataclass(frozen=True)
class AppointmentItem:
    """A booked or planned appointment."""

    when: datetime | None
    what: str
    status: str
    where: str | None
    source: str
    as_of: datetime | None


@dataclass(frozen=True)
class FlagItem:
    """Something to know at a glance: admitted, overdue step, high risk, deceased."""

    kind: str
    detail: str | None
    raised_at: datetime | None
    source: str
    as_of: datetime | None


@dataclass(frozen=True)
class RiskSummary:
    """The person's latest risk score and frailty category."""

    model_version: str
    score: float
    band: str
    efi_category: str
    reasons: tuple[str, ...]
    source: str
    as_of: datetime | None


@dataclass(frozen=True)
class PatientRecord:
    """A person's shared care record as this actor may see it.

    ``withheld`` names each section the actor may not see and why; a section not asked for is
    absent from ``withheld`` and empty.
    """

    person_id: str
    assembled_at: datetime
    demographics: Demographics | None
    location: CurrentLocation | None
    problems: tuple[Problem, ...] = ()
    medications: tuple[MedicationItem, ...] = ()
    allergies: tuple[AllergyItem, ...] = ()
    results: tuple[ResultTrend, ...] = ()
    timeline: tuple[TimelineEntry, ...] = ()
    care_team: tuple[CareTeamMember, ...] = ()
    referrals: tuple[ReferralItem, ...] = ()
    pathways: tuple[PathwayItem, ...] = ()
    care_plan: CarePlanSummary | None = None
    appointments: tuple[AppointmentItem, ...] = ()
    flags: tuple[FlagItem, ...] = ()
    risk: RiskSummary | None = None
    has_passport: bool = False
    withheld: dict[str, str] = field(default_factory=dict)
    shown: frozenset[str] = frozenset()
    # Only an emergency (break-glass) access allowed this view: pages show a banner.
    break_glass: bool = False


T = TypeVar("T")
# Provenance is always shown: a user must know where an item came from to judge it.
ALWAYS_VISIBLE = frozenset({"source", "as_of", "sources", "history"})


def _mask(item: T, access: SectionAccess) -> T:
    """Blank the fields the decision does not let this actor see."""
    decision = access.decision
    if decision is None or decision.visible_fields is None or not dataclasses.is_dataclass(item):
        return item
    hidden = {
        f.name: None
        for f in dataclasses.fields(item)
        if f.name not in decision.visible_fields and f.name not in ALWAYS_VISIBLE
    }
    return dataclasses.replace(item, **hidden) if hidden else item  # type: ignore[type-var]


def _as_of(row: Any) -> datetime | None:
    value: datetime | None = getattr(row, "updated_at", None) or getattr(row, "received_at", None)
    return value


def patient_record(
    session: Session, *, actor: Actor, person_id: str, sections: Iterable[str] | None = None
) -> PatientRecord:
    """Assemble a person's shared care record for ``actor``, through governance, with an audit entry.

    Args:
        person_id: the linked person (a merged person's id leads to the survivor).
        sections: which sections to assemble (names of ``SECTIONS``); all by default. The portal
            asks for ``PORTAL_SECTIONS``.

    Raises:
        AccessDenied: the actor may not see this person's record at all.
        NotFound: no such person, or a sensitive one the actor may not know of.
    """
    wanted = list(SECTIONS) if sections is None else [name for name in SECTIONS if name in set(sections)]
    # One batched decision: a refusal of the patient part refuses the whole record (and only that
    # refusal is audited); any other refusal withholds its section. The audit entries are written
    # once the record is read (same transaction), so the audit chain's lock is held only from
    # then to the commit, not while the record is read: concurrent readers do not queue on it.
    answers = governance.authorise_many(
        session,
        actor=actor,
        person_id=person_id,
        resource_types=["patient", *(SECTIONS[name] for name in wanted)],
        detail="record summary",
        gate="patient",
        defer_audit=True,
    )
    record = _assemble(session, wanted, section_access(answers))
    answers.write_audit()
    return record


def _assemble(session: Session, wanted: list[str], access: dict[str, SectionAccess]) -> PatientRecord:
    """The record's sections the decisions allow, each read with one set-based query."""
    # The gate raised any refusal; governance decided for the surviving person (merges followed).
    decided = access["patient"].decision
    assert decided is not None
    assert decided.person_id is not None
    person_id = decided.person_id
    allowed = {name for name in wanted if access[SECTIONS[name]].allowed}
    withheld = {
        name: access[SECTIONS[name]].refusal or "not allowed" for name in wanted if name not in allowed
    }

    patients = source_patients(session, person_id)
    patient_ids = [p.source_patient_id for p in patients]
    now = utc_now()
    parts: dict[str, Any] = {}
    if "demographics" in allowed:
        parts["demographics"] = _mask(_demographics(person_id, patients), access["patient"])
    if {"timeline", "location"} & allowed:
        timeline = _timeline(session, patient_ids)
        if "timeline" in allowed:
            parts["timeline"] = tuple(_mask(entry, access["encounter"]) for entry in timeline)
        if "location" in allowed:
            parts["location"] = _location(session, person_id, timeline)
    if "problems" in allowed:
        parts["problems"] = _problems(session, patient_ids, sealed_allowed=access["condition"].sealed_allowed)
    if "medications" in allowed:
        parts["medications"] = _medications(session, patient_ids)
    if "allergies" in allowed:
        parts["allergies"] = _allergies(session, patient_ids)
    if "results" in allowed:
        parts["results"] = _results(session, patient_ids, sealed_allowed=access["observation"].sealed_allowed)
    if "care_team" in allowed:
        parts["care_team"] = _care_team(session, person_id, patients, now)
    if "referrals" in allowed:
        parts["referrals"] = _referrals(session, person_id)
    if "pathways" in allowed:
        parts["pathways"] = _pathways(session, person_id)
    if "care_plan" in allowed:
        parts["care_plan"] = _care_plan(session, person_id)
    if "appointments" in allowed:
        parts["appointments"] = _appointments(session, person_id, now)
    if "flags" in allowed:
        parts["flags"] = _flags(session, person_id, patients)
    if "risk" in allowed:
        parts["risk"] = _risk(session, person_id)
    if "passport" in allowed:
        parts["has_passport"] = session.get(PatientPassport, person_id) is not None
    _name_organisations(session, parts)
    return PatientRecord(
        person_id=person_id,
        assembled_at=now,
        demographics=parts.pop("demographics", None),
        location=parts.pop("location", None),
        withheld=withheld,
        shown=frozenset(allowed),
        break_glass=any(a.decision is not None and a.decision.break_glass for a in access.values()),
        **parts,
    )


def _name_organisations(session: Session, parts: dict[str, Any]) -> None:
    """Fill organisation names in, with one query for every code the record mentions."""
    codes: list[str | None] = [entry.org_code for entry in parts.get("timeline", ())]
    demographics = parts.get("demographics")
    location = parts.get("location")
    if demographics is not None:
        codes.append(demographics.registered_practice_code)
    if location is not None:
        codes.append(location.org_code)
    names = organisation_names(session, codes)
    if not names:
        return
    if "timeline" in parts:
        parts["timeline"] = tuple(
            dataclasses.replace(entry, org_name=names.get(entry.org_code or "")) if entry.org_code else entry
            for entry in parts["timeline"]
        )
    if demographics is not None and demographics.registered_practice_code:
        parts["demographics"] = dataclasses.replace(
            demographics, registered_practice_name=names.get(demographics.registered_practice_code)
        )
    if location is not None and location.org_code:
        parts["location"] = dataclasses.replace(location, org_name=names.get(location.org_code))


def _freshness(patient: SourcePatient) -> float:
    """When the source's demographics were true (or last changed here), as a number to sort on."""
    moment = patient.source_updated_at or patient.updated_at
    return moment.timestamp() if moment is not None else 0.0


def _by_preference(patients: Sequence[SourcePatient]) -> list[SourcePatient]:
    """Sources in the order their demographics lead: a GP record first, then the freshest."""
    return sorted(patients, key=lambda p: (p.source not in PREFERRED_DEMOGRAPHIC_SOURCES, -_freshness(p)))


def _demographics(person_id: str, patients: Sequence[SourcePatient]) -> Demographics | None:
    ordered = _by_preference(patients)
    if not ordered:
        return None
    lead = ordered[0]

    def first(attribute: str) -> Any:
        # The lead source's value, else the next source in order that has one.
        for patient in ordered:
            value = getattr(patient, attribute)
            if value not in (None, ""):
                return value
        return None

    history = tuple(
        DemographicView(
            source=p.source,
            local_id=p.local_id,
            nhs_number=p.nhs_number,
            nhs_number_status=p.nhs_number_status,
            given_name=p.given_name,
            family_name=p.family_name,
            birth_date=p.birth_date,
            sex=p.sex,
            postcode=p.postcode,
            address_line=p.address_line,
            phone=p.phone,
            registered_practice_code=p.registered_practice_code,
            deceased_date=p.deceased_date,
            link_method=p.link_method,
            as_of=p.source_updated_at or p.updated_at,
        )
        for p in patients
    )
    return Demographics(
        person_id=person_id,
        nhs_number=first("nhs_number"),
        given_name=lead.given_name or first("given_name"),
        family_name=lead.family_name or first("family_name"),
        birth_date=lead.birth_date or first("birth_date"),
        sex=lead.sex or first("sex"),
        deceased_date=first("deceased_date"),
        postcode=lead.postcode or first("postcode"),
        address_line=lead.address_line or first("address_line"),
        phone=lead.phone or first("phone"),
        ethnicity_code=first("ethnicity_code"),
        registered_practice_code=first("registered_practice_code"),
        registered_practice_name=None,
        sensitive=any(p.sensitive_flag for p in patients),
        source=lead.source,
        as_of=lead.source_updated_at or lead.updated_at,
        history=history,
    )


def _timeline(session: Session, patient_ids: list[int]) -> list[TimelineEntry]:
    if not patient_ids:
        return []
    rows = session.scalars(
        select(Encounter)
        .where(Encounter.source_patient_id.in_(patient_ids), Encounter.status != "entered-in-error")
        .order_by(Encounter.start_at.desc(), Encounter.encounter_id.desc())
        .limit(TIMELINE_LIMIT)
    )
    return [
        TimelineEntry(
            encounter_id=row.encounter_id,
            setting=row.setting,
            class_code=row.class_code,
            status=row.status,
            start_at=row.start_at,
            end_at=row.end_at,
            org_code=row.org_code,
            org_name=None,
            location=row.location,
            service_code=row.service_code,
            description=row.description,
            admission_method=row.admission_method,
            primary_diagnosis_code=row.primary_diagnosis_code,
            primary_diagnosis_code_system=row.primary_diagnosis_code_system,
            discharge_destination=row.discharge_destination,
            source=row.source,
            as_of=_as_of(row),
        )
        for row in rows
    ]


def _location(session: Session, person_id: str, timeline: list[TimelineEntry]) -> CurrentLocation:
    """Where the person is: the coordination centre's ADT-fed location, else the open encounter."""
    known = session.get(PersonLocation, person_id)
    if known is not None:
        return CurrentLocation(
            place=known.place,
            ward=known.ward,
            org_code=known.org_code,
            org_name=None,
            since_at=known.since_at,
            source="adt",
            as_of=known.updated_at,
        )
    for entry in timeline:
        if entry.setting in IN_HOSPITAL_SETTINGS and entry.status in IN_PROGRESS_STATUSES and entry.end_at is None:
            return CurrentLocation(
                place=IN_HOSPITAL_SETTINGS[entry.setting],
                ward=entry.location,
                org_code=entry.org_code,
                org_name=None,
                since_at=entry.start_at,
                source=entry.source,
                as_of=entry.as_of,
            )
    return CurrentLocation(
        place="home", ward=None, org_code=None, org_name=None, since_at=None, source="record", as_of=None
    )


def _grouped(rows: Iterable[Any]) -> dict[tuple[str, str], list[Any]]:
    """Rows grouped by (code system, code), in the order given."""
    groups: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for row in rows:
        groups[(row.code_system, row.code)].append(row)
    return groups


def _refs(rows: Sequence[Any], detail: str | None = None) -> tuple[SourceRef, ...]:
    return tuple(
        SourceRef(
            source=row.source,
            source_record_id=row.source_record_id,
            as_of=_as_of(row),
            detail=getattr(row, detail) if detail else None,
        )
        for row in sorted(rows, key=lambda r: (r.source, r.source_record_id))
    )


def _latest_as_of(rows: Sequence[Any]) -> datetime | None:
    moments = [moment for moment in (_as_of(row) for row in rows) if moment is not None]
    return max(moments) if moments else None


def _problems(session: Session, patient_ids: list[int], *, sealed_allowed: bool) -> tuple[Problem, ...]:
    if not patient_ids:
        return ()
    query = select(Condition).where(
        Condition.source_patient_id.in_(patient_ids),
        Condition.category == "problem-list-item",
        Condition.clinical_status == "active",
        Condition.abatement_date.is_(None),
    )
    if not sealed_allowed:
        query = query.where(Condition.sealed_flag.is_(False))
    problems = []
    for (system, code), rows in _grouped(session.scalars(query.order_by(Condition.onset_date))).items():
        onsets = [row.onset_date for row in rows if row.onset_date is not None]
        problems.append(
            Problem(
                code=code,
                code_system=system,
                display=next((row.display for row in rows if row.display), None),
                onset_date=min(onsets) if onsets else None,
                sources=_refs(rows),
                as_of=_latest_as_of(rows),
            )
        )
    return tuple(sorted(problems, key=lambda p: (p.onset_date or date.max, p.display or p.code)))


def _medications(session: Session, patient_ids: list[int]) -> tuple[MedicationItem, ...]:
    if not patient_ids:
        return ()
    rows = session.scalars(
        select(Medication)
        .where(Medication.source_patient_id.in_(patient_ids), Medication.status == "active")
        .order_by(Medication.authored_on.desc())
    )
    items = []
    for (system, code), group in _grouped(rows).items():
        dosages = {" ".join(row.dosage_text.split()).lower() for row in group if row.dosage_text}
        latest = group[0]
        authored = [row.authored_on for row in group if row.authored_on is not None]
        items.append(
            MedicationItem(
                code=code,
                code_system=system,
                display=latest.display or next((row.display for row in group if row.display), None),
                dosage_text=latest.dosage_text,
                authored_on=max(authored) if authored else None,
                sources=_refs(group, detail="dosage_text"),
                as_of=_latest_as_of(group),
                dosage_differs=len(dosages) > 1,
            )
        )
    return tuple(sorted(items, key=lambda m: (m.display or m.code).lower()))


def _allergies(session: Session, patient_ids: list[int]) -> tuple[AllergyItem, ...]:
    if not patient_ids:
        return ()
    rows = session.scalars(
        select(Allergy).where(Allergy.source_patient_id.in_(patient_ids)).order_by(Allergy.recorded_date)
    )
    items = []
    for (system, code), group in _grouped(rows).items():
        recorded = [row.recorded_date for row in group if row.recorded_date is not None]
        criticality = "high" if any(row.criticality == "high" for row in group) else group[-1].criticality
        items.append(
            AllergyItem(
                code=code,
                code_system=system,
                display=next((row.display for row in group if row.display), None),
                criticality=criticality,
                reaction=next((row.reaction for row in reversed(group) if row.reaction), None),
                recorded_date=min(recorded) if recorded else None,
                sources=_refs(group),
                as_of=_latest_as_of(group),
            )
        )
    return tuple(sorted(items, key=lambda a: (a.display or a.code).lower()))


def _results(session: Session, patient_ids: list[int], *, sealed_allowed: bool) -> tuple[ResultTrend, ...]:
    """The last ``RESULT_POINTS`` values of each test, ranked in the database (window function)."""
    if not patient_ids:
        return ()
    conditions = [Observation.source_patient_id.in_(patient_ids)]
    if not sealed_allowed:
        conditions.append(Observation.sealed_flag.is_(False))
    rank = (
        func.row_number()
        .over(
            partition_by=(Observation.code_system, Observation.code),
            order_by=(Observation.effective_at.desc(), Observation.observation_id.desc()),
        )
        .label("rank")
    )
    ranked = select(Observation.observation_id, rank).where(*conditions).subquery()
    rows = session.scalars(
        select(Observation)
        .join(ranked, ranked.c.observation_id == Observation.observation_id)
        .where(ranked.c.rank <= RESULT_POINTS)
        .order_by(Observation.effective_at, Observation.observation_id)
    )
    trends = []
    for (system, code), group in _grouped(rows).items():
        points = tuple(
            ResultPoint(
                effective_at=row.effective_at,
                value_num=row.value_num,
                value_text=row.value_text,
                interpretation=row.interpretation,
                source=row.source,
            )
            for row in group
        )
        latest = group[-1]
        trends.append(
            ResultTrend(
                code=code,
                code_system=system,
                display=latest.display or next((row.display for row in group if row.display), None),
                unit=latest.unit,
                category=latest.category,
                points=points,
                direction=trend_direction([p.value_num for p in points]),
                source=", ".join(sorted({row.source for row in group})),
                as_of=_latest_as_of(group),
            )
        )
    never = datetime.min.replace(tzinfo=utc_now().tzinfo)
    return tuple(sorted(trends, key=lambda t: t.latest.effective_at or never, reverse=True))


def trend_direction(values: Sequence[float | None], tolerance: float = 0.05) -> str:
    """rising / falling / steady from the last value against the one before, or single / text.

    A change within ``tolerance`` (5 %) of the earlier value counts as steady.
    """
    numbers = [value for value in values if value is not None]
    if not numbers:
        return "text"
    if len(numbers) == 1:
        return "single"
    before, last = numbers[-2], numbers[-1]
    if abs(last - before) <= abs(before) * tolerance:
        return "steady"
    return "rising" if last > before else "falling"


def _care_team(
    session: Session, person_id: str, patients: Sequence[SourcePatient], now: datetime
) -> tuple[CareTeamMember, ...]:
    members: list[CareTeamMember] = []
    for patient in patients:
        if patient.source in PREFERRED_DEMOGRAPHIC_SOURCES and patient.registered_practice_code:
            members.append(
                CareTeamMember(
                    name="Registered GP practice",
                    kind="registered_practice",
                    team_id=None,
                    org_code=patient.registered_practice_code,
                    since_at=None,
                    until=None,
                    source=patient.source,
                    as_of=patient.source_updated_at or patient.updated_at,
                )
            )
            break
    rows = session.execute(
        select(CareRelationship, Team)
        .join(Team, Team.team_id == CareRelationship.team_id)
        .where(
            CareRelationship.person_id == person_id,
            CareRelationship.ended_at.is_(None),
            (CareRelationship.until.is_(None)) | (CareRelationship.until > now),
        )
        .order_by(CareRelationship.started_at)
    )
    for relationship, team in rows:
        members.append(
            CareTeamMember(
                name=team.name,
                kind=relationship.kind,
                team_id=team.team_id,
                org_code=team.org_code,
                since_at=relationship.started_at,
                until=relationship.until,
                source="governance",
                as_of=relationship.started_at,
            )
        )
    for entry in session.scalars(
        select(CaseloadEntry).where(CaseloadEntry.person_id == person_id, CaseloadEntry.ended_at.is_(None))
    ):
        members.append(
            CareTeamMember(
                name="Care coordinator" if entry.coordinator_user_id else "Coordination caseload",
                kind="caseload",
                team_id=entry.team_id,
                org_code=None,
                since_at=entry.started_at,
                until=None,
                source="coordination",
                as_of=entry.started_at,
            )
        )
    return tuple(members)


def _referrals(session: Session, person_id: str) -> tuple[ReferralItem, ...]:
    rows = session.scalars(
        select(Referral)
        .where(Referral.person_id == person_id, Referral.status.not_in(CLOSED_REFERRAL_STATUSES))
        .order_by(Referral.received_at.desc())
    )
    return tuple(
        ReferralItem(
            referral_id=row.referral_id,
            reason=row.reason,
            urgency=row.urgency,
            status=row.status,
            received_at=row.received_at,
            suggested_pathway_id=row.suggested_pathway_id,
            source=f"coordination ({row.channel})",
            as_of=row.triaged_at or row.received_at,
        )
        for row in rows
    )


def _pathways(session: Session, person_id: str) -> tuple[PathwayItem, ...]:
    rows = session.scalars(
        select(PathwayInstance)
        .where(PathwayInstance.person_id == person_id, PathwayInstance.status.in_(OPEN_PATHWAY_STATUSES))
        .order_by(PathwayInstance.started_at.desc())
    )
    return tuple(
        PathwayItem(
            pathway_instance_id=row.pathway_instance_id,
            pathway_id=row.pathway_id,
            status=row.status,
            current_step_id=row.current_step_id,
            current_step_due_at=row.current_step_due_at,
            started_at=row.started_at,
            source="coordination",
            as_of=row.started_at,
        )
        for row in rows
    )


def _care_plan(session: Session, person_id: str) -> CarePlanSummary | None:
    row = session.scalars(
        select(CarePlan)
        .where(CarePlan.person_id == person_id, CarePlan.status == "active")
        .order_by(CarePlan.updated_at.desc(), CarePlan.care_plan_id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return CarePlanSummary(
        care_plan_id=row.care_plan_id,
        title=row.title,
        status=row.status,
        what_matters_to_me=row.what_matters_to_me,
        goals=tuple(row.goals or ()),
        activities=tuple(row.activities or ()),
        review_date=row.review_date,
        author=row.author,
        source="coordination",
        as_of=row.updated_at,
    )


def _appointments(session: Session, person_id: str, now: datetime) -> tuple[AppointmentItem, ...]:
    rows = session.execute(
        select(Booking, Service.name)
        .join(Service, Service.service_id == Booking.service_id)
        .where(Booking.person_id == person_id, Booking.booked_for_at >= now, Booking.status == "confirmed")
        .order_by(Booking.booked_for_at)
    )
    return tuple(
        AppointmentItem(
            when=booking.booked_for_at,
            what=service_name,
            status=booking.status,
            where=None,
            source="coordination",
            as_of=booking.updated_at,
        )
        for booking, service_name in rows
    )


def _flags(session: Session, person_id: str, patients: Sequence[SourcePatient]) -> tuple[FlagItem, ...]:
    flags = [
        FlagItem(kind=row.kind, detail=row.detail, raised_at=row.raised_at, source="coordination", as_of=row.raised_at)
        for row in session.scalars(
            select(BoardFlag)
            .where(BoardFlag.person_id == person_id, BoardFlag.cleared_at.is_(None))
            .order_by(BoardFlag.raised_at.desc())
        )
    ]
    for patient in patients:
        if patient.deceased_date is not None:
            flags.insert(
                0,
                FlagItem(
                    kind="deceased",
                    detail=f"date of death recorded by {patient.source}",
                    raised_at=None,
                    source=patient.source,
                    as_of=patient.updated_at,
                ),
            )
            break
    return tuple(flags)


def _risk(session: Session, person_id: str) -> RiskSummary | None:
    row = session.scalars(
        select(RiskScore)
        .where(RiskScore.person_id == person_id)
        .order_by(RiskScore.scored_at.desc(), RiskScore.risk_score_id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return RiskSummary(
        model_version=row.model_version,
        score=row.score,
        band=row.band,
        efi_category=row.efi_category,
        reasons=tuple(row.reasons or ()),
        source=f"risk model {row.model_version}",
        as_of=row.scored_at,
    )

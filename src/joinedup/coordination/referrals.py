"""Referrals into the care coordination centre: the quick phone form, FHIR ServiceRequest, triage.

A referral gives the centre a short-lived ``coordination`` relationship with the person (they are
referred to it) so the coordinator can triage; accepting it puts the person on a pathway and on the
centre's caseload with an open-ended relationship; redirecting or declining ends the relationship.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import case, select
from sqlalchemy.orm import Session

from joinedup.coordination import pathway_instances
from joinedup.coordination.errors import CoordinationInputError, PathwayError, StateConflict
from joinedup.coordination.pathway_library import shipped_library
from joinedup.coordination.schemas import PatientMatch, ReferralCreate, ReferralPublic, TriageDecision
from joinedup.errors import NotFound
from joinedup.governance import authorise, end_relationship, grant_relationship, record_audit
from joinedup.model import Actor
from joinedup.store.tables import Person, SourcePatient, utc_now
from joinedup.store.tables.coordination import CaseloadEntry, Referral

logger = logging.getLogger(__name__)

CENTRE_TEAM_ID = "coordination-centre"
# How long a referral not yet triaged lets the centre see the person.
TRIAGE_WINDOW = timedelta(days=14)
NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
ODS_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"


def find_patients(
    session: Session,
    *,
    actor: Actor,
    nhs_number: str | None = None,
    family_name: str | None = None,
    birth_date: date | None = None,
    limit: int = 20,
) -> list[PatientMatch]:
    """Find a person for the referral form: by NHS number, or by family name and date of birth.

    Uses the indexed columns only (``ix_source_patient_nhs_number``, ``ix_source_patient_match``),
    so answers stay fast at borough scale. The search is audited (count only, no search terms).
    """
    query = select(SourcePatient).where(SourcePatient.person_id.is_not(None))
    if nhs_number:
        query = query.where(SourcePatient.nhs_number == nhs_number.replace(" ", ""))
    elif family_name and birth_date:
        query = query.where(
            SourcePatient.family_name.in_({family_name, family_name.upper(), family_name.title()}),
            SourcePatient.birth_date == birth_date,
        )
    else:
        raise CoordinationInputError("search by NHS number, or by family name and date of birth")
    matches: dict[str, PatientMatch] = {}
    for row in session.scalars(query.order_by(SourcePatient.source_patient_id).limit(limit * 5)):
        person_id = row.person_id
        if person_id is None or person_id in matches or row.sensitive_flag:
            continue
        matches[person_id] = PatientMatch(
            person_id=person_id,
            nhs_number=row.nhs_number,
            given_name=row.given_name,
            family_name=row.family_name,
            birth_date=row.birth_date,
            registered_practice_code=row.registered_practice_code,
        )
    found = list(matches.values())[:limit]
    record_audit(
        session,
        actor=actor,
        action="search",
        resource_type="patient",
        detail=f"referral patient search: {len(found)} found",
        basis="referral_intake",
    )
    session.commit()
    return found


def receive_referral(
    session: Session,
    *,
    actor: Actor,
    request: ReferralCreate,
    channel: str = "phone",
    team_id: str = CENTRE_TEAM_ID,
    at: datetime | None = None,
) -> ReferralPublic:
    """Take a referral (a GP on the phone, or a ward): recorded as received, waiting for triage."""
    at = at or utc_now()
    referral = _receive(session, actor=actor, request=request, channel=channel, team_id=team_id, at=at)
    session.commit()
    return ReferralPublic.model_validate(referral)


def receive_service_request(
    session: Session,
    *,
    actor: Actor,
    resource: dict[str, Any],
    team_id: str = CENTRE_TEAM_ID,
    at: datetime | None = None,
) -> ReferralPublic:
    """Take an electronic referral: a FHIR R4 ServiceRequest (JSON), once per ``ServiceRequest.id``.

    The subject is found by NHS number (``subject.identifier``) or by ``Patient/<person_id>``.

    Raises:
        CoordinationInputError: not a valid R4 ServiceRequest, or it lacks a subject or reason; the
            message names the field paths, never the values.
    """
    at = at or utc_now()
    request, external_id, referrer_org = _from_service_request(session, resource)
    if external_id is not None:
        existing = session.scalar(select(Referral).where(Referral.external_id == external_id))
        if existing is not None:
            return ReferralPublic.model_validate(existing)
    referral = _receive(session, actor=actor, request=request, channel="fhir", team_id=team_id, at=at)
    referral.external_id = external_id
    referral.referrer_org_code = referral.referrer_org_code or referrer_org
    session.commit()
    return ReferralPublic.model_validate(referral)


def triage_referral(
    session: Session,
    *,
    actor: Actor,
    referral_id: int,
    decision: TriageDecision,
    team_id: str = CENTRE_TEAM_ID,
    neighbourhood: str | None = None,
    at: datetime | None = None,
) -> ReferralPublic:
    """Accept (onto a pathway and the caseload), redirect or decline a referral, with the reason.

    Raises:
        StateConflict: the referral has been triaged already.
        PathwayError: accepting without a pathway, or with one the library does not hold.
    """
    at = at or utc_now()
    referral = session.get(Referral, referral_id)
    if referral is None:
        raise NotFound(f"no referral {referral_id}")
    authorise(session, actor=actor, person_id=referral.person_id, resource_type="referral", action="write")
    if referral.status != "received":
        raise StateConflict(f"referral {referral_id} is already {referral.status}")
    referral.triaged_by = actor.user_id
    referral.triaged_at = at
    referral.triage_reason = decision.reason
    if decision.outcome == "accept":
        pathway_id = decision.pathway_id or referral.suggested_pathway_id
        if not pathway_id:
            raise PathwayError(f"referral {referral_id}: choose a pathway to accept it onto")
        instance = pathway_instances.start_on_pathway(
            session, person_id=referral.person_id, pathway_id=pathway_id, at=at, actor_id=actor.user_id
        )
        referral.status = "accepted"
        referral.pathway_instance_id = instance.pathway_instance_id
        grant_relationship(
            session, person_id=referral.person_id, team_id=team_id, kind="coordination", granted_by=actor.user_id
        )
        join_caseload(
            session,
            person_id=referral.person_id,
            team_id=team_id,
            reason="referral",
            at=at,
            coordinator_user_id=decision.coordinator_user_id,
            neighbourhood=neighbourhood,
        )
    else:
        referral.status = "redirected" if decision.outcome == "redirect" else "declined"
        referral.redirected_to = decision.redirected_to
        if not _on_caseload(session, person_id=referral.person_id, team_id=team_id):
            end_relationship(
                session,
                person_id=referral.person_id,
                team_id=team_id,
                kind="coordination",
                reason=f"referral {referral.status}",
            )
    session.commit()
    logger.info("referral %d %s", referral_id, referral.status)
    return ReferralPublic.model_validate(referral)


def list_referrals(
    session: Session, *, actor: Actor, status: str | None = "received", limit: int = 200
) -> list[ReferralPublic]:
    """Referrals waiting for triage (or in another status), oldest and most urgent first."""
    urgency_rank = case({"stat": 0, "asap": 1, "urgent": 2}, value=Referral.urgency, else_=3)
    query = select(Referral).order_by(urgency_rank, Referral.received_at).limit(limit)
    if status is not None:
        query = query.where(Referral.status == status)
    rows = [ReferralPublic.model_validate(row) for row in session.scalars(query)]
    record_audit(
        session,
        actor=actor,
        action="read",
        resource_type="referral",
        detail=f"referral list ({status or 'all'}): {len(rows)} rows",
        basis="coordination",
    )
    session.commit()
    return rows


def join_caseload(
    session: Session,
    *,
    person_id: str,
    team_id: str,
    reason: str,
    at: datetime,
    coordinator_user_id: str | None = None,
    neighbourhood: str | None = None,
) -> CaseloadEntry:
    """Put a person on a team's caseload (or keep the entry they have), not committed."""
    entry = session.scalar(
        select(CaseloadEntry).where(
            CaseloadEntry.person_id == person_id,
            CaseloadEntry.team_id == team_id,
            CaseloadEntry.ended_at.is_(None),
        )
    )
    if entry is None:
        entry = CaseloadEntry(
            person_id=person_id,
            team_id=team_id,
            reason=reason,
            started_at=at,
            coordinator_user_id=coordinator_user_id,
            neighbourhood=neighbourhood or _neighbourhood_of(session, person_id),
        )
        session.add(entry)
    elif coordinator_user_id:
        entry.coordinator_user_id = coordinator_user_id
    session.flush()
    return entry


def _receive(
    session: Session, *, actor: Actor, request: ReferralCreate, channel: str, team_id: str, at: datetime
) -> Referral:
    if session.get(Person, request.person_id) is None:
        raise NotFound("no such person")
    if request.suggested_pathway_id is not None:
        shipped_library().get(request.suggested_pathway_id)
    # Being referred to the centre is the relationship that lets the coordinator triage.
    grant_relationship(
        session,
        person_id=request.person_id,
        team_id=team_id,
        kind="coordination",
        until=at + TRIAGE_WINDOW,
        granted_by=actor.user_id,
    )
    authorise(session, actor=actor, person_id=request.person_id, resource_type="referral", action="write")
    referral = Referral(
        person_id=request.person_id,
        channel=channel,
        referrer_org_code=request.referrer_org_code or actor.org_code,
        referrer_name=request.referrer_name,
        reason=request.reason,
        urgency=request.urgency,
        suggested_pathway_id=request.suggested_pathway_id,
        notes=request.notes,
        status="received",
        received_by=actor.user_id,
        received_at=at,
    )
    session.add(referral)
    session.flush()
    return referral


def _on_caseload(session: Session, *, person_id: str, team_id: str) -> bool:
    return (
        session.scalar(
            select(CaseloadEntry.caseload_entry_id).where(
                CaseloadEntry.person_id == person_id,
                CaseloadEntry.team_id == team_id,
                CaseloadEntry.ended_at.is_(None),
            )
        )
        is not None
    )


def _neighbourhood_of(session: Session, person_id: str) -> str | None:
    """The neighbourhood of the person's registered practice, when the reference data has it."""
    from joinedup.store.tables import Organisation

    return session.scalar(
        select(Organisation.neighbourhood)
        .join(SourcePatient, SourcePatient.registered_practice_code == Organisation.org_code)
        .where(SourcePatient.person_id == person_id, Organisation.neighbourhood.is_not(None))
        .limit(1)
    )


def _from_service_request(
    session: Session, resource: dict[str, Any]
) -> tuple[ReferralCreate, str | None, str | None]:
    """Map a FHIR R4 ServiceRequest to the referral form (validated at the edge)."""
    from fhir.resources.R4B.servicerequest import ServiceRequest

    if resource.get("resourceType") != "ServiceRequest":
        raise CoordinationInputError("resourceType: expected ServiceRequest")
    try:
        ServiceRequest.model_validate(resource)
    except ValidationError as exc:
        paths = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
            for error in exc.errors(include_input=False)[:5]
        )
        raise CoordinationInputError(f"not a valid FHIR R4 ServiceRequest: {paths}") from exc
    person_id = _subject_person(session, resource.get("subject") or {})
    reason = _reason_text(resource)
    if not reason:
        raise CoordinationInputError("ServiceRequest.reasonCode: a reason (text or coding display) is needed")
    notes = "\n".join(str(note.get("text", "")) for note in resource.get("note", []) if note.get("text")) or None
    requester = resource.get("requester") or {}
    identifier = requester.get("identifier") or {}
    referrer_org = identifier.get("value") if identifier.get("system") == ODS_SYSTEM else None
    pathway_id = None
    for category in resource.get("category", []):
        for coding in category.get("coding", []):
            if coding.get("code") in shipped_library().ids():
                pathway_id = coding["code"]
    try:
        request = ReferralCreate(
            person_id=person_id,
            reason=reason[:400],
            urgency=resource.get("priority", "routine"),
            suggested_pathway_id=pathway_id,
            notes=notes,
            referrer_org_code=referrer_org,
            referrer_name=requester.get("display"),
        )
    except ValidationError as exc:
        raise CoordinationInputError(
            "ServiceRequest cannot be taken as a referral: "
            + "; ".join(str(error["loc"]) for error in exc.errors(include_input=False))
        ) from exc
    return request, resource.get("id"), referrer_org


def _subject_person(session: Session, subject: dict[str, Any]) -> str:
    identifier = subject.get("identifier") or {}
    if identifier.get("system") == NHS_NUMBER_SYSTEM and identifier.get("value"):
        person_id = session.scalar(
            select(SourcePatient.person_id)
            .where(SourcePatient.nhs_number == str(identifier["value"]), SourcePatient.person_id.is_not(None))
            .limit(1)
        )
        if person_id is None:
            raise NotFound("ServiceRequest.subject.identifier: no person with that NHS number")
        return person_id
    reference = str(subject.get("reference") or "")
    if reference.startswith("Patient/"):
        person_id = reference.removeprefix("Patient/")
        if session.get(Person, person_id) is None:
            raise NotFound("ServiceRequest.subject.reference: no such person")
        return person_id
    raise CoordinationInputError("ServiceRequest.subject: give an NHS number identifier or a Patient reference")


def _reason_text(resource: dict[str, Any]) -> str | None:
    for reason in resource.get("reasonCode", []):
        if reason.get("text"):
            return str(reason["text"])
        for coding in reason.get("coding", []):
            if coding.get("display"):
                return str(coding["display"])
    return None


def get_referral(session: Session, *, actor: Actor, referral_id: int) -> ReferralPublic:
    """One referral, for triage."""
    referral = session.get(Referral, referral_id)
    if referral is None:
        raise NotFound(f"no referral {referral_id}")
    authorise(session, actor=actor, person_id=referral.person_id, resource_type="referral", action="read")
    session.commit()
    return ReferralPublic.model_validate(referral)

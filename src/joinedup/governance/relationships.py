"""Legitimate relationships: which ones an actor holds with a person, found from the record itself.

Registered practice (the person's GP record names the actor's practice), granted team relationships
(care team, coordination centre, discharge service: ``grant_relationship``), a hospital admission or
attendance in progress at the actor's organisation, the person themself, an active break-glass,
and the system. The access policy then says what each relationship allows.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Select, exists, or_, select
from sqlalchemy.orm import Session

from joinedup.errors import InvalidInput, NotFound
from joinedup.governance.policy import GRANTED_RELATIONSHIPS, AccessPolicy
from joinedup.model import Actor
from joinedup.store.tables.base import utc_now
from joinedup.store.tables.governance import BreakGlassSession, CareRelationship, Team
from joinedup.store.tables.identity import Person, SourcePatient
from joinedup.store.tables.record import Encounter


def grant_relationship(
    session: Session,
    *,
    person_id: str,
    team_id: str,
    kind: str,
    until: datetime | None = None,
    granted_by: str | None = None,
) -> CareRelationship:
    """Give a team a legitimate relationship with a person (idempotent while one is active).

    Called by coordination when a referral is accepted (``coordination``), a person joins a care
    team (``care_team``) or is referred to the discharge service (``discharge_service``).

    Raises:
        InvalidInput: unknown kind, or the team does not exist.
    """
    if kind not in GRANTED_RELATIONSHIPS:
        raise InvalidInput(f"unknown relationship kind {kind!r}; known: {', '.join(GRANTED_RELATIONSHIPS)}")
    if session.get(Team, team_id) is None:
        raise InvalidInput(f"no team {team_id!r}; create it first")
    now = utc_now()
    for existing in _active(session, person_id=person_id, team_id=team_id, kind=kind, now=now):
        if until is None or (existing.until is not None and existing.until < until):
            existing.until = until
        return existing
    relationship = CareRelationship(
        person_id=person_id, team_id=team_id, kind=kind, started_at=now, until=until, granted_by=granted_by
    )
    session.add(relationship)
    session.flush()
    return relationship


def end_relationship(
    session: Session, *, person_id: str, team_id: str, kind: str | None = None, reason: str = ""
) -> int:
    """End a team's active relationship(s) with a person (discharged from the service, case closed).

    Returns:
        How many relationships were ended.
    """
    now = utc_now()
    ended = 0
    for relationship in _active(session, person_id=person_id, team_id=team_id, kind=kind, now=now):
        relationship.ended_at = now
        relationship.ended_reason = reason or None
        ended += 1
    session.flush()
    return ended


def _active(
    session: Session, *, person_id: str, team_id: str | None, kind: str | None, now: datetime
) -> list[CareRelationship]:
    query = select(CareRelationship).where(
        CareRelationship.person_id == person_id,
        CareRelationship.ended_at.is_(None),
        or_(CareRelationship.until.is_(None), CareRelationship.until > now),
    )
    if team_id is not None:
        query = query.where(CareRelationship.team_id == team_id)
    if kind is not None:
        query = query.where(CareRelationship.kind == kind)
    return list(session.scalars(query.order_by(CareRelationship.care_relationship_id)))


def resolve_person(session: Session, person_id: str) -> Person:
    """The person, following merges to the surviving person.

    Raises:
        NotFound: no such person.
    """
    person = session.get(Person, person_id)
    seen: set[str] = set()
    while person is not None and person.merged_into_person_id and person.person_id not in seen:
        seen.add(person.person_id)
        person = session.get(Person, person.merged_into_person_id)
    if person is None:
        raise NotFound("no such person")
    return person


def person_is_sensitive(session: Session, person_id: str) -> bool:
    """Whether any source names the person as sensitive (restricted; address withheld)."""
    return bool(
        session.scalar(
            select(SourcePatient.source_patient_id)
            .where(SourcePatient.person_id == person_id, SourcePatient.sensitive_flag.is_(True))
            .limit(1)
        )
    )


def active_break_glass(session: Session, *, actor: Actor, person_id: str) -> BreakGlassSession | None:
    """The actor's unexpired break-glass on this person, if any."""
    return session.scalars(
        select(BreakGlassSession)
        .where(
            BreakGlassSession.user_id == actor.user_id,
            BreakGlassSession.person_id == person_id,
            BreakGlassSession.expires_at > utc_now(),
        )
        .order_by(BreakGlassSession.break_glass_id.desc())
        .limit(1)
    ).first()


def relationships_held(session: Session, *, actor: Actor, person_id: str | None, policy: AccessPolicy) -> set[str]:
    """Every relationship the actor holds with the person now (``none`` always; no person: only that).

    Asked in one round trip (plus one for team relationships), since every read passes here.
    """
    held = {"none"}
    if actor.role == "system":
        held.add("system")
    if person_id is None:
        return held
    if actor.person_id is not None and actor.person_id == person_id:
        held.add("self")
    now = utc_now()
    checks = {
        "registered_practice": _registered_at(person_id, actor.org_code, policy),
        "admission": _in_hospital_at(person_id, actor.org_code, policy, now),
        "break_glass": _break_glass_open(actor, person_id, now),
    }
    found = session.execute(select(*(exists(query).label(name) for name, query in checks.items()))).one()
    held.update(name for name, value in zip(checks, found, strict=True) if value)
    if actor.team_ids:
        held.update(
            session.scalars(
                select(CareRelationship.kind)
                .where(
                    CareRelationship.person_id == person_id,
                    CareRelationship.team_id.in_(actor.team_ids),
                    CareRelationship.ended_at.is_(None),
                    or_(CareRelationship.until.is_(None), CareRelationship.until > now),
                )
                .distinct()
            )
        )
    return held


def _registered_at(person_id: str, org_code: str | None, policy: AccessPolicy) -> Select[int]:
    return select(SourcePatient.source_patient_id).where(
        SourcePatient.person_id == person_id,
        SourcePatient.source.in_(policy.registered_practice_sources),
        SourcePatient.registered_practice_code == (org_code or ""),
    )


def _in_hospital_at(person_id: str, org_code: str | None, policy: AccessPolicy, now: datetime) -> Select[int]:
    rule = policy.hospital
    since = now - timedelta(hours=rule.grace_hours)
    return (
        select(Encounter.encounter_id)
        .join(SourcePatient, SourcePatient.source_patient_id == Encounter.source_patient_id)
        .where(
            SourcePatient.person_id == person_id,
            Encounter.org_code == (org_code or ""),
            Encounter.setting.in_(rule.settings),
            or_(
                Encounter.status.in_(rule.in_progress_statuses),
                (Encounter.end_at >= since) & Encounter.status.not_in(("cancelled", "entered-in-error")),
            ),
        )
    )


def _break_glass_open(actor: Actor, person_id: str, now: datetime) -> Select[int]:
    return select(BreakGlassSession.break_glass_id).where(
        BreakGlassSession.user_id == actor.user_id,
        BreakGlassSession.person_id == person_id,
        BreakGlassSession.expires_at > now,
    )

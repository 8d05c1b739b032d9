"""Voluntary-sector discharge support: finding people who could go home safely with help.

From the live A&E and admitted list (ADT news), people who may be suitable go on a worklist with
the reasons (age, frailty, living alone, a recent fall, no package of care); the discharge team
confirms or turns each down. Ward and A&E staff can also refer directly. Confirming gives the
service a ``discharge_service`` relationship with the person (what volunteers' access rests on).
Getting the person home schedules the follow-up calls for the next day and the day after.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup.coordination import population
from joinedup.coordination.errors import StateConflict
from joinedup.coordination.referrals import join_caseload
from joinedup.errors import NotFound
from joinedup.governance import authorise, end_relationship, grant_relationship, record_audit
from joinedup.model import Actor
from joinedup.store.tables import Person, SourcePatient, utc_now
from joinedup.store.tables.coordination import CaseloadEntry, DischargeSupport, FollowUpCall

logger = logging.getLogger(__name__)

DISCHARGE_TEAM_ID = "discharge-support"
OPEN_CASE_STATUSES = ("suggested", "confirmed", "home")

# The worklist rule, as data: old enough, no package of care, and at least one sign of need.
MIN_AGE = 65
FRAIL_CATEGORIES = ("moderate", "severe")
# Follow-up calls after getting home: on day 1 and day 2, at this hour (UTC).
FOLLOW_UP_DAYS = (1, 2)
FOLLOW_UP_HOUR = 10


class DischargeCase(BaseModel):
    """A person on the discharge service's worklist or caseload."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    discharge_support_id: int
    person_id: str
    route: str
    status: str
    reasons: tuple[str, ...]
    setting: str | None
    identified_at: datetime
    confirmed_at: datetime | None
    decision_at: datetime | None
    home_at: datetime | None
    closed_at: datetime | None
    outcome: str | None


@dataclass(frozen=True)
class Screening:
    """Why a person was (or was not) suggested for discharge support."""

    suitable: bool
    reasons: tuple[str, ...]


def screen_person(session: Session, *, person_id: str, at: datetime) -> Screening:
    """Apply the worklist rule to one person (age, frailty, lives alone, recent falls, no package)."""
    reasons: list[str] = []
    birth_date = population.birth_date_of(session, person_id)
    age = _age(birth_date, at) if birth_date else None
    if age is None or age < MIN_AGE:
        return Screening(False, ())
    reasons.append(f"age_{MIN_AGE}_plus" if age < 80 else "age_80_plus")
    if population.has_care_package(session, person_id, at=at):
        return Screening(False, ("package_of_care_in_place",))
    signs: list[str] = []
    risk = population.latest_risk(session, [person_id]).get(person_id)
    if risk is not None and risk[1] in FRAIL_CATEGORIES:
        signs.append(f"frailty_{risk[1]}")
    if population.lives_alone(session, person_id):
        signs.append("lives_alone")
    if population.recent_fall(session, person_id, at=at):
        signs.append("recent_fall")
    if not signs:
        return Screening(False, tuple(reasons))
    return Screening(True, (*reasons, *signs, "no_package_of_care"))


def suggest_from_adt(
    session: Session, *, person_id: str, setting: str, visit_id: str | None, at: datetime
) -> DischargeSupport | None:
    """Put a person in A&E or just admitted on the worklist when the rule says so (not committed)."""
    open_case = session.scalar(
        select(DischargeSupport.discharge_support_id).where(
            DischargeSupport.person_id == person_id, DischargeSupport.status.in_(OPEN_CASE_STATUSES)
        )
    )
    if open_case is not None:
        return None
    screening = screen_person(session, person_id=person_id, at=at)
    if not screening.suitable:
        return None
    case = DischargeSupport(
        person_id=person_id,
        team_id=DISCHARGE_TEAM_ID,
        route="worklist",
        status="suggested",
        reasons=list(screening.reasons),
        setting=setting,
        visit_id=visit_id,
        identified_at=at,
    )
    session.add(case)
    session.flush()
    logger.info("person %s suggested for discharge support (case %d)", person_id, case.discharge_support_id)
    return case


class WorklistEntry(BaseModel):
    """A worklist line: the case, and the name and age the team needs to find the person on the ward."""

    model_config = ConfigDict(frozen=True)

    case: DischargeCase
    given_name: str | None
    family_name: str | None
    age: int | None


def worklist(session: Session, *, actor: Actor, include_confirmed: bool = True) -> list[DischargeCase]:
    """The discharge team's worklist: suggested people to confirm, and people being helped home."""
    return [entry.case for entry in worklist_entries(session, actor=actor, include_confirmed=include_confirmed)]


def worklist_entries(
    session: Session, *, actor: Actor, include_confirmed: bool = True, at: datetime | None = None
) -> list[WorklistEntry]:
    """The worklist with names and ages (the team's own teams only; viewing it is audited once)."""
    at = at or utc_now()
    statuses = ("suggested", "confirmed", "home") if include_confirmed else ("suggested",)
    rows = session.scalars(
        select(DischargeSupport)
        .where(DischargeSupport.status.in_(statuses), DischargeSupport.team_id.in_(actor.team_ids or ("",)))
        .order_by(DischargeSupport.identified_at)
    ).all()
    cases = []
    for case in rows:
        given, family = case_person_name(session, case.person_id)
        birth_date = population.birth_date_of(session, case.person_id)
        cases.append(
            WorklistEntry(
                case=_public(case),
                given_name=given,
                family_name=family,
                age=_age(birth_date, at) if birth_date else None,
            )
        )
    record_audit(
        session,
        actor=actor,
        action="read",
        resource_type="follow_up_note",
        detail=f"discharge worklist: {len(cases)} people",
        basis="discharge_service",
    )
    session.commit()
    return cases


def confirm_case(
    session: Session, *, actor: Actor, discharge_support_id: int, at: datetime | None = None
) -> DischargeCase:
    """The team confirms a suggested person: the service takes them on (relationship granted)."""
    at = at or utc_now()
    case = _case(session, discharge_support_id)
    if case.status != "suggested":
        raise StateConflict(f"discharge support case {discharge_support_id} is {case.status}")
    _take_on(session, actor=actor, case=case, at=at)
    session.commit()
    return _public(case)


def turn_down_case(
    session: Session, *, actor: Actor, discharge_support_id: int, reason: str, at: datetime | None = None
) -> DischargeCase:
    """The team decides a suggested person is not suitable (reason kept)."""
    case = _case(session, discharge_support_id)
    if case.status != "suggested":
        raise StateConflict(f"discharge support case {discharge_support_id} is {case.status}")
    record_audit(
        session, actor=actor, action="write", resource_type="follow_up_note", person_id=case.person_id,
        detail=f"discharge case {discharge_support_id} not suitable", basis="discharge_service",
    )
    case.status = "not_suitable"
    case.not_suitable_reason = reason
    case.closed_at = at or utc_now()
    session.commit()
    return _public(case)


def refer_directly(
    session: Session, *, actor: Actor, person_id: str, setting: str, reason: str, at: datetime | None = None
) -> DischargeCase:
    """A ward or A&E refers a person straight to the discharge service."""
    at = at or utc_now()
    if session.get(Person, person_id) is None:
        raise NotFound("no such person")
    case = DischargeSupport(
        person_id=person_id,
        team_id=DISCHARGE_TEAM_ID,
        route="direct_referral",
        status="suggested",
        reasons=["direct_referral"],
        setting=setting,
        identified_at=at,
        outcome=None,
    )
    session.add(case)
    session.flush()
    _take_on(session, actor=actor, case=case, at=at, referral_reason=reason)
    session.commit()
    return _public(case)


def record_home(
    session: Session,
    *,
    actor: Actor,
    discharge_support_id: int,
    decision_at: datetime,
    home_at: datetime,
) -> DischargeCase:
    """The person is home: record when the decision was made and when they got home; calls scheduled."""
    case = _case(session, discharge_support_id)
    authorise(session, actor=actor, person_id=case.person_id, resource_type="follow_up_note", action="write")
    if case.status != "confirmed":
        raise StateConflict(f"discharge support case {discharge_support_id} is {case.status}")
    case.status = "home"
    case.decision_at = decision_at
    case.home_at = home_at
    for day in FOLLOW_UP_DAYS:
        due = (home_at + timedelta(days=day)).replace(hour=FOLLOW_UP_HOUR, minute=0, second=0, microsecond=0)
        session.add(FollowUpCall(discharge_support_id=case.discharge_support_id, day_number=day, attempt=1, due_at=due))
    session.commit()
    return _public(case)


def close_case(
    session: Session, *, actor: Actor, discharge_support_id: int, outcome: str, at: datetime | None = None
) -> DischargeCase:
    """Close a case with its outcome; the service's relationship with the person ends."""
    at = at or utc_now()
    case = _case(session, discharge_support_id)
    authorise(session, actor=actor, person_id=case.person_id, resource_type="follow_up_note", action="write")
    if case.status not in ("confirmed", "home"):
        raise StateConflict(f"discharge support case {discharge_support_id} is {case.status}")
    case.status = "closed"
    case.closed_at = at
    case.outcome = outcome
    for entry in session.scalars(
        select(CaseloadEntry).where(
            CaseloadEntry.person_id == case.person_id,
            CaseloadEntry.team_id == case.team_id,
            CaseloadEntry.ended_at.is_(None),
        )
    ):
        entry.ended_at = at
    end_relationship(
        session, person_id=case.person_id, team_id=case.team_id, kind="discharge_service", reason="case closed"
    )
    session.commit()
    return _public(case)


def get_case(session: Session, *, actor: Actor, discharge_support_id: int) -> DischargeCase:
    """One case."""
    case = _case(session, discharge_support_id)
    authorise(session, actor=actor, person_id=case.person_id, resource_type="follow_up_note", action="read")
    session.commit()
    return _public(case)


def case_person_name(session: Session, person_id: str) -> tuple[str | None, str | None]:
    """The person's given and family name (contact field set), from their earliest-linked source."""
    row = session.execute(
        select(SourcePatient.given_name, SourcePatient.family_name)
        .where(SourcePatient.person_id == person_id)
        .order_by(SourcePatient.source_patient_id)
        .limit(1)
    ).first()
    return (row[0], row[1]) if row else (None, None)


def _take_on(
    session: Session, *, actor: Actor, case: DischargeSupport, at: datetime, referral_reason: str | None = None
) -> None:
    grant_relationship(
        session, person_id=case.person_id, team_id=case.team_id, kind="discharge_service", granted_by=actor.user_id
    )
    authorise(session, actor=actor, person_id=case.person_id, resource_type="follow_up_note", action="write")
    case.status = "confirmed"
    case.confirmed_at = at
    case.confirmed_by = actor.user_id
    if referral_reason:
        case.reasons = [*case.reasons, referral_reason[:80]]
    join_caseload(session, person_id=case.person_id, team_id=case.team_id, reason="discharge_support", at=at)


def _case(session: Session, discharge_support_id: int) -> DischargeSupport:
    case = session.get(DischargeSupport, discharge_support_id)
    if case is None:
        raise NotFound(f"no discharge support case {discharge_support_id}")
    return case


def _public(case: DischargeSupport) -> DischargeCase:
    return DischargeCase(
        discharge_support_id=case.discharge_support_id,
        person_id=case.person_id,
        route=case.route,
        status=case.status,
        reasons=tuple(case.reasons),
        setting=case.setting,
        identified_at=case.identified_at,
        confirmed_at=case.confirmed_at,
        decision_at=case.decision_at,
        home_at=case.home_at,
        closed_at=case.closed_at,
        outcome=case.outcome,
    )


def _age(birth_date: object, at: datetime) -> int:
    from datetime import date

    assert isinstance(birth_date, date)
    today = at.date()
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))


CONTACT_FIELDS = ("given_name", "family_name", "phone", "address_line", "postcode", "birth_date")


class CaseSummary(BaseModel):
    """What the discharge service sees about a person it supports: contact details it may see,
    the case, and nothing clinical (diagnoses stay with clinical roles)."""

    model_config = ConfigDict(frozen=True)

    case: DischargeCase
    contact: dict[str, str | None]
    age: int | None


def case_summary(session: Session, *, actor: Actor, discharge_support_id: int) -> CaseSummary:
    """The case with the person's contact details, cut to the fields the actor's role may see."""
    case = _case(session, discharge_support_id)
    decision = authorise(session, actor=actor, person_id=case.person_id, resource_type="patient", action="read")
    row = session.scalar(
        select(SourcePatient)
        .where(SourcePatient.person_id == case.person_id)
        .order_by(SourcePatient.source_patient_id)
        .limit(1)
    )
    contact: dict[str, str | None] = {}
    if row is not None:
        for name in CONTACT_FIELDS:
            if decision.visible_fields is None or name in decision.visible_fields:
                value = getattr(row, name)
                contact[name] = value.isoformat() if hasattr(value, "isoformat") else value
    birth_date = population.birth_date_of(session, case.person_id)
    session.commit()
    return CaseSummary(
        case=_public(case),
        contact=contact,
        age=_age(birth_date, utc_now()) if birth_date else None,
    )

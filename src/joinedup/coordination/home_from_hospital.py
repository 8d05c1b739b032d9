"""Home from Hospital: up to six weeks of support after getting home, then closed with an outcome.

Shopping, befriending, lifts to check-ups: planned visits and calls towards goals the person sets,
with an end date no more than six weeks from the start.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from joinedup.coordination.errors import CoordinationInputError, StateConflict
from joinedup.errors import NotFound
from joinedup.governance import authorise
from joinedup.model import Actor
from joinedup.store.tables import utc_now
from joinedup.store.tables.coordination import DischargeSupport, HomeFromHospital

MAX_LENGTH = timedelta(weeks=6)


class PlannedContact(BaseModel):
    """A planned visit or call."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    on: date
    kind: Literal["visit", "call"]
    purpose: str = Field(max_length=200)


class HomeFromHospitalPublic(BaseModel):
    """A Home from Hospital support period."""

    model_config = ConfigDict(frozen=True)

    home_from_hospital_id: int
    discharge_support_id: int
    person_id: str
    start_date: date
    end_date: date
    goals: tuple[str, ...]
    planned_contacts: tuple[PlannedContact, ...]
    status: str
    outcome: str | None


def refer_to_home_from_hospital(
    session: Session,
    *,
    actor: Actor,
    discharge_support_id: int,
    start_date: date,
    end_date: date,
    goals: list[str],
    planned_contacts: list[PlannedContact],
    at: datetime | None = None,
) -> HomeFromHospitalPublic:
    """Start Home from Hospital support (at most six weeks, with goals and planned contacts).

    Raises:
        CoordinationInputError: the end date is before the start or more than six weeks after it,
            there are no goals, or a planned contact falls outside the period.
    """
    case = session.get(DischargeSupport, discharge_support_id)
    if case is None:
        raise NotFound(f"no discharge support case {discharge_support_id}")
    authorise(session, actor=actor, person_id=case.person_id, resource_type="follow_up_note", action="write")
    if end_date < start_date or end_date - start_date > MAX_LENGTH:
        raise CoordinationInputError("Home from Hospital lasts up to six weeks: check the end date")
    if not goals:
        raise CoordinationInputError("agree at least one goal with the person")
    outside = [contact.on.isoformat() for contact in planned_contacts if not start_date <= contact.on <= end_date]
    if outside:
        raise CoordinationInputError(f"planned contacts outside the support period: {', '.join(outside)}")
    support = HomeFromHospital(
        discharge_support_id=discharge_support_id,
        person_id=case.person_id,
        start_date=start_date,
        end_date=end_date,
        goals=list(goals),
        planned_contacts=[contact.model_dump(mode="json") for contact in planned_contacts],
        status="open",
        referred_by=actor.user_id,
        referred_at=at or utc_now(),
    )
    session.add(support)
    session.commit()
    return _public(support)


def close_home_from_hospital(
    session: Session,
    *,
    actor: Actor,
    home_from_hospital_id: int,
    outcome: str,
    ended_early: bool = False,
    at: datetime | None = None,
) -> HomeFromHospitalPublic:
    """Close a support period with its outcome (completed, or ended early)."""
    support = session.get(HomeFromHospital, home_from_hospital_id)
    if support is None:
        raise NotFound(f"no Home from Hospital support {home_from_hospital_id}")
    authorise(session, actor=actor, person_id=support.person_id, resource_type="follow_up_note", action="write")
    if support.status != "open":
        raise StateConflict(f"Home from Hospital support {home_from_hospital_id} is already {support.status}")
    support.status = "ended_early" if ended_early else "completed"
    support.outcome = outcome
    support.closed_at = at or utc_now()
    session.commit()
    return _public(support)


def _public(support: HomeFromHospital) -> HomeFromHospitalPublic:
    contacts: list[dict[str, Any]] = support.planned_contacts
    return HomeFromHospitalPublic(
        home_from_hospital_id=support.home_from_hospital_id,
        discharge_support_id=support.discharge_support_id,
        person_id=support.person_id,
        start_date=support.start_date,
        end_date=support.end_date,
        goals=tuple(support.goals),
        planned_contacts=tuple(PlannedContact.model_validate(contact) for contact in contacts),
        status=support.status,
        outcome=support.outcome,
    )

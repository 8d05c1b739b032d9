"""After getting home: the take-home and settle-in checklist, and the follow-up calls.

An unmet checklist item raises a task for the team that can put it right (social care, the falls
team, the pharmacy...). Calls are due the next day and the day after; a call that could not reach
the person is retried a few hours later, and escalated to the centre after the last attempt; a
call that finds needs raises a task.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup.coordination import _work
from joinedup.coordination.errors import CoordinationInputError, StateConflict
from joinedup.coordination.referrals import CENTRE_TEAM_ID
from joinedup.errors import NotFound
from joinedup.governance import authorise
from joinedup.model import Actor
from joinedup.store.tables import utc_now
from joinedup.store.tables.coordination import DischargeSupport, FollowUpCall, SettleInCheck

logger = logging.getLogger(__name__)

# Checklist items: (label, the queue that fixes it when unmet, the task kind, due within hours).
SETTLE_IN_ITEMS: dict[str, tuple[str, str, str, int]] = {
    "home_warm_and_safe": ("Home warm and safe", "social-care", "social_care_assessment", 24),
    "food_in": ("Food in the house", "discharge-support", "arrange_shopping", 12),
    "medicines_in_hand": ("Medicines in hand and understood", "community-pharmacy", "medicines_delivery", 6),
    "mobility_aids": ("Mobility aids in place", "falls-team", "mobility_aids", 24),
    "information_pack": ("Information pack on local services given", "discharge-support", "information_pack", 48),
    "key_contacts": ("Key contacts written down", "discharge-support", "key_contacts", 24),
}
CALL_SCRIPT = (
    "Hello, it's {volunteer} from the discharge support service, calling as promised.",
    "How are you feeling today? Have you been eating and drinking?",
    "Have you got your medicines, and do you know when to take them?",
    "Have you been able to move about safely? Any falls or near misses?",
    "Is there anything you need, or anything worrying you?",
    "Would you like a call or visit from Home from Hospital over the next few weeks?",
)
RETRY_AFTER = timedelta(hours=3)
MAX_ATTEMPTS = 3


class ChecklistAnswer(BaseModel):
    """One checklist item as found at home."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    item: str
    met: bool
    note: str | None = Field(default=None, max_length=400)


class CallPublic(BaseModel):
    """A follow-up call, planned or made."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    follow_up_call_id: int
    discharge_support_id: int
    day_number: int
    attempt: int
    due_at: datetime
    made_at: datetime | None
    outcome: str | None
    notes: str | None
    task_id: int | None


def record_settle_in(
    session: Session,
    *,
    actor: Actor,
    discharge_support_id: int,
    answers: list[ChecklistAnswer],
    at: datetime | None = None,
) -> list[int]:
    """Record the take-home and settle-in checklist; returns the ids of tasks raised for unmet items."""
    at = at or utc_now()
    case = _case(session, discharge_support_id)
    authorise(session, actor=actor, person_id=case.person_id, resource_type="follow_up_note", action="write")
    unknown = [answer.item for answer in answers if answer.item not in SETTLE_IN_ITEMS]
    if unknown:
        raise CoordinationInputError(f"unknown checklist item(s): {', '.join(unknown)}")
    raised: list[int] = []
    for answer in answers:
        label, queue, kind, hours = SETTLE_IN_ITEMS[answer.item]
        check = SettleInCheck(
            discharge_support_id=discharge_support_id,
            item=answer.item,
            met_flag=answer.met,
            note=answer.note,
            checked_by=actor.user_id,
            checked_at=at,
        )
        if not answer.met:
            task = _work.raise_task(
                session,
                person_id=case.person_id,
                kind=kind,
                title=f"Not met at home: {label}",
                queue_team_id=queue,
                due_at=at + timedelta(hours=hours),
                origin="settle_in",
                created_by=actor.user_id,
                at=at,
                priority="urgent" if hours <= 12 else "routine",
                discharge_support_id=discharge_support_id,
            )
            check.task_id = task.task_id
            raised.append(task.task_id)
        session.add(check)
    session.commit()
    return raised


def calls_due(session: Session, *, actor: Actor, until: datetime | None = None) -> list[CallPublic]:
    """The follow-up calls not yet made, for the actor's discharge teams, soonest first."""
    query = (
        select(FollowUpCall)
        .join(DischargeSupport, DischargeSupport.discharge_support_id == FollowUpCall.discharge_support_id)
        .where(FollowUpCall.outcome.is_(None), DischargeSupport.team_id.in_(actor.team_ids or ("",)))
        .order_by(FollowUpCall.due_at)
    )
    if until is not None:
        query = query.where(FollowUpCall.due_at <= until)
    return [CallPublic.model_validate(call) for call in session.scalars(query)]


def calls_for_case(session: Session, *, actor: Actor, discharge_support_id: int) -> list[CallPublic]:
    """Every call of a case, in order."""
    case = _case(session, discharge_support_id)
    authorise(session, actor=actor, person_id=case.person_id, resource_type="follow_up_note", action="read")
    rows = session.scalars(
        select(FollowUpCall)
        .where(FollowUpCall.discharge_support_id == discharge_support_id)
        .order_by(FollowUpCall.due_at, FollowUpCall.follow_up_call_id)
    )
    result = [CallPublic.model_validate(call) for call in rows]
    session.commit()
    return result


def record_call(
    session: Session,
    *,
    actor: Actor,
    follow_up_call_id: int,
    outcome: Literal["fine", "needs_help", "unreachable"],
    notes: str | None = None,
    at: datetime | None = None,
) -> CallPublic:
    """Record a call's outcome: fine; needs help (a task is raised); unreachable (retry, then escalate)."""
    at = at or utc_now()
    call = session.get(FollowUpCall, follow_up_call_id)
    if call is None:
        raise NotFound(f"no follow-up call {follow_up_call_id}")
    case = _case(session, call.discharge_support_id)
    authorise(session, actor=actor, person_id=case.person_id, resource_type="follow_up_note", action="write")
    if call.outcome is not None:
        raise StateConflict(f"follow-up call {follow_up_call_id} is already recorded ({call.outcome})")
    if outcome == "needs_help" and not notes:
        raise CoordinationInputError("say what help is needed")
    call.outcome = outcome
    call.notes = notes
    call.made_at = at
    call.made_by = actor.user_id
    if outcome == "needs_help":
        task = _work.raise_task(
            session,
            person_id=case.person_id,
            kind="needs_found_on_call",
            title=f"Needs found on day {call.day_number} call",
            queue_team_id=case.team_id,
            due_at=at + timedelta(hours=24),
            origin="follow_up_call",
            created_by=actor.user_id,
            at=at,
            priority="urgent",
            discharge_support_id=case.discharge_support_id,
        )
        call.task_id = task.task_id
    elif outcome == "unreachable":
        if call.attempt < MAX_ATTEMPTS:
            session.add(
                FollowUpCall(
                    discharge_support_id=call.discharge_support_id,
                    day_number=call.day_number,
                    attempt=call.attempt + 1,
                    due_at=at + RETRY_AFTER,
                )
            )
        else:
            task = _work.raise_task(
                session,
                person_id=case.person_id,
                kind="welfare_check",
                title=f"Could not reach the person after {MAX_ATTEMPTS} calls on day {call.day_number}: welfare check",
                queue_team_id=CENTRE_TEAM_ID,
                due_at=at + timedelta(hours=4),
                origin="follow_up_call",
                created_by=actor.user_id,
                at=at,
                priority="asap",
                discharge_support_id=case.discharge_support_id,
            )
            call.task_id = task.task_id
    session.commit()
    return CallPublic.model_validate(call)


def _case(session: Session, discharge_support_id: int) -> DischargeSupport:
    case = session.get(DischargeSupport, discharge_support_id)
    if case is None:
        raise NotFound(f"no discharge support case {discharge_support_id}")
    return case

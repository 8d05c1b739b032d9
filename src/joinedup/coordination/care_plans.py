"""Care plans in the FHIR CarePlan shape: goals, actions and who does them, what matters to me.

A person has one active plan at a time; writing a new one revokes the one before (kept for the
record). The plan's telehealth thresholds are what the centre watches readings against.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup.coordination.schemas import Activity, CarePlanCreate, CarePlanPublic, Goal, Threshold
from joinedup.errors import NotFound
from joinedup.governance import authorise
from joinedup.model import Actor
from joinedup.store.tables import Person, utc_now
from joinedup.store.tables.coordination import CarePlan

logger = logging.getLogger(__name__)

_GOAL_STATUS_TO_FHIR = {"proposed": "proposed", "active": "active", "achieved": "completed", "cancelled": "cancelled"}


def write_care_plan(
    session: Session, *, actor: Actor, request: CarePlanCreate, at: datetime | None = None
) -> CarePlanPublic:
    """Record a person's care plan (a new version: the previous active plan is revoked)."""
    at = at or utc_now()
    if session.get(Person, request.person_id) is None:
        raise NotFound("no such person")
    authorise(session, actor=actor, person_id=request.person_id, resource_type="care_plan", action="write")
    for previous in session.scalars(
        select(CarePlan).where(CarePlan.person_id == request.person_id, CarePlan.status == "active")
    ):
        previous.status = "revoked"
        previous.updated_at = at
    plan = CarePlan(
        person_id=request.person_id,
        title=request.title,
        status="active",
        pathway_instance_id=request.pathway_instance_id,
        what_matters_to_me=request.what_matters_to_me,
        goals=[goal.model_dump(mode="json") for goal in request.goals],
        activities=[activity.model_dump(mode="json") for activity in request.activities],
        thresholds=[threshold.model_dump(mode="json") for threshold in request.thresholds],
        care_team=list(request.care_team),
        review_date=request.review_date,
        author=actor.user_id,
        created_at=at,
        updated_at=at,
    )
    session.add(plan)
    session.commit()
    return _public(plan)


def active_care_plan(session: Session, *, actor: Actor, person_id: str) -> CarePlanPublic | None:
    """The person's active care plan, or None."""
    authorise(session, actor=actor, person_id=person_id, resource_type="care_plan", action="read")
    plan = session.scalar(
        select(CarePlan)
        .where(CarePlan.person_id == person_id, CarePlan.status == "active")
        .order_by(CarePlan.care_plan_id.desc())
        .limit(1)
    )
    session.commit()
    return _public(plan) if plan is not None else None


def care_plan_to_fhir(plan: CarePlanPublic) -> dict[str, Any]:
    """The plan as a FHIR R4 CarePlan resource (goals as contained Goal resources)."""
    goals = [
        {
            "resourceType": "Goal",
            "id": f"goal-{index}",
            "lifecycleStatus": _GOAL_STATUS_TO_FHIR[goal.status],
            "description": {"text": goal.description},
            "subject": {"reference": f"Patient/{plan.person_id}"},
            **({"target": [_target(goal)]} if goal.target else {}),
        }
        for index, goal in enumerate(plan.goals, start=1)
    ]
    resource: dict[str, Any] = {
        "resourceType": "CarePlan",
        "id": str(plan.care_plan_id),
        "status": plan.status,
        "intent": "plan",
        "title": plan.title,
        "subject": {"reference": f"Patient/{plan.person_id}"},
        "created": plan.created_at.isoformat(),
        "contained": goals,
        "goal": [{"reference": f"#{goal['id']}"} for goal in goals],
        "activity": [
            {
                "detail": {
                    "status": activity.status,
                    "description": activity.description,
                    **({"performer": [{"display": activity.responsible}]} if activity.responsible else {}),
                }
            }
            for activity in plan.activities
        ],
    }
    notes = []
    if plan.what_matters_to_me:
        notes.append({"text": f"What matters to me: {plan.what_matters_to_me}"})
    if plan.review_date:
        resource["period"] = {"end": plan.review_date.isoformat()}
        notes.append({"text": f"Review by {plan.review_date.isoformat()}"})
    if notes:
        resource["note"] = notes
    if not goals:
        del resource["contained"]
        del resource["goal"]
    if not plan.activities:
        del resource["activity"]
    return resource


def _target(goal: Goal) -> dict[str, str]:
    target = {"detailString": goal.target or ""}
    if goal.due_date:
        target["dueDate"] = goal.due_date.isoformat()
    return target


def public_care_plan(plan: CarePlan) -> CarePlanPublic:
    """The public view of a stored plan (no access check: callers have made it)."""
    return _public(plan)


def _public(plan: CarePlan) -> CarePlanPublic:
    return CarePlanPublic(
        care_plan_id=plan.care_plan_id,
        person_id=plan.person_id,
        title=plan.title,
        status=plan.status,
        what_matters_to_me=plan.what_matters_to_me,
        goals=tuple(Goal.model_validate(goal) for goal in plan.goals),
        activities=tuple(Activity.model_validate(activity) for activity in plan.activities),
        thresholds=tuple(Threshold.model_validate(threshold) for threshold in plan.thresholds),
        care_team=tuple(plan.care_team),
        review_date=plan.review_date,
        pathway_instance_id=plan.pathway_instance_id,
        created_at=plan.created_at,
        updated_at=plan.updated_at,
    )

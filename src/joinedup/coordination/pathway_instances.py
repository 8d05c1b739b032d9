"""People on pathways: start one, finish or skip a step (with the decision taken), see where they are.

Each step opens with the tasks the pathway says it starts; when every task of a step without a
decision point is done (a booking confirmed, a call made), the pathway moves on by itself. A step
finished out of order, or skipped, is a deviation and needs a reason.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup.coordination import _work
from joinedup.coordination.errors import CoordinationInputError, PathwayError, StateConflict
from joinedup.coordination.pathway_library import PathwayLibrary, shipped_library
from joinedup.coordination.schemas import PathwayInstancePublic, StepRecordPublic
from joinedup.errors import NotFound
from joinedup.governance import authorise
from joinedup.model import Actor
from joinedup.store.tables import Observation, Person, SourcePatient, utc_now
from joinedup.store.tables.coordination import PathwayInstance, PathwayStepRecord

logger = logging.getLogger(__name__)


def start_on_pathway(
    session: Session,
    *,
    person_id: str,
    pathway_id: str,
    at: datetime,
    actor_id: str,
    library: PathwayLibrary | None = None,
) -> PathwayInstance:
    """Put a person on the latest version of a pathway and open its first step (not committed)."""
    if session.get(Person, person_id) is None:
        raise NotFound("no such person")
    pathway = (library or shipped_library()).get(pathway_id)
    already = session.scalar(
        select(PathwayInstance.pathway_instance_id).where(
            PathwayInstance.person_id == person_id,
            PathwayInstance.pathway_id == pathway_id,
            PathwayInstance.status.in_(("active", "paused")),
        )
    )
    if already is not None:
        raise StateConflict(f"person {person_id} is already on pathway {pathway_id} (instance {already})")
    instance = PathwayInstance(
        person_id=person_id,
        pathway_id=pathway.pathway_id,
        pathway_version=pathway.version,
        status="active",
        started_at=at,
    )
    session.add(instance)
    session.flush()
    _work.open_step(session, instance=instance, pathway=pathway, step_id=pathway.first_step, at=at, actor_id=actor_id)
    logger.info("person %s started pathway %s v%d", person_id, pathway.pathway_id, pathway.version)
    return instance


def start_pathway(
    session: Session,
    *,
    actor: Actor,
    person_id: str,
    pathway_id: str,
    at: datetime | None = None,
) -> PathwayInstancePublic:
    """Put a person the centre works with on a pathway (a referral accepted does this for you)."""
    at = at or utc_now()
    authorise(session, actor=actor, person_id=person_id, resource_type="care_plan", action="write")
    instance = start_on_pathway(session, person_id=person_id, pathway_id=pathway_id, at=at, actor_id=actor.user_id)
    session.commit()
    return describe_instance(session, instance, at=at)


def finish_step(
    session: Session,
    *,
    actor: Actor,
    pathway_instance_id: int,
    step_id: str,
    decision: str | None = None,
    outcome: str | None = None,
    deviation: str | None = None,
    skipped: bool = False,
    at: datetime | None = None,
) -> PathwayInstancePublic:
    """Record the current step as done (or skipped) with the decision taken, and open the next one.

    Raises:
        PathwayError: ``step_id`` is not the current step, a decision is missing or unknown, or a
            skip has no reason.
    """
    at = at or utc_now()
    instance = _instance(session, pathway_instance_id)
    authorise(session, actor=actor, person_id=instance.person_id, resource_type="care_plan", action="write")
    if instance.current_step_id != step_id:
        raise PathwayError(
            f"step {step_id!r} is not the current step of pathway instance {pathway_instance_id} "
            f"(current: {instance.current_step_id!r})"
        )
    if skipped and not deviation:
        raise CoordinationInputError("a skipped step is a deviation from the pathway: give the reason")
    pathway = shipped_library().get(instance.pathway_id, instance.pathway_version)
    _work.finish_step(
        session,
        instance=instance,
        pathway=pathway,
        at=at,
        actor_id=actor.user_id,
        decision=decision,
        outcome=outcome,
        deviation=deviation,
        skipped=skipped,
    )
    session.commit()
    return describe_instance(session, instance, at=at)


def suggest_decision(
    session: Session, *, actor: Actor, pathway_instance_id: int, at: datetime | None = None
) -> str | None:
    """The answer the record suggests at the current decision point (e.g. HbA1c >= 75), or None.

    Looks at the person's latest observation of the code each option names; the coordinator decides.
    """
    instance = _instance(session, pathway_instance_id)
    authorise(session, actor=actor, person_id=instance.person_id, resource_type="observation", action="read")
    if instance.current_step_id is None:
        return None
    step = shipped_library().get(instance.pathway_id, instance.pathway_version).step(instance.current_step_id)
    if step.decision is None:
        return None
    for option in step.decision.options:
        if option.when_code is None:
            continue
        value = session.scalar(
            select(Observation.value_num)
            .join(SourcePatient, SourcePatient.source_patient_id == Observation.source_patient_id)
            .where(
                SourcePatient.person_id == instance.person_id,
                Observation.code == option.when_code,
                Observation.value_num.is_not(None),
            )
            .order_by(Observation.effective_at.desc())
            .limit(1)
        )
        if value is None:
            continue
        at_least_ok = option.when_at_least is None or value >= option.when_at_least
        below_ok = option.when_below is None or value < option.when_below
        if at_least_ok and below_ok:
            return option.answer
    return None


def pathway_instances_for(
    session: Session, *, actor: Actor, person_id: str, at: datetime | None = None
) -> list[PathwayInstancePublic]:
    """Every pathway a person has been on, newest first, with the record of each step."""
    at = at or utc_now()
    authorise(session, actor=actor, person_id=person_id, resource_type="care_plan", action="read")
    instances = session.scalars(
        select(PathwayInstance)
        .where(PathwayInstance.person_id == person_id)
        .order_by(PathwayInstance.pathway_instance_id.desc())
    )
    result = [describe_instance(session, instance, at=at) for instance in instances]
    session.commit()
    return result


def get_pathway_instance(
    session: Session, *, actor: Actor, pathway_instance_id: int, at: datetime | None = None
) -> PathwayInstancePublic:
    """One pathway instance with the record of each step."""
    instance = _instance(session, pathway_instance_id)
    authorise(session, actor=actor, person_id=instance.person_id, resource_type="care_plan", action="read")
    result = describe_instance(session, instance, at=at or utc_now())
    session.commit()
    return result


def describe_instance(session: Session, instance: PathwayInstance, *, at: datetime) -> PathwayInstancePublic:
    """The public view of an instance (no access check: callers have made it)."""
    records = session.scalars(
        select(PathwayStepRecord)
        .where(PathwayStepRecord.pathway_instance_id == instance.pathway_instance_id)
        .order_by(PathwayStepRecord.pathway_step_record_id)
    )
    overdue = (
        instance.status == "active"
        and instance.current_step_due_at is not None
        and instance.current_step_due_at < at
    )
    return PathwayInstancePublic(
        pathway_instance_id=instance.pathway_instance_id,
        person_id=instance.person_id,
        pathway_id=instance.pathway_id,
        pathway_version=instance.pathway_version,
        status=instance.status,
        current_step_id=instance.current_step_id,
        current_step_due_at=instance.current_step_due_at,
        started_at=instance.started_at,
        ended_at=instance.ended_at,
        overdue_flag=overdue,
        steps=tuple(StepRecordPublic.model_validate(record) for record in records),
    )


def _instance(session: Session, pathway_instance_id: int) -> PathwayInstance:
    instance = session.get(PathwayInstance, pathway_instance_id)
    if instance is None:
        raise NotFound(f"no pathway instance {pathway_instance_id}")
    return instance


__all__ = [
    "describe_instance",
    "finish_step",
    "get_pathway_instance",
    "pathway_instances_for",
    "start_on_pathway",
    "start_pathway",
    "suggest_decision",
]

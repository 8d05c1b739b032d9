"""The centre's work machinery shared by its services: raising tasks, opening and advancing steps.

Private to ``joinedup.coordination``: these functions change rows but neither commit nor audit;
the public service that calls them owns the unit of work and the audit entry.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from joinedup.coordination.errors import PathwayError
from joinedup.coordination.pathway_library import Pathway, PathwayLibrary, shipped_library
from joinedup.store.tables.coordination import BoardFlag, PathwayInstance, PathwayStepRecord, Task

logger = logging.getLogger(__name__)

OPEN_TASK_STATUSES = ("requested", "in-progress")
PRIORITY_ORDER = ("routine", "urgent", "asap", "stat")


def raise_task(
    session: Session,
    *,
    person_id: str,
    kind: str,
    title: str,
    queue_team_id: str,
    due_at: datetime,
    origin: str,
    created_by: str,
    at: datetime,
    priority: str = "routine",
    owner_user_id: str | None = None,
    pathway_instance_id: int | None = None,
    step_id: str | None = None,
    discharge_support_id: int | None = None,
    bookable_service_kinds: tuple[str, ...] = (),
) -> Task:
    """Put a task on a queue (not committed)."""
    task = Task(
        person_id=person_id,
        kind=kind,
        title=title,
        queue_team_id=queue_team_id,
        owner_user_id=owner_user_id,
        priority=priority,
        status="requested",
        due_at=due_at,
        origin=origin,
        pathway_instance_id=pathway_instance_id,
        step_id=step_id,
        discharge_support_id=discharge_support_id,
        bookable_service_kinds=",".join(bookable_service_kinds) or None,
        escalation_level=0,
        created_at=at,
        created_by=created_by,
    )
    session.add(task)
    session.flush()
    return task


def open_step(
    session: Session,
    *,
    instance: PathwayInstance,
    pathway: Pathway,
    step_id: str,
    at: datetime,
    actor_id: str,
    queue_for: dict[str, str] | None = None,
) -> PathwayStepRecord:
    """Make ``step_id`` the instance's current step and raise the tasks it starts."""
    step = pathway.step(step_id)
    due_at = at + timedelta(days=step.expected_within_days)
    record = PathwayStepRecord(
        pathway_instance_id=instance.pathway_instance_id,
        step_id=step_id,
        status="in_progress",
        started_at=at,
        due_at=due_at,
    )
    session.add(record)
    instance.current_step_id = step_id
    instance.current_step_due_at = due_at
    for template in step.tasks:
        queue = (queue_for or {}).get(template.queue, template.queue)
        raise_task(
            session,
            person_id=instance.person_id,
            kind=template.kind,
            title=template.title,
            queue_team_id=queue,
            due_at=at + timedelta(hours=template.due_within_hours),
            origin="pathway_step",
            created_by=actor_id,
            at=at,
            priority=template.priority,
            pathway_instance_id=instance.pathway_instance_id,
            step_id=step_id,
            bookable_service_kinds=template.bookable_service_kinds,
        )
    session.flush()
    return record


def current_step_record(session: Session, instance: PathwayInstance) -> PathwayStepRecord | None:
    """The in-progress record of the instance's current step."""
    return session.scalar(
        select(PathwayStepRecord)
        .where(
            PathwayStepRecord.pathway_instance_id == instance.pathway_instance_id,
            PathwayStepRecord.step_id == instance.current_step_id,
            PathwayStepRecord.status == "in_progress",
        )
        .order_by(PathwayStepRecord.pathway_step_record_id.desc())
        .limit(1)
    )


def finish_step(
    session: Session,
    *,
    instance: PathwayInstance,
    pathway: Pathway,
    at: datetime,
    actor_id: str,
    decision: str | None = None,
    outcome: str | None = None,
    deviation: str | None = None,
    skipped: bool = False,
) -> str | None:
    """Close the current step and open the next one (or complete the pathway). Returns the next step id."""
    if instance.status not in ("active", "paused") or instance.current_step_id is None:
        raise PathwayError(f"pathway instance {instance.pathway_instance_id} is {instance.status}; no step to finish")
    next_step = pathway.next_step_after(instance.current_step_id, decision)
    record = current_step_record(session, instance)
    if record is None:  # pragma: no cover - open_step always writes one
        raise PathwayError(f"pathway instance {instance.pathway_instance_id} has no open step record")
    record.status = "skipped" if skipped else "completed"
    record.completed_at = at
    record.completed_by = actor_id
    record.decision = decision
    record.outcome = outcome
    record.deviation = deviation
    # Tasks of a finished step that nobody did are closed, so queues show only live work.
    for task in session.scalars(
        select(Task).where(
            Task.pathway_instance_id == instance.pathway_instance_id,
            Task.step_id == instance.current_step_id,
            Task.status.in_(OPEN_TASK_STATUSES),
        )
    ):
        task.status = "cancelled"
        task.outcome = "step finished"
        task.completed_at = at
    clear_flags(session, person_id=instance.person_id, kind="overdue_step", at=at)
    if next_step is None:
        instance.status = "completed"
        instance.current_step_id = None
        instance.current_step_due_at = None
        instance.ended_at = at
        session.flush()
        return None
    open_step(session, instance=instance, pathway=pathway, step_id=next_step, at=at, actor_id=actor_id)
    return next_step


def advance_when_step_done(
    session: Session,
    *,
    pathway_instance_id: int,
    step_id: str | None,
    at: datetime,
    actor_id: str,
    library: PathwayLibrary | None = None,
) -> str | None:
    """Advance the pathway when every task of its current step is done and no decision is needed.

    Returns:
        The new current step id, or None when nothing moved (a decision point waits for a person).
    """
    instance = session.get(PathwayInstance, pathway_instance_id)
    if instance is None or step_id is None or instance.status != "active" or instance.current_step_id != step_id:
        return None
    try:
        pathway = (library or shipped_library()).get(instance.pathway_id, instance.pathway_version)
        if pathway.step(step_id).decision is not None:
            return None
    except PathwayError:
        # Not a pathway this library holds: its steps are moved on by hand.
        return None
    open_count = session.scalar(
        select(func.count())
        .select_from(Task)
        .where(
            Task.pathway_instance_id == pathway_instance_id,
            Task.step_id == step_id,
            Task.status.in_(OPEN_TASK_STATUSES),
        )
    )
    if open_count:
        return None
    finish_step(session, instance=instance, pathway=pathway, at=at, actor_id=actor_id, outcome="all tasks done")
    return instance.current_step_id


def raise_flag(session: Session, *, person_id: str, kind: str, detail: str, at: datetime) -> BoardFlag:
    """Raise a board flag unless the same kind is already open for the person."""
    existing = session.scalar(
        select(BoardFlag).where(
            BoardFlag.person_id == person_id, BoardFlag.kind == kind, BoardFlag.cleared_at.is_(None)
        )
    )
    if existing is not None:
        existing.detail = detail
        return existing
    flag = BoardFlag(person_id=person_id, kind=kind, detail=detail, raised_at=at)
    session.add(flag)
    session.flush()
    return flag


def clear_flags(session: Session, *, person_id: str, kind: str, at: datetime) -> int:
    """Clear every open flag of one kind for a person; returns how many were open."""
    cleared = 0
    for flag in session.scalars(
        select(BoardFlag).where(
            BoardFlag.person_id == person_id, BoardFlag.kind == kind, BoardFlag.cleared_at.is_(None)
        )
    ):
        flag.cleared_at = at
        cleared += 1
    return cleared


def raised_priority(priority: str) -> str:
    """One step more urgent (routine → urgent → asap → stat)."""
    position = PRIORITY_ORDER.index(priority) if priority in PRIORITY_ORDER else 0
    return PRIORITY_ORDER[min(position + 1, len(PRIORITY_ORDER) - 1)]

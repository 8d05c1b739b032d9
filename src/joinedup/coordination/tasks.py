"""Tasks and queues: a team's queue or a person's, due times, priorities, escalation when overdue.

Completing the last task of a pathway step moves the pathway on (unless the step ends in a
decision, which waits for a person). ``escalate_overdue`` is the unattended sweep: an overdue task
goes up one priority and is marked escalated (again a day later, up to level 3), and an overdue
pathway step raises the board's ``overdue_step`` flag.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, or_, select
from sqlalchemy.orm import Session

from joinedup.coordination import _work
from joinedup.coordination.errors import StateConflict
from joinedup.coordination.schemas import TaskCreate, TaskPublic
from joinedup.errors import NotFound
from joinedup.governance import authorise, record_audit
from joinedup.model import Actor, system_actor
from joinedup.store.tables import utc_now
from joinedup.store.tables.coordination import PathwayInstance, Task

logger = logging.getLogger(__name__)

# A task escalated and still not done is escalated again after this long.
RE_ESCALATE_AFTER = timedelta(hours=24)
MAX_ESCALATION_LEVEL = 3


@dataclass(frozen=True)
class EscalationReport:
    """What one escalation sweep did."""

    tasks_escalated: int
    steps_flagged: int


def create_task(session: Session, *, actor: Actor, request: TaskCreate, at: datetime | None = None) -> TaskPublic:
    """Put a task on a queue by hand."""
    at = at or utc_now()
    authorise(session, actor=actor, person_id=request.person_id, resource_type="task", action="write")
    task = _work.raise_task(
        session,
        person_id=request.person_id,
        kind=request.kind,
        title=request.title,
        queue_team_id=request.queue_team_id,
        owner_user_id=request.owner_user_id,
        priority=request.priority,
        due_at=request.due_at,
        origin="manual",
        created_by=actor.user_id,
        at=at,
    )
    session.commit()
    return TaskPublic.model_validate(task)


def queue(
    session: Session,
    *,
    actor: Actor,
    team_id: str | None = None,
    owner_user_id: str | None = None,
    include_done: bool = False,
    limit: int = 500,
) -> list[TaskPublic]:
    """A queue: the tasks of a team (default: the actor's teams) or of one person, most pressing first.

    Order: escalation level, priority (stat, asap, urgent, routine), then due time.
    """
    query = select(Task)
    if owner_user_id is not None:
        query = query.where(Task.owner_user_id == owner_user_id)
    else:
        teams = (team_id,) if team_id else actor.team_ids
        query = query.where(Task.queue_team_id.in_(teams))
    if not include_done:
        query = query.where(Task.status.in_(_work.OPEN_TASK_STATUSES))
    priority_rank = case({"stat": 0, "asap": 1, "urgent": 2}, value=Task.priority, else_=3)
    query = query.order_by(Task.escalation_level.desc(), priority_rank, Task.due_at, Task.task_id).limit(limit)
    rows = [TaskPublic.model_validate(task) for task in session.scalars(query)]
    record_audit(
        session,
        actor=actor,
        action="read",
        resource_type="task",
        detail=f"task queue {team_id or owner_user_id or 'own teams'}: {len(rows)} tasks",
        basis="team_queue",
    )
    session.commit()
    return rows


def tasks_for_person(session: Session, *, actor: Actor, person_id: str, include_done: bool = True) -> list[TaskPublic]:
    """Every task for one person, newest first."""
    authorise(session, actor=actor, person_id=person_id, resource_type="task", action="read")
    query = select(Task).where(Task.person_id == person_id)
    if not include_done:
        query = query.where(Task.status.in_(_work.OPEN_TASK_STATUSES))
    rows = [TaskPublic.model_validate(task) for task in session.scalars(query.order_by(Task.task_id.desc()))]
    session.commit()
    return rows


def assign_task(
    session: Session, *, actor: Actor, task_id: int, owner_user_id: str | None, team_id: str | None = None
) -> TaskPublic:
    """Give a task to a person (or back to the queue with None), optionally moving it to another team."""
    task = _task(session, task_id)
    authorise(session, actor=actor, person_id=task.person_id, resource_type="task", action="write")
    _still_open(task)
    task.owner_user_id = owner_user_id
    if team_id:
        task.queue_team_id = team_id
    if owner_user_id and task.status == "requested":
        task.status = "in-progress"
    session.commit()
    return TaskPublic.model_validate(task)


def complete_task(
    session: Session, *, actor: Actor, task_id: int, outcome: str, at: datetime | None = None
) -> TaskPublic:
    """Mark a task done with its outcome; the pathway moves on when its step has nothing left to do."""
    at = at or utc_now()
    task = _task(session, task_id)
    authorise(session, actor=actor, person_id=task.person_id, resource_type="task", action="write")
    close_task(session, task=task, outcome=outcome, at=at, actor_id=actor.user_id)
    session.commit()
    return TaskPublic.model_validate(task)


def cancel_task(session: Session, *, actor: Actor, task_id: int, reason: str, at: datetime | None = None) -> TaskPublic:
    """Cancel a task that is no longer needed, with the reason."""
    at = at or utc_now()
    task = _task(session, task_id)
    authorise(session, actor=actor, person_id=task.person_id, resource_type="task", action="write")
    _still_open(task)
    task.status = "cancelled"
    task.outcome = reason
    task.completed_at = at
    task.completed_by = actor.user_id
    session.commit()
    return TaskPublic.model_validate(task)


def close_task(session: Session, *, task: Task, outcome: str, at: datetime, actor_id: str) -> None:
    """Complete a task and advance its pathway step if that was the last one (not committed)."""
    _still_open(task)
    task.status = "completed"
    task.outcome = outcome
    task.completed_at = at
    task.completed_by = actor_id
    session.flush()
    if task.pathway_instance_id is not None:
        _work.advance_when_step_done(
            session, pathway_instance_id=task.pathway_instance_id, step_id=task.step_id, at=at, actor_id=actor_id
        )


def escalate_overdue(session: Session, *, at: datetime | None = None) -> EscalationReport:
    """Escalate overdue tasks and flag overdue pathway steps (the unattended sweep; commits).

    A task past its due time goes up one priority and one escalation level; one already escalated
    goes up again when it is still open a day later, up to level 3.
    """
    at = at or utc_now()
    actor = system_actor("coordination-escalation")
    overdue = session.scalars(
        select(Task).where(
            Task.status.in_(_work.OPEN_TASK_STATUSES),
            Task.due_at < at,
            Task.escalation_level < MAX_ESCALATION_LEVEL,
            or_(Task.escalated_at.is_(None), Task.escalated_at <= at - RE_ESCALATE_AFTER),
        )
    ).all()
    for task in overdue:
        task.escalation_level += 1
        task.escalated_at = at
        task.priority = _work.raised_priority(task.priority)
    late_steps = session.execute(
        select(PathwayInstance.person_id, PathwayInstance.pathway_id, PathwayInstance.current_step_id).where(
            PathwayInstance.status == "active", PathwayInstance.current_step_due_at < at
        )
    ).all()
    for person_id, pathway_id, step_id in late_steps:
        _work.raise_flag(session, person_id=person_id, kind="overdue_step", detail=f"{pathway_id}: {step_id}", at=at)
    if overdue or late_steps:
        record_audit(
            session,
            actor=actor,
            action="write",
            resource_type="task",
            detail=f"escalated {len(overdue)} overdue tasks; flagged {len(late_steps)} overdue steps",
            basis="system",
        )
    session.commit()
    logger.info("escalation sweep: %d tasks escalated, %d steps overdue", len(overdue), len(late_steps))
    return EscalationReport(tasks_escalated=len(overdue), steps_flagged=len(late_steps))


def _task(session: Session, task_id: int) -> Task:
    task = session.get(Task, task_id)
    if task is None:
        raise NotFound(f"no task {task_id}")
    return task


def _still_open(task: Task) -> None:
    if task.status not in _work.OPEN_TASK_STATUSES:
        raise StateConflict(f"task {task.task_id} is already {task.status}")

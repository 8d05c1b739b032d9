"""Telehealth alerts: a reading beyond the person's thresholds raises a task for their team.

Thresholds come from the person's active care plan, or else from the pathways they are on (heart
failure: weight up more than 2 kg in 3 days; COPD: SpO2 below 88 %). A rise is measured against
the lowest reading of the same measure in the window before, from the shared record.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from joinedup.coordination import _work
from joinedup.coordination.errors import PathwayError
from joinedup.coordination.pathway_library import shipped_library
from joinedup.coordination.referrals import CENTRE_TEAM_ID
from joinedup.coordination.schemas import Threshold
from joinedup.store.tables import Observation, SourcePatient
from joinedup.store.tables.coordination import CarePlan, PathwayInstance, Task

logger = logging.getLogger(__name__)

ALERT_TASK_DUE = timedelta(hours=4)


@dataclass(frozen=True)
class Reading:
    """One telehealth reading for a linked person."""

    person_id: str
    code: str
    value: float
    unit: str | None
    measured_at: datetime
    reading_id: str | None = None


def thresholds_for(session: Session, person_id: str) -> list[Threshold]:
    """The person's thresholds: their active care plan's, else their active pathways' defaults."""
    plan_thresholds = session.scalar(
        select(CarePlan.thresholds)
        .where(CarePlan.person_id == person_id, CarePlan.status == "active")
        .order_by(CarePlan.care_plan_id.desc())
        .limit(1)
    )
    if plan_thresholds:
        return [Threshold.model_validate(item) for item in plan_thresholds]
    library = shipped_library()
    found: list[Threshold] = []
    for pathway_id, version in session.execute(
        select(PathwayInstance.pathway_id, PathwayInstance.pathway_version).where(
            PathwayInstance.person_id == person_id, PathwayInstance.status.in_(("active", "paused"))
        )
    ):
        try:
            pathway = library.get(pathway_id, version)
        except PathwayError:
            continue
        found.extend(Threshold.model_validate(t.model_dump()) for t in pathway.telehealth_thresholds)
    return found


def breached_thresholds(session: Session, reading: Reading) -> list[str]:
    """The labels of the person's thresholds this reading breaches (empty when all is well)."""
    breached: list[str] = []
    for threshold in thresholds_for(session, reading.person_id):
        if reading.code not in threshold.codes:
            continue
        above = threshold.kind == "above" and reading.value > threshold.amount
        below = threshold.kind == "below" and reading.value < threshold.amount
        if above or below:
            breached.append(threshold.label)
        elif threshold.kind == "rise_within_days":
            lowest = _lowest_before(session, reading, threshold)
            if lowest is not None and reading.value - lowest > threshold.amount:
                breached.append(threshold.label)
    return breached


def raise_alerts(session: Session, reading: Reading, *, actor_id: str, at: datetime) -> list[Task]:
    """Raise an alert task (and board flag) for each threshold breached, once while one is open."""
    raised: list[Task] = []
    for label in breached_thresholds(session, reading):
        title = f"Telehealth alert: {label}"
        open_already = session.scalar(
            select(Task.task_id).where(
                Task.person_id == reading.person_id,
                Task.origin == "telehealth_alert",
                Task.title == title,
                Task.status.in_(_work.OPEN_TASK_STATUSES),
            )
        )
        if open_already is not None:
            continue
        task = _work.raise_task(
            session,
            person_id=reading.person_id,
            kind="review_telehealth_alert",
            title=title,
            queue_team_id=CENTRE_TEAM_ID,
            due_at=at + ALERT_TASK_DUE,
            origin="telehealth_alert",
            created_by=actor_id,
            at=at,
            priority="urgent",
        )
        _work.raise_flag(session, person_id=reading.person_id, kind="alert", detail=label, at=at)
        raised.append(task)
        logger.info("telehealth alert raised for person %s (task %d)", reading.person_id, task.task_id)
    return raised


def _lowest_before(session: Session, reading: Reading, threshold: Threshold) -> float | None:
    since = reading.measured_at - timedelta(days=threshold.days or 1)
    lowest = session.scalar(
        select(func.min(Observation.value_num))
        .join(SourcePatient, SourcePatient.source_patient_id == Observation.source_patient_id)
        .where(
            SourcePatient.person_id == reading.person_id,
            Observation.code.in_(threshold.codes),
            Observation.effective_at >= since,
            Observation.effective_at < reading.measured_at,
            Observation.value_num.is_not(None),
        )
    )
    return float(lowest) if lowest is not None else None

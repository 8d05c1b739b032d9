"""One person as the centre sees them: pathways and their steps, tasks, bookings, care plan, where now.

The coordinator's patient page in one call; every part passes governance (one audit entry each).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup.coordination import _work, bookings, care_plans, pathway_instances, tasks
from joinedup.coordination.errors import PathwayError
from joinedup.coordination.pathway_library import shipped_library
from joinedup.coordination.schemas import (
    BookingPublic,
    CarePlanPublic,
    PathwayInstancePublic,
    ServicePublic,
    TaskPublic,
)
from joinedup.model import Actor
from joinedup.store.tables import SourcePatient, utc_now
from joinedup.store.tables.coordination import BoardFlag, PersonLocation


@dataclass(frozen=True)
class DecisionChoice:
    """An answer the coordinator can give at the current decision point."""

    answer: str
    label: str
    suggested: bool


@dataclass(frozen=True)
class PathwayView:
    """A pathway instance with its current step's title and, at a decision point, the choices."""

    instance: PathwayInstancePublic
    title: str
    step_title: str | None
    step_performed_by: str | None
    choices: tuple[DecisionChoice, ...]
    question: str | None


@dataclass(frozen=True)
class PatientOverview:
    """Everything the coordinator's patient page shows."""

    person_id: str
    given_name: str | None
    family_name: str | None
    nhs_number: str | None
    place: str
    ward: str | None
    place_since_at: datetime | None
    flags: tuple[str, ...]
    pathways: tuple[PathwayView, ...]
    open_tasks: tuple[TaskPublic, ...]
    bookings: tuple[BookingPublic, ...]
    care_plan: CarePlanPublic | None
    services: tuple[ServicePublic, ...]


def patient_overview(
    session: Session, *, actor: Actor, person_id: str, at: datetime | None = None
) -> PatientOverview:
    """The centre's view of one person (each part authorised and audited)."""
    at = at or utc_now()
    instances = pathway_instances.pathway_instances_for(session, actor=actor, person_id=person_id, at=at)
    person_tasks = tasks.tasks_for_person(session, actor=actor, person_id=person_id, include_done=False)
    person_bookings = bookings.bookings_for_person(session, actor=actor, person_id=person_id)
    plan = care_plans.active_care_plan(session, actor=actor, person_id=person_id)
    library = shipped_library()
    views = []
    for instance in instances:
        if instance.status not in ("active", "paused"):
            continue
        try:
            pathway = library.get(instance.pathway_id, instance.pathway_version)
            step = pathway.step(instance.current_step_id) if instance.current_step_id else None
        except PathwayError:
            # A pathway this library does not hold (retired, or from another system): shown as it is.
            views.append(PathwayView(instance, instance.pathway_id, instance.current_step_id, None, (), None))
            continue
        suggested = None
        if step is not None and step.decision is not None:
            suggested = pathway_instances.suggest_decision(
                session, actor=actor, pathway_instance_id=instance.pathway_instance_id
            )
        views.append(
            PathwayView(
                instance=instance,
                title=pathway.title,
                step_title=step.title if step else None,
                step_performed_by=step.performed_by if step else None,
                question=step.decision.question if step and step.decision else None,
                choices=tuple(
                    DecisionChoice(option.answer, option.label, option.answer == suggested)
                    for option in (step.decision.options if step and step.decision else ())
                ),
            )
        )
    patient = session.scalar(
        select(SourcePatient)
        .where(SourcePatient.person_id == person_id)
        .order_by(SourcePatient.nhs_number_status != "valid", SourcePatient.source_patient_id)
        .limit(1)
    )
    location = session.get(PersonLocation, person_id)
    flags = tuple(
        session.scalars(
            select(BoardFlag.kind).where(BoardFlag.person_id == person_id, BoardFlag.cleared_at.is_(None))
        )
    )
    kinds = {kind for task in person_tasks for kind in (task.bookable_service_kinds or "").split(",") if kind}
    services = tuple(service for service in bookings.list_services(session) if service.kind in kinds)
    session.commit()
    return PatientOverview(
        person_id=person_id,
        given_name=patient.given_name if patient else None,
        family_name=patient.family_name if patient else None,
        nhs_number=patient.nhs_number if patient else None,
        place=location.place if location else "home",
        ward=location.ward if location else None,
        place_since_at=location.since_at if location else None,
        flags=flags,
        pathways=tuple(views),
        open_tasks=tuple(task for task in person_tasks if task.status in _work.OPEN_TASK_STATUSES),
        bookings=tuple(person_bookings),
        care_plan=plan,
        services=services,
    )

"""Day plans as a service: plan, change, accept and publish a neighbourhood's home visits.

Every change is audited (plans name the people visited). A coordinator changes a visit by giving it
to another worker; the change is refused when that worker lacks a needed competency or the day
would overrun their minutes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from joinedup.errors import AccessDenied, Conflict, NotFound
from joinedup.governance import record_audit
from joinedup.model import Actor
from joinedup.store.tables import utc_now
from joinedup.store.tables.workforce import CareWorkerRow, PlannedVisitRow, VisitPlanRow
from joinedup.workforce.competencies import CareWorker, intervention_catalogue, staff_roster
from joinedup.workforce.travel import travel_minutes
from joinedup.workforce.visit_planning import VISIT_OVERHEAD_MINUTES, DueIntervention, plan_visits

PLANNERS = frozenset({"care_coordinator", "community_nurse", "system_administrator"})


@dataclass(frozen=True)
class WorkerDay:
    """What one worker sees on their phone: their published visits in order."""

    worker: CareWorker
    plan_date: date
    visits: tuple[PlannedVisitRow, ...]


def _require_planner(actor: Actor) -> None:
    if actor.role not in PLANNERS:
        raise AccessDenied("planning visits is for care coordinators and community team leads")


def seed_example_team(session: Session, *, neighbourhood: str, base_postcode: str) -> list[CareWorker]:
    """Put the example team (``data/example_staff.yml``) in post in a neighbourhood, once."""
    prefix = "".join(word[0] for word in neighbourhood.split()).upper()[:3]
    workers = []
    for worker in staff_roster().workers(base_postcode=base_postcode):
        worker_id = f"{prefix}-{worker.worker_id}"
        if session.get(CareWorkerRow, worker_id) is None:
            session.add(CareWorkerRow(
                worker_id=worker_id, name=f"{worker.name} ({neighbourhood})", role=worker.role,
                competencies=sorted(worker.competencies), neighbourhood=neighbourhood,
                base_postcode=base_postcode, minutes_per_day=worker.minutes_per_day,
            ))
        workers.append(worker.model_copy(update={"worker_id": worker_id}))
    session.flush()
    return workers


def _as_worker(row: CareWorkerRow) -> CareWorker:
    return CareWorker(worker_id=row.worker_id, name=row.name, role=row.role, competencies=frozenset(row.competencies),
                      minutes_per_day=row.minutes_per_day, base_postcode=row.base_postcode)


def neighbourhood_team(session: Session, neighbourhood: str) -> list[CareWorker]:
    """The workers in post in a neighbourhood."""
    rows = session.scalars(select(CareWorkerRow).where(CareWorkerRow.neighbourhood == neighbourhood)
                           .order_by(CareWorkerRow.worker_id))
    return [_as_worker(row) for row in rows]


def create_day_plan(
    session: Session, *, actor: Actor, neighbourhood: str, plan_date: date, due: Sequence[DueIntervention],
    base_postcode: str,
) -> VisitPlanRow:
    """Plan the day's visits for a neighbourhood team and keep the plan as a draft."""
    _require_planner(actor)
    team = neighbourhood_team(session, neighbourhood)
    if not team:
        raise NotFound(f"no care workers are in post in neighbourhood {neighbourhood!r}")
    result = plan_visits(due, team, base_postcode=base_postcode)
    plan = VisitPlanRow(
        neighbourhood=neighbourhood, plan_date=plan_date, status="draft", visits_before=result.visits_before,
        visits_after=result.visits_after, minutes_before=result.minutes_before, minutes_after=result.minutes_after,
        unassigned=list(result.unassigned), created_by=actor.user_id,
    )
    session.add(plan)
    session.flush()
    by_id = {item.due_id: item for item in due}
    for visit in result.visits:
        session.add(PlannedVisitRow(
            visit_plan_id=plan.visit_plan_id, worker_id=visit.worker_id, person_id=visit.person_id,
            postcode=by_id[visit.due_ids[0]].postcode,
            sequence=visit.sequence, start_minute=visit.start_minute, travel_minutes=visit.travel_minutes,
            minutes=visit.minutes,
            interventions=[{"due_id": d, "intervention_id": by_id[d].intervention.id} for d in visit.due_ids],
        ))
    record_audit(session, actor=actor, action="create", resource_type="visit_plan",
                 detail=f"visit_plan {plan.visit_plan_id}: {result.visits_after} visits", basis="workforce planning")
    session.flush()
    return plan


def plan_visits_of(session: Session, visit_plan_id: int) -> list[PlannedVisitRow]:
    """A plan's visits, worker by worker in route order."""
    return list(session.scalars(
        select(PlannedVisitRow).where(PlannedVisitRow.visit_plan_id == visit_plan_id)
        .order_by(PlannedVisitRow.worker_id, PlannedVisitRow.sequence)
    ))


def _plan(session: Session, visit_plan_id: int) -> VisitPlanRow:
    plan = session.get(VisitPlanRow, visit_plan_id)
    if plan is None:
        raise NotFound(f"no visit plan {visit_plan_id}")
    return plan


def move_visit(session: Session, *, actor: Actor, planned_visit_id: int, to_worker_id: str) -> PlannedVisitRow:
    """Give a visit to another worker of the team, if they can do it and it fits their day."""
    _require_planner(actor)
    visit = session.get(PlannedVisitRow, planned_visit_id)
    worker_row = session.get(CareWorkerRow, to_worker_id)
    if visit is None or worker_row is None:
        raise NotFound("no such visit or worker")
    plan = _plan(session, visit.visit_plan_id)
    if plan.status == "published":
        raise Conflict("the plan is published; create a new plan to change it")
    worker = _as_worker(worker_row)
    catalogue = intervention_catalogue().by_id()
    for item in visit.interventions:
        if not worker.can_deliver(catalogue[item["intervention_id"]]):
            raise Conflict(f"{worker.name} lacks a competency needed for {catalogue[item['intervention_id']].name}")
    others = [v for v in plan_visits_of(session, plan.visit_plan_id) if v.worker_id == to_worker_id]
    booked = sum(v.minutes + VISIT_OVERHEAD_MINUTES for v in [*others, visit])
    trips = sum(2 * travel_minutes(worker.base_postcode or "", v.postcode) for v in [*others, visit])
    if booked + trips > worker.minutes_per_day:
        raise Conflict(f"{worker.name}'s day would run to {booked + trips} of {worker.minutes_per_day} minutes")
    visit.worker_id = to_worker_id
    visit.sequence = len(others) + 1
    record_audit(session, actor=actor, action="write", resource_type="visit_plan", person_id=visit.person_id,
                 detail=f"planned_visit {visit.planned_visit_id} moved", basis="workforce planning")
    session.flush()
    return visit


def set_plan_status(session: Session, *, actor: Actor, visit_plan_id: int, status: str) -> VisitPlanRow:
    """Accept or publish a plan; publishing makes it visible to each worker."""
    _require_planner(actor)
    if status not in {"accepted", "published"}:
        raise Conflict(f"a plan cannot be set to {status!r}")
    plan = _plan(session, visit_plan_id)
    if plan.status == "published":
        raise Conflict("the plan is already published")
    plan.status = status
    if status == "published":
        plan.published_at = utc_now()
    record_audit(session, actor=actor, action="write", resource_type="visit_plan",
                 detail=f"visit_plan {visit_plan_id} {status}", basis="workforce planning")
    session.flush()
    return plan


def worker_day(session: Session, *, actor: Actor, worker_id: str, plan_date: date) -> WorkerDay:
    """A worker's published visits for a day; workers see only their own, planners anyone's."""
    row = session.get(CareWorkerRow, worker_id)
    if row is None:
        raise NotFound(f"no care worker {worker_id}")
    if actor.role not in PLANNERS and row.username != actor.username:
        raise AccessDenied("you can see only your own day's visits")
    visits = session.scalars(
        select(PlannedVisitRow).join(VisitPlanRow)
        .where(PlannedVisitRow.worker_id == worker_id, VisitPlanRow.plan_date == plan_date,
               VisitPlanRow.status == "published")
        .order_by(PlannedVisitRow.sequence)
    ).all()
    record_audit(session, actor=actor, action="read", resource_type="visit_plan",
                 detail=f"worker day {worker_id} {plan_date.isoformat()}: {len(visits)} visits", basis="own work")
    return WorkerDay(worker=_as_worker(row), plan_date=plan_date, visits=tuple(visits))


def discard_draft(session: Session, *, actor: Actor, visit_plan_id: int) -> None:
    """Throw away a draft plan."""
    _require_planner(actor)
    plan = _plan(session, visit_plan_id)
    if plan.status != "draft":
        raise Conflict("only a draft plan can be discarded")
    session.execute(delete(PlannedVisitRow).where(PlannedVisitRow.visit_plan_id == visit_plan_id))
    session.delete(plan)
    session.flush()

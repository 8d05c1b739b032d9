"""Workforce pages: demand and gaps by competency, day plans of home visits, a worker's day.

Routes parse, call one workforce service and render; the services decide who may plan and audit
every change. Visits show a postcode and link to the person's record, which governance guards.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from joinedup.errors import NotFound
from joinedup.store.tables import Organisation
from joinedup.store.tables.workforce import CareWorkerRow, VisitPlanRow
from joinedup.web.deps import CurrentUser, DbSession, Templates
from joinedup.workforce import (
    competency_gaps,
    competency_hours,
    demand_rates,
    forecast_interventions,
    intervention_catalogue,
    staff_roster,
)
from joinedup.workforce.day_plans import (
    create_day_plan,
    move_visit,
    neighbourhood_team,
    plan_visits_of,
    seed_example_team,
    set_plan_status,
    worker_day,
)
from joinedup.workforce.due_today import interventions_due, neighbourhood_residents, segment_counts

router = APIRouter(prefix="/workforce", tags=["workforce pages"], include_in_schema=False)

DEFAULT_BASE = "M33 7XX"


def _neighbourhoods(db: DbSession) -> list[str]:
    rows = db.scalars(select(Organisation.neighbourhood).where(Organisation.neighbourhood.is_not(None)).distinct())
    return sorted(name for name in rows if name)


@router.get("", response_class=HTMLResponse)
def overview(request: Request, db: DbSession, user: CurrentUser, templates: Templates,
             neighbourhood: str | None = None) -> Response:
    """Demand against the team in post, by competency, and the neighbourhood's day plans."""
    names = _neighbourhoods(db)
    chosen = neighbourhood or (names[0] if names else "")
    residents = neighbourhood_residents(db, chosen) if chosen else []
    team = neighbourhood_team(db, chosen) if chosen else []
    hours = competency_hours(forecast_interventions(segment_counts(residents, chosen), demand_rates()),
                             intervention_catalogue())
    gaps = competency_gaps(hours, {chosen: team or staff_roster().workers()})
    plans = db.scalars(select(VisitPlanRow).where(VisitPlanRow.neighbourhood == chosen)
                       .order_by(VisitPlanRow.plan_date.desc(), VisitPlanRow.visit_plan_id.desc()).limit(20)).all()
    return templates.TemplateResponse(request, "workforce/overview.html", {
        "neighbourhoods": names, "neighbourhood": chosen, "gaps": gaps, "plans": plans, "team": team,
        "residents": len(residents), "today": date.today().isoformat(),
    })


@router.post("/plans")
def new_plan(db: DbSession, user: CurrentUser, neighbourhood: Annotated[str, Form(max_length=80)],
             plan_date: Annotated[date, Form()]) -> Response:
    """Plan a day for a neighbourhood team and show the draft."""
    if not neighbourhood_team(db, neighbourhood):
        seed_example_team(db, neighbourhood=neighbourhood, base_postcode=DEFAULT_BASE)
    due = interventions_due(neighbourhood_residents(db, neighbourhood), demand_rates(), plan_date)
    plan = create_day_plan(db, actor=user, neighbourhood=neighbourhood, plan_date=plan_date, due=due,
                           base_postcode=DEFAULT_BASE)
    return RedirectResponse(f"/workforce/plans/{plan.visit_plan_id}", status_code=303)


@router.get("/plans/{visit_plan_id}", response_class=HTMLResponse)
def show_plan(request: Request, visit_plan_id: int, db: DbSession, user: CurrentUser, templates: Templates,
              problem: str | None = None) -> Response:
    """A day plan: visits before and after, each worker's route, and what could not be fitted."""
    plan = db.get(VisitPlanRow, visit_plan_id)
    if plan is None:
        raise NotFound(f"no visit plan {visit_plan_id}")
    team = {worker.worker_id: worker for worker in neighbourhood_team(db, plan.neighbourhood)}
    catalogue = intervention_catalogue().by_id()
    return templates.TemplateResponse(request, "workforce/plan.html", {
        "plan": plan, "visits": plan_visits_of(db, visit_plan_id), "team": team, "catalogue": catalogue,
        "problem": problem,
    })


@router.post("/visits/{planned_visit_id}/move")
def move(db: DbSession, user: CurrentUser, planned_visit_id: int,
         to_worker_id: Annotated[str, Form(max_length=24)], visit_plan_id: Annotated[int, Form()]) -> Response:
    """Give a visit to another worker (refused when they lack a competency or the time)."""
    move_visit(db, actor=user, planned_visit_id=planned_visit_id, to_worker_id=to_worker_id)
    return RedirectResponse(f"/workforce/plans/{visit_plan_id}", status_code=303)


@router.post("/plans/{visit_plan_id}/status")
def change_status(db: DbSession, user: CurrentUser, visit_plan_id: int,
                  status: Annotated[str, Form(max_length=12)]) -> Response:
    """Accept or publish a plan."""
    set_plan_status(db, actor=user, visit_plan_id=visit_plan_id, status=status)
    return RedirectResponse(f"/workforce/plans/{visit_plan_id}", status_code=303)


@router.get("/my-day", response_class=HTMLResponse)
def my_day(request: Request, db: DbSession, user: CurrentUser, templates: Templates,
           day: date | None = None) -> Response:
    """The signed-in worker's published visits for a day, for a phone."""
    worker = db.scalar(select(CareWorkerRow).where(CareWorkerRow.username == user.username))
    if worker is None:
        raise NotFound("you are not on a neighbourhood team's rota")
    plan_day = day or date.today()
    schedule = worker_day(db, actor=user, worker_id=worker.worker_id, plan_date=plan_day)
    return templates.TemplateResponse(request, "workforce/my_day.html", {
        "day": schedule, "catalogue": intervention_catalogue().by_id(),
    })

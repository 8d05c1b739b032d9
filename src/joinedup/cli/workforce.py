"""``joinedup workforce``: demand and gaps by competency, and a day's visit plan."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

import typer
from rich.table import Table

from joinedup.cli._context import friendly_errors, open_home, out
from joinedup.governance.users import load_actor_by_username
from joinedup.workforce import (
    CareWorker,
    Scenario,
    competency_gaps,
    competency_hours,
    demand_rates,
    forecast_interventions,
    intervention_catalogue,
    staff_roster,
)
from joinedup.workforce.day_plans import create_day_plan, neighbourhood_team, seed_example_team
from joinedup.workforce.due_today import interventions_due, neighbourhood_residents, segment_counts

SCENARIOS = {
    "ageing": Scenario("ageing population: 20 % more people in the frailty segments",
                       segment_multipliers={"severe_frailty": 1.2, "moderate_frailty": 1.2}),
    "navigator": Scenario("a new care-navigator role", extra_staff=(
        CareWorker(worker_id="NAV", name="Care navigator", role="care_navigator", minutes_per_day=450,
                   competencies=frozenset({"care_navigation"})),)),
    "falls-pathway": Scenario("a falls pathway: a strength-and-balance visit a week for moderate frailty",
                              extra_rates={"moderate_frailty": {"mobility_exercises": 1.0}}),
}


def register(app: typer.Typer) -> None:
    """Add the ``workforce`` command group."""
    workforce = typer.Typer(help="Plan the integrated workforce from patients' needs, and plan home visits.")
    app.add_typer(workforce, name="workforce")

    @workforce.command("demand")
    @friendly_errors
    def demand(
        neighbourhood: Annotated[str, typer.Option(help="Neighbourhood to forecast.")],
        scenario: Annotated[str | None, typer.Option(help=f"What-if: {', '.join(SCENARIOS)}.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Hours needed per competency per week against the team in post, and the gaps."""
        home = open_home(quiet=as_json)
        chosen = SCENARIOS.get(scenario) if scenario else None
        if scenario and chosen is None:
            raise typer.BadParameter(f"unknown scenario {scenario!r}; choose from {', '.join(SCENARIOS)}")
        with home.sessions() as session:
            counts = segment_counts(neighbourhood_residents(session, neighbourhood), neighbourhood)
            team = neighbourhood_team(session, neighbourhood) or staff_roster().workers()
        hours = competency_hours(forecast_interventions(counts, demand_rates(), chosen), intervention_catalogue())
        gaps = competency_gaps(hours, {neighbourhood: team}, chosen)
        rows = [{"competency": g.competency, "demand_hours": g.demand_hours, "supply_hours": g.supply_hours,
                 "gap_hours": g.gap_hours} for g in gaps]
        if as_json:
            out.print_json(json.dumps({"neighbourhood": neighbourhood, "scenario": scenario, "gaps": rows}))
            return
        table = Table(title=f"{neighbourhood}: hours a week by competency" + (f" — {chosen.name}" if chosen else ""))
        for column in ("competency", "demand", "supply", "gap"):
            table.add_column(column)
        for gap in gaps:
            table.add_row(gap.competency, f"{gap.demand_hours:.1f}", f"{gap.supply_hours:.1f}", f"{gap.gap_hours:+.1f}")
        out.print(table)

    @workforce.command("plan")
    @friendly_errors
    def plan(
        neighbourhood: Annotated[str, typer.Option(help="Neighbourhood whose team is planned.")],
        as_user: Annotated[str, typer.Option("--as", help="Your joinedup username (a coordinator).")],
        day: Annotated[str, typer.Option("--date", help="Day to plan, YYYY-MM-DD.")] = date.today().isoformat(),
        base_postcode: Annotated[str, typer.Option(help="The team's base.")] = "M33 7XX",
    ) -> None:
        """Plan a day of home visits for a neighbourhood team, as a draft to accept and publish."""
        home = open_home()
        plan_date = date.fromisoformat(day)
        with home.sessions() as session:
            actor = load_actor_by_username(session, as_user)
            if not neighbourhood_team(session, neighbourhood):
                seed_example_team(session, neighbourhood=neighbourhood, base_postcode=base_postcode)
            due = interventions_due(neighbourhood_residents(session, neighbourhood), demand_rates(), plan_date)
            result = create_day_plan(session, actor=actor, neighbourhood=neighbourhood, plan_date=plan_date,
                                     due=due, base_postcode=base_postcode)
            session.commit()
        out.print(f"plan {result.visit_plan_id} for {neighbourhood} on {plan_date}: {len(due)} interventions due; "
                  f"visits needed {result.visits_before} before, {result.visits_after} after; "
                  f"{(result.minutes_before - result.minutes_after) / 60:.1f} hours saved; "
                  f"{len(result.unassigned)} could not be fitted")

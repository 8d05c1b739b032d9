"""Workforce and visits: plan the integrated workforce from patients' needs (demand by competency
against staff in post, with what-if scenarios) and plan home visits so one visit does the work of
several. May import coordination, risk, warehouse and below; nothing but web and cli import it."""

from joinedup.workforce.competencies import (
    CareWorker,
    Intervention,
    InterventionCatalogue,
    intervention_catalogue,
    staff_roster,
)
from joinedup.workforce.demand import (
    CompetencyGap,
    Scenario,
    SegmentCount,
    competency_gaps,
    competency_hours,
    demand_rates,
    forecast_interventions,
)
from joinedup.workforce.travel import travel_minutes
from joinedup.workforce.visit_planning import DueIntervention, PlannedVisit, VisitPlan, plan_visits

__all__ = [
    "CareWorker",
    "CompetencyGap",
    "DueIntervention",
    "Intervention",
    "InterventionCatalogue",
    "PlannedVisit",
    "Scenario",
    "SegmentCount",
    "VisitPlan",
    "competency_gaps",
    "competency_hours",
    "demand_rates",
    "forecast_interventions",
    "intervention_catalogue",
    "plan_visits",
    "staff_roster",
    "travel_minutes",
]

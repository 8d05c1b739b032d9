"""Demand forecast and competency gaps on a population small enough to compute by hand."""

from __future__ import annotations

import pytest

from joinedup.workforce import (
    CareWorker,
    Scenario,
    SegmentCount,
    competency_gaps,
    competency_hours,
    forecast_interventions,
    intervention_catalogue,
)

RATES = {
    "severe_frailty": {"vital_signs_check": 0.5, "falls_risk_assessment": 0.1},
    "leg_ulcer": {"wound_care": 2.0},
}
SEGMENTS = [
    SegmentCount("North", "severe_frailty", 40),
    SegmentCount("North", "leg_ulcer", 10),
    SegmentCount("South", "severe_frailty", 20),
]


def test_interventions_per_week_are_people_times_rate() -> None:
    demand = forecast_interventions(SEGMENTS, RATES)
    assert demand == {
        ("North", "falls_risk_assessment"): 4.0,
        ("North", "vital_signs_check"): 20.0,
        ("North", "wound_care"): 20.0,
        ("South", "falls_risk_assessment"): 2.0,
        ("South", "vital_signs_check"): 10.0,
    }


def test_hours_per_competency_use_each_interventions_minutes() -> None:
    hours = competency_hours(forecast_interventions(SEGMENTS, RATES), intervention_catalogue())
    # North: 20 vital-sign checks × 15 min = 5 h; 20 wound care × 30 min = 10 h; 4 falls × 40 min = 2.67 h.
    assert hours[("North", "clinical_observations")] == 5.0
    assert hours[("North", "wound_care")] == 10.0
    assert hours[("North", "falls_assessment")] == pytest.approx(2.67)
    assert hours[("South", "clinical_observations")] == 2.5


def test_gaps_compare_with_staff_in_post_and_scenarios_change_them() -> None:
    nurse = CareWorker(worker_id="N", name="Nurse", role="district_nurse", minutes_per_day=120,
                       competencies=frozenset({"wound_care", "clinical_observations"}))
    demand = competency_hours(forecast_interventions(SEGMENTS, RATES), intervention_catalogue())
    gaps = {(g.neighbourhood, g.competency): g for g in competency_gaps(demand, {"North": [nurse], "South": []})}
    # The nurse gives 120 min × 5 days = 10 h a week to each competency she holds.
    assert gaps[("North", "wound_care")].gap_hours == 0.0
    assert gaps[("North", "clinical_observations")].gap_hours == -5.0
    assert gaps[("North", "falls_assessment")].gap_hours == pytest.approx(2.67)
    ageing = Scenario("ageing population", segment_multipliers={"severe_frailty": 1.5})
    aged = competency_hours(forecast_interventions(SEGMENTS, RATES, ageing), intervention_catalogue())
    assert aged[("North", "clinical_observations")] == 7.5

"""Demand: from the population's segments, the interventions and competency hours needed per week.

Method (stated on the page and in docs/workforce.md): interventions per week in a neighbourhood =
Σ over segments of people in the segment × the segment's weekly rate (``data/demand_rates.yml``).
An intervention's minutes count towards every competency it needs, because whoever delivers it
must hold them all. Supply of a competency = the weekly minutes of staff who hold it; a worker
with several competencies counts towards each, so supply is an upper bound and the total
(all demand against all staff time) is shown beside it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from joinedup.workforce.competencies import DATA, CareWorker, InterventionCatalogue

WORKING_DAYS_PER_WEEK = 5


@dataclass(frozen=True)
class SegmentCount:
    """How many people of a neighbourhood are in a population segment."""

    neighbourhood: str
    segment: str
    people: int


@dataclass(frozen=True)
class Scenario:
    """A what-if: more people in some segments, extra interventions, extra staff."""

    name: str
    segment_multipliers: Mapping[str, float] = field(default_factory=dict)
    extra_rates: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    extra_staff: tuple[CareWorker, ...] = ()


@dataclass(frozen=True)
class CompetencyGap:
    """Demand against supply of one competency in one neighbourhood, in hours per week."""

    neighbourhood: str
    competency: str
    demand_hours: float
    supply_hours: float

    @property
    def gap_hours(self) -> float:
        """Positive when demand exceeds supply (a shortfall)."""
        return round(self.demand_hours - self.supply_hours, 2)


def demand_rates(path: Path = DATA / "demand_rates.yml") -> dict[str, dict[str, float]]:
    """Weekly intervention rates per person, by segment."""
    data = yaml.safe_load(path.read_text())
    return {segment: dict(spec["rates"]) for segment, spec in data["segments"].items()}


def forecast_interventions(
    segments: Iterable[SegmentCount],
    rates: Mapping[str, Mapping[str, float]],
    scenario: Scenario | None = None,
) -> dict[tuple[str, str], float]:
    """Interventions needed per week, keyed by (neighbourhood, intervention id)."""
    demand: dict[tuple[str, str], float] = defaultdict(float)
    for count in segments:
        people = count.people * (scenario.segment_multipliers.get(count.segment, 1.0) if scenario else 1.0)
        segment_rates = dict(rates.get(count.segment, {}))
        if scenario:
            for intervention, rate in scenario.extra_rates.get(count.segment, {}).items():
                segment_rates[intervention] = segment_rates.get(intervention, 0.0) + rate
        for intervention, rate in segment_rates.items():
            demand[(count.neighbourhood, intervention)] += people * rate
    return {key: round(value, 4) for key, value in sorted(demand.items())}


def competency_hours(
    interventions: Mapping[tuple[str, str], float], catalogue: InterventionCatalogue
) -> dict[tuple[str, str], float]:
    """Hours per week needed of each competency, keyed by (neighbourhood, competency)."""
    by_id = catalogue.by_id()
    hours: dict[tuple[str, str], float] = defaultdict(float)
    for (neighbourhood, intervention_id), per_week in interventions.items():
        intervention = by_id[intervention_id]
        for competency in intervention.competencies:
            hours[(neighbourhood, competency)] += per_week * intervention.minutes / 60
    return {key: round(value, 2) for key, value in sorted(hours.items())}


def competency_gaps(
    demand_hours: Mapping[tuple[str, str], float],
    staff_by_neighbourhood: Mapping[str, Iterable[CareWorker]],
    scenario: Scenario | None = None,
) -> list[CompetencyGap]:
    """Compare demand with the workforce in post, per neighbourhood and competency."""
    supply: dict[tuple[str, str], float] = defaultdict(float)
    for neighbourhood, workers in staff_by_neighbourhood.items():
        team = [*workers, *(scenario.extra_staff if scenario else ())]
        for worker in team:
            for competency in worker.competencies:
                supply[(neighbourhood, competency)] += worker.minutes_per_day * WORKING_DAYS_PER_WEEK / 60
    keys = sorted(set(demand_hours) | {key for key in supply if key[0] in {n for n, _ in demand_hours}})
    return [
        CompetencyGap(neighbourhood, competency, demand_hours.get((neighbourhood, competency), 0.0),
                      round(supply.get((neighbourhood, competency), 0.0), 2))
        for neighbourhood, competency in keys
    ]

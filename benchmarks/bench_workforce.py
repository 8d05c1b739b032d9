"""Benchmark: plan a neighbourhood's day — 300 due interventions, 25 staff (target < 30 s on 2 cores).

Run: .venv/bin/python benchmarks/bench_workforce.py [--interventions 300] [--staff 25]
Prints one JSON line: seconds, visits before/after, hours saved, interventions left unassigned.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from datetime import date

from joinedup.workforce import CareWorker, DueIntervention, demand_rates, plan_visits, staff_roster
from joinedup.workforce.due_today import ResidentSegments, interventions_due

# A neighbourhood around its team's base: the districts next to M33.
DISTRICTS = ("M33", "WA15", "M32")
SEGMENT_MIX = (("severe_frailty",), ("moderate_frailty",), ("moderate_frailty", "leg_ulcer"), ("end_of_life",),
               ("moderate_frailty", "multimorbidity_3plus"))


def synthetic_day(interventions: int, staff: int, seed: int = 7) -> tuple[list[DueIntervention], list[CareWorker]]:
    """About ``interventions`` due today, drawn from the demand rates for a neighbourhood's residents."""
    rng = random.Random(seed)
    rates = demand_rates()
    due: list[DueIntervention] = []
    residents: list[ResidentSegments] = []
    day = date(2026, 11, 26)
    while len(due) < interventions:
        n = len(residents)
        postcode = f"{rng.choice(DISTRICTS)} {rng.randint(1, 9)}{rng.choice('ABDEFG')}{rng.choice('HJLNPQ')}"
        residents.append(ResidentSegments(f"p{n}", postcode, frozenset(rng.choice(SEGMENT_MIX))))
        due = interventions_due(residents, rates, day)
    roster = staff_roster().workers(base_postcode="M33 7XX")
    team = [roster[n % len(roster)].model_copy(update={"worker_id": f"W{n:02d}"}) for n in range(staff)]
    return due[:interventions], team


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interventions", type=int, default=300)
    parser.add_argument("--staff", type=int, default=25)
    args = parser.parse_args()
    due, team = synthetic_day(args.interventions, args.staff)
    started = time.perf_counter()
    plan = plan_visits(due, team, base_postcode="M33 7XX", time_limit_s=15.0)
    seconds = time.perf_counter() - started
    print(json.dumps({
        "benchmark": "workforce_visit_planning", "interventions": args.interventions, "staff": args.staff,
        "seconds": round(seconds, 2), "target_seconds": 30, "met": seconds < 30,
        "visits_before": plan.visits_before, "visits_after": plan.visits_after, "hours_saved": plan.hours_saved,
        "unassigned": len(plan.unassigned),
    }))


if __name__ == "__main__":
    main()

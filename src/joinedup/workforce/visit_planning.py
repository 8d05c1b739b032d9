"""Plan a day's home visits so that one visit does the work of several.

Each person's due interventions are given to workers who hold every competency each one needs;
the solver (OR-Tools CP-SAT) minimises the number of visits, then travel, and never books a worker
beyond their minutes. A worker's time is bounded by a round trip from base for every visit, which
is never less than the chained route (triangle inequality); the time real routes leave free is then
filled with what the bound left out, checked against each worker's actual route, so no day overruns.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from ortools.sat.python import cp_model

from joinedup.workforce.competencies import CareWorker, Intervention
from joinedup.workforce.travel import travel_minutes

# What a visit costs beyond the interventions themselves: arriving, greeting, recording.
VISIT_OVERHEAD_MINUTES = 10
UNASSIGNED_PENALTY = 100_000
VISIT_WEIGHT = 1_000


@dataclass(frozen=True)
class DueIntervention:
    """An intervention a person is due today, where they live."""

    due_id: str
    person_id: str
    postcode: str
    intervention: Intervention


@dataclass(frozen=True)
class PlannedVisit:
    """One worker at one person's home, doing one or more interventions, in route order."""

    worker_id: str
    person_id: str
    sequence: int
    start_minute: int
    travel_minutes: int
    due_ids: tuple[str, ...]
    minutes: int


@dataclass(frozen=True)
class VisitPlan:
    """A day's plan, with what it saves against visiting profession by profession."""

    visits: tuple[PlannedVisit, ...]
    unassigned: tuple[str, ...]
    visits_before: int
    minutes_before: int
    minutes_after: int

    @property
    def visits_after(self) -> int:
        return len(self.visits)

    @property
    def hours_saved(self) -> float:
        return round((self.minutes_before - self.minutes_after) / 60, 2)


def _visits_profession_by_profession(due: Sequence[DueIntervention], base: str) -> tuple[int, int]:
    """Visits and minutes if each profession visited separately: one visit per person per profession."""
    groups: dict[tuple[str, str], list[DueIntervention]] = defaultdict(list)
    for item in due:
        groups[(item.person_id, item.intervention.traditional_profession)].append(item)
    minutes = 0
    for items in groups.values():
        minutes += 2 * travel_minutes(base, items[0].postcode) + VISIT_OVERHEAD_MINUTES
        minutes += sum(item.intervention.minutes for item in items)
    return len(groups), minutes


def plan_visits(
    due: Sequence[DueIntervention], workers: Sequence[CareWorker], *, base_postcode: str, time_limit_s: float = 20.0
) -> VisitPlan:
    """Combine each person's due interventions into as few visits as the team's skills allow."""
    model = cp_model.CpModel()
    people = {item.person_id: item.postcode for item in due}
    round_trip = {person: 2 * travel_minutes(base_postcode, postcode) for person, postcode in people.items()}
    assign: dict[tuple[str, str], cp_model.IntVar] = {}
    visit: dict[tuple[str, str], cp_model.IntVar] = {}
    unassigned: dict[str, cp_model.IntVar] = {}
    for item in due:
        options = []
        for worker in workers:
            if worker.can_deliver(item.intervention):
                key = (item.due_id, worker.worker_id)
                assign[key] = model.new_bool_var(f"a_{item.due_id}_{worker.worker_id}")
                visit_key = (item.person_id, worker.worker_id)
                if visit_key not in visit:
                    visit[visit_key] = model.new_bool_var(f"v_{item.person_id}_{worker.worker_id}")
                model.add_implication(assign[key], visit[visit_key])
                options.append(assign[key])
        unassigned[item.due_id] = model.new_bool_var(f"u_{item.due_id}")
        model.add(sum(options) + unassigned[item.due_id] == 1)
    for worker in workers:
        work = [
            assign[(item.due_id, worker.worker_id)] * item.intervention.minutes
            for item in due
            if (item.due_id, worker.worker_id) in assign
        ]
        trips = [
            var * (round_trip[person] + VISIT_OVERHEAD_MINUTES)
            for (person, worker_id), var in visit.items()
            if worker_id == worker.worker_id
        ]
        model.add(sum(work) + sum(trips) <= worker.minutes_per_day)
    model.minimize(
        UNASSIGNED_PENALTY * sum(unassigned.values())
        + sum(var * (VISIT_WEIGHT + round_trip[person]) for (person, _), var in visit.items())
    )
    _hint_greedy_plan(model, due, workers, round_trip, assign, visit, unassigned)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit_s
    solver.parameters.num_workers = 2
    solver.parameters.random_seed = 1
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        raise RuntimeError(f"the visit planner found no plan (solver status {solver.status_name(status)})")
    chosen = {key for key, var in assign.items() if solver.value(var)}
    bound_left_out = [item for item in due if solver.value(unassigned[item.due_id])]
    routes = _nearest_neighbour_routes(due, workers, chosen, base_postcode)
    left_over = _insert_into_slack(routes, bound_left_out, workers, base_postcode)
    visits = _timed_visits(routes, base_postcode)
    before, minutes_before = _visits_profession_by_profession(due, base_postcode)
    minutes_after = sum(_route_minutes(route, base_postcode) for route in routes.values())
    return VisitPlan(
        visits=tuple(visits),
        unassigned=tuple(sorted(item.due_id for item in left_over)),
        visits_before=before,
        minutes_before=minutes_before,
        minutes_after=minutes_after,
    )


# A route: the worker's stops in order, each a person's home and what is done there.
Route = list[tuple[str, str, list[DueIntervention]]]


def _route_minutes(route: Route, base: str) -> int:
    """Driving, arriving and caring minutes of a whole route, back to base."""
    minutes, here = 0, base
    for _, postcode, items in route:
        minutes += travel_minutes(here, postcode) + VISIT_OVERHEAD_MINUTES + sum(i.intervention.minutes for i in items)
        here = postcode
    return minutes + (travel_minutes(here, base) if route else 0)


def _nearest_neighbour_routes(
    due: Sequence[DueIntervention], workers: Sequence[CareWorker], chosen: set[tuple[str, str]], base: str
) -> dict[str, Route]:
    """Order each worker's visits by nearest neighbour from base."""
    by_id = {item.due_id: item for item in due}
    routes: dict[str, Route] = {}
    for worker in workers:
        stops: dict[str, list[DueIntervention]] = defaultdict(list)
        for due_id, worker_id in sorted(chosen):
            if worker_id == worker.worker_id:
                stops[by_id[due_id].person_id].append(by_id[due_id])
        route: Route = []
        here = base
        while stops:
            person = min(stops, key=lambda p: (travel_minutes(here, stops[p][0].postcode), p))
            items = stops.pop(person)
            route.append((person, items[0].postcode, items))
            here = items[0].postcode
        routes[worker.worker_id] = route
    return routes


def _insert_into_slack(
    routes: dict[str, Route], left_over: list[DueIntervention], workers: Sequence[CareWorker], base: str
) -> list[DueIntervention]:
    """Fit what the round-trip bound left out into the time real routes leave free.

    Each item goes where it adds least time without the worker's route running over their day;
    what still does not fit is returned.
    """
    still_left = []
    for item in sorted(left_over, key=lambda i: (travel_minutes(base, i.postcode), i.due_id)):
        best: tuple[int, str, Route] | None = None
        for worker in workers:
            if not worker.can_deliver(item.intervention):
                continue
            route = routes[worker.worker_id]
            current = _route_minutes(route, base)
            for candidate in _candidate_routes(route, item):
                added = _route_minutes(candidate, base) - current
                if current + added <= worker.minutes_per_day and (best is None or added < best[0]):
                    best = (added, worker.worker_id, candidate)
        if best is None:
            still_left.append(item)
        else:
            routes[best[1]] = best[2]
    return still_left


def _candidate_routes(route: Route, item: DueIntervention) -> list[Route]:
    """The route with ``item`` added: to a visit already there, or as a new stop at each position."""
    for index, (person, postcode, items) in enumerate(route):
        if person == item.person_id:
            return [[*route[:index], (person, postcode, [*items, item]), *route[index + 1 :]]]
    stop = (item.person_id, item.postcode, [item])
    return [[*route[:index], stop, *route[index:]] for index in range(len(route) + 1)]


def _timed_visits(routes: dict[str, Route], base: str) -> list[PlannedVisit]:
    """Number and time each route's visits from the start of the day."""
    planned = []
    for worker_id, route in routes.items():
        here, clock = base, 0
        for sequence, (person, postcode, items) in enumerate(route, start=1):
            leg = travel_minutes(here, postcode)
            minutes = sum(item.intervention.minutes for item in items)
            planned.append(PlannedVisit(worker_id, person, sequence, clock + leg, leg,
                                        tuple(item.due_id for item in items), minutes))
            clock += leg + VISIT_OVERHEAD_MINUTES + minutes
            here = postcode
    return planned


def _hint_greedy_plan(
    model: cp_model.CpModel,
    due: Sequence[DueIntervention],
    workers: Sequence[CareWorker],
    round_trip: dict[str, int],
    assign: dict[tuple[str, str], cp_model.IntVar],
    visit: dict[tuple[str, str], cp_model.IntVar],
    unassigned: dict[str, cp_model.IntVar],
) -> None:
    """Start the solver from a quick greedy plan: each person, nearest first, gets the worker who
    can do the most of their interventions and still has the time, then the next for the rest."""
    left = {worker.worker_id: worker.minutes_per_day for worker in workers}
    chosen: set[tuple[str, str]] = set()
    by_person: dict[str, list[DueIntervention]] = defaultdict(list)
    for item in due:
        by_person[item.person_id].append(item)
    for person in sorted(by_person, key=lambda p: (round_trip[p], p)):
        pending = list(by_person[person])
        while pending:
            best: tuple[int, str, list[DueIntervention]] | None = None
            for worker in workers:
                doable = [item for item in pending if worker.can_deliver(item.intervention)]
                cost = round_trip[person] + VISIT_OVERHEAD_MINUTES + sum(i.intervention.minutes for i in doable)
                if doable and cost <= left[worker.worker_id] and (best is None or len(doable) > len(best[2])):
                    best = (cost, worker.worker_id, doable)
            if best is None:
                break
            cost, worker_id, doable = best
            left[worker_id] -= cost
            chosen.update((item.due_id, worker_id) for item in doable)
            pending = [item for item in pending if item not in doable]
    assigned = {due_id for due_id, _ in chosen}
    for key, var in assign.items():
        model.add_hint(var, key in chosen)
    visited = {(next(i.person_id for i in due if i.due_id == d), w) for d, w in chosen}
    for key, var in visit.items():
        model.add_hint(var, key in visited)
    for due_id, var in unassigned.items():
        model.add_hint(var, due_id not in assigned)

"""Visit planning on cases small enough to check by hand."""

from __future__ import annotations

from joinedup.workforce import CareWorker, DueIntervention, intervention_catalogue, plan_visits, travel_minutes

BASE = "M33 7XX"
CATALOGUE = intervention_catalogue().by_id()
NURSE = CareWorker(worker_id="N", name="Nurse", role="district_nurse", minutes_per_day=450,
                   competencies=frozenset({"wound_care", "clinical_observations"}))
OT = CareWorker(worker_id="O", name="OT", role="occupational_therapist", minutes_per_day=450,
                competencies=frozenset({"home_environment_assessment"}))
BOTH = CareWorker(worker_id="B", name="Integrated", role="integrated_care_worker", minutes_per_day=450,
                  competencies=frozenset({"wound_care", "clinical_observations", "home_environment_assessment"}))


def due(person: str, intervention: str, postcode: str = "M33 4AB") -> DueIntervention:
    return DueIntervention(f"{person}-{intervention}", person, postcode, CATALOGUE[intervention])


def test_a_worker_with_both_competencies_makes_one_visit_instead_of_two() -> None:
    needs = [due("p1", "wound_care"), due("p1", "home_safety_check")]
    plan = plan_visits(needs, [NURSE, OT, BOTH], base_postcode=BASE)
    assert plan.visits_before == 2
    assert plan.visits_after == 1
    assert plan.visits[0].worker_id == "B"
    assert set(plan.visits[0].due_ids) == {"p1-wound_care", "p1-home_safety_check"}
    assert plan.unassigned == ()
    assert plan.hours_saved > 0


def test_without_a_multi_skilled_worker_it_takes_two_visits() -> None:
    needs = [due("p1", "wound_care"), due("p1", "home_safety_check")]
    plan = plan_visits(needs, [NURSE, OT], base_postcode=BASE)
    assert plan.visits_after == 2
    assert {(visit.worker_id, visit.due_ids) for visit in plan.visits} == {
        ("N", ("p1-wound_care",)),
        ("O", ("p1-home_safety_check",)),
    }


def test_hours_are_never_exceeded_and_what_does_not_fit_is_reported() -> None:
    short_day = CareWorker(worker_id="S", name="Short day", role="district_nurse", minutes_per_day=90,
                           competencies=frozenset({"wound_care"}))
    needs = [due(f"p{n}", "wound_care", postcode=f"M33 {n}AB") for n in range(4)]
    plan = plan_visits(needs, [short_day], base_postcode=BASE)
    # Each visit costs 30 min of care + 10 min overhead + a round trip; 90 minutes fit at most two.
    assert 1 <= plan.visits_after <= 2
    assert len(plan.unassigned) == 4 - plan.visits_after
    booked = sum(v.minutes + v.travel_minutes + 10 for v in plan.visits)
    last = plan.visits[-1]
    assert booked + travel_minutes(f"M33 {last.person_id[1:]}AB", BASE) <= 90


def test_the_route_starts_at_base_and_visits_are_timed_in_order() -> None:
    needs = [due("p1", "wound_care", "M33 1AA"), due("p2", "wound_care", "WA15 9ZZ")]
    plan = plan_visits(needs, [NURSE], base_postcode=BASE)
    first, second = plan.visits
    assert first.sequence == 1
    assert second.sequence == 2
    assert first.start_minute == first.travel_minutes == travel_minutes(BASE, "M33 1AA")
    assert second.start_minute == first.start_minute + 10 + 30 + second.travel_minutes


def test_a_busy_day_never_overruns_a_route_and_accounts_for_every_intervention() -> None:
    import random

    rng = random.Random(3)
    kinds = ["wound_care", "vital_signs_check", "home_safety_check", "medication_support", "mobility_exercises"]
    needs = [due(f"p{rng.randrange(25)}", kind) for kind in kinds for _ in range(8)]
    needs = list({item.due_id: item for item in needs}.values())
    homes = {item.person_id: f"{rng.choice(['M33', 'WA15', 'M41'])} {rng.randint(1, 9)}AB" for item in needs}
    needs = [DueIntervention(i.due_id, i.person_id, homes[i.person_id], i.intervention) for i in needs]
    team = [NURSE, OT, BOTH]
    plan = plan_visits(needs, team, base_postcode=BASE, time_limit_s=5)
    planned = [due_id for visit in plan.visits for due_id in visit.due_ids]
    assert sorted(planned + list(plan.unassigned)) == sorted(item.due_id for item in needs)
    by_id = {item.due_id: item for item in needs}
    for worker in team:
        route = [visit for visit in plan.visits if visit.worker_id == worker.worker_id]
        for visit in route:
            assert all(worker.can_deliver(by_id[due_id].intervention) for due_id in visit.due_ids)
        if route:
            last = route[-1]
            day_ends = last.start_minute + 10 + last.minutes + travel_minutes(homes[last.person_id], BASE)
            assert day_ends <= worker.minutes_per_day

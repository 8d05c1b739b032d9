"""End to end: ADT news for a pathway patient, telehealth thresholds, and overdue escalation."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup.coordination import pathway_instances, process_outbox, referrals, tasks
from joinedup.coordination.board import board
from joinedup.coordination.schemas import BoardFilters, ReferralCreate, TriageDecision
from joinedup.model import Actor
from joinedup.store.tables import Condition, Person, utc_now
from joinedup.store.tables.coordination import CaseloadEntry
from joinedup.store.tables.risk import RiskScore

from .conftest import PersonFactory, add_encounter, add_observation, add_outbox_event, source_patient_id


def _on_pathway(session: Session, coordinator: Actor, person: str, pathway_id: str, at: datetime) -> int:
    referral = referrals.receive_referral(
        session, actor=coordinator,
        request=ReferralCreate(person_id=person, reason="referred by GP", suggested_pathway_id=pathway_id), at=at,
    )
    accepted = referrals.triage_referral(
        session, actor=coordinator, referral_id=referral.referral_id,
        decision=TriageDecision(outcome="accept", reason="meets criteria", coordinator_user_id="u-coord-1"), at=at,
    )
    assert accepted.pathway_instance_id is not None
    return accepted.pathway_instance_id


def _open_tasks(session: Session, coordinator: Actor, person: str) -> list[tuple[str, str, datetime]]:
    return sorted(
        (t.origin, t.kind, t.due_at)
        for t in tasks.tasks_for_person(session, actor=coordinator, person_id=person, include_done=False)
    )


def test_admission_and_discharge_of_a_pathway_patient(
    session: Session, coordinator: Actor, add_person: PersonFactory
) -> None:
    start = utc_now().replace(microsecond=0) - timedelta(days=5)
    person = add_person(family_name="Pathwayperson")
    bystander = add_person(family_name="Notours", birth_date=date(1990, 1, 1))
    hf = _on_pathway(session, coordinator, person, "heart-failure", start)
    triage_due = start + timedelta(days=1)
    tasks.complete_task(
        session, actor=coordinator,
        task_id=_task_id(session, coordinator, person, "phone_patient"), outcome="called", at=start,
    )
    admitted_at = start + timedelta(hours=6)
    # For LACE at discharge: an emergency stay, heart failure + diabetes coded (Charlson 2), 2 A&E visits.
    add_encounter(session, person, setting="inpatient", admission_method="emergency", status="in-progress",
                  start_at=admitted_at, source_record_id="SP1001")
    for n, days_before in enumerate((20, 150)):
        add_encounter(session, person, setting="ae", start_at=admitted_at - timedelta(days=days_before),
                      source_record_id=f"AE-{n}")
    sp = source_patient_id(session, person)
    for code in ("I500", "E119"):
        session.add(Condition(source="gp", source_record_id=f"c-{code}", source_patient_id=sp, code=code,
                              code_system="icd10"))
    add_outbox_event(session, "adt.admit", person, admitted_at, ward="Ward 7 (cardiology)", visit_id="SP1001",
                     org_code="RM3")
    add_outbox_event(session, "adt.admit", bystander, admitted_at, ward="Ward 2", visit_id="SP1002")
    session.commit()

    assert process_outbox(session) == 2
    assert process_outbox(session) == 0

    rows = board(session, actor=coordinator)
    assert [(r.person_id, r.place, r.ward, r.place_since_at, r.flags, r.pathway_id) for r in rows] == [
        (person, "admitted", "Ward 7 (cardiology)", admitted_at, ("admitted",), "heart-failure"),
    ]
    assert rows[0].next_action == "Contact the ward: introduce the centre, share the care plan and pathway"
    assert _open_tasks(session, coordinator, person) == [
        ("discharge_planning", "contact_ward", admitted_at + timedelta(hours=24)),
        ("discharge_planning", "expected_discharge_date", admitted_at + timedelta(hours=48)),
        ("discharge_planning", "needs_at_home", admitted_at + timedelta(hours=72)),
    ]
    state = pathway_instances.get_pathway_instance(session, actor=coordinator, pathway_instance_id=hf)
    assert state.status == "paused"

    discharged_at = admitted_at + timedelta(days=3)
    add_outbox_event(session, "adt.discharge", person, discharged_at, visit_id="SP1001", discharge_destination="home")
    session.commit()
    assert process_outbox(session) == 1

    row = board(session, actor=coordinator, at=discharged_at + timedelta(hours=1))[0]
    assert (row.place, row.ward, row.place_since_at, row.flags) == ("home", None, discharged_at, ())
    # LACE: L 3 days → 3, A emergency → 3, C Charlson 2 → 2, E 2 visits → 2 = 10.
    assert row.lace_score == 10
    assert _open_tasks(session, coordinator, person) == [
        ("pathway_step", "book_gp_review", discharged_at + timedelta(hours=120)),
        ("pathway_step", "phone_patient", discharged_at + timedelta(hours=48)),
    ]
    by_pathway = {
        i.pathway_id: i for i in pathway_instances.pathway_instances_for(session, actor=coordinator, person_id=person)
    }
    assert by_pathway["post-discharge"].current_step_id == "first-days-home"
    # The heart failure pathway resumes; its step's due date moves on by the 3 days in hospital.
    assert (by_pathway["heart-failure"].status, by_pathway["heart-failure"].current_step_due_at) == (
        "active", triage_due + timedelta(days=3),
    )


def test_high_risk_admission_joins_the_caseload_and_a_cancelled_admission_is_undone(
    session: Session, coordinator: Actor, add_person: PersonFactory
) -> None:
    person = add_person(family_name="Highrisk")
    for days_ago, band in ((40, "moderate"), (2, "high")):
        session.add(RiskScore(
            person_id=person, model_version="ea-1", as_of_date=date(2026, 1, 1),
            scored_at=utc_now() - timedelta(days=days_ago),
            score=0.3, population_rank=10, band=band, efi_count=3, efi_category="mild", charlson_index=2, reasons=[],
        ))
    admitted_at = utc_now().replace(microsecond=0) - timedelta(hours=2)
    add_outbox_event(session, "adt.admit", person, admitted_at, ward="AMU", visit_id="SP2001")
    session.commit()
    process_outbox(session)

    entry = session.scalar(select(CaseloadEntry).where(CaseloadEntry.person_id == person))
    assert entry is not None
    assert entry.reason == "high_risk_admission"
    row = board(session, actor=coordinator)[0]
    assert (row.place, row.risk_band, row.flags) == ("admitted", "high", ("admitted", "new_high_risk"))

    add_outbox_event(session, "adt.cancel", person, admitted_at + timedelta(hours=1), event="A11",
                     visit_id="SP2001")
    session.commit()
    process_outbox(session)
    row = board(session, actor=coordinator)[0]
    assert (row.place, row.flags) == ("home", ("new_high_risk",))
    assert _open_tasks(session, coordinator, person) == []


def test_weight_gain_over_2kg_in_3_days_raises_one_task(
    session: Session, coordinator: Actor, add_person: PersonFactory
) -> None:
    now = utc_now().replace(microsecond=0)
    gaining, steady = add_person(family_name="Gaining"), add_person(family_name="Steady")
    for person in (gaining, steady):
        _on_pathway(session, coordinator, person, "heart-failure", now - timedelta(days=10))
    add_observation(session, gaining, "29463-7", 80.0, "kg", now - timedelta(days=4), "w-g-0")  # outside 3 days
    add_observation(session, gaining, "29463-7", 80.4, "kg", now - timedelta(days=2), "w-g-1")
    add_observation(session, steady, "29463-7", 80.4, "kg", now - timedelta(days=2), "w-s-1")
    add_outbox_event(session, "telehealth.reading", gaining, now, code="29463-7", value=82.5, unit="kg",
                     measured_at=now.isoformat())  # +2.1 kg on 80.4
    add_outbox_event(session, "telehealth.reading", steady, now, code="29463-7", value=82.3, unit="kg",
                     measured_at=now.isoformat())  # +1.9 kg: within threshold
    add_outbox_event(session, "telehealth.reading", gaining, now + timedelta(hours=1), code="29463-7", value=82.7,
                     unit="kg", measured_at=(now + timedelta(hours=1)).isoformat())  # still high: no second task
    session.commit()
    process_outbox(session, at=now)

    alerts = [t for t in tasks.queue(session, actor=coordinator) if t.origin == "telehealth_alert"]
    assert [(t.person_id, t.title, t.priority, t.due_at) for t in alerts] == [
        (gaining, "Telehealth alert: Weight gain of more than 2 kg in 3 days", "urgent", now + timedelta(hours=4)),
    ]
    flagged = board(session, actor=coordinator, filters=BoardFilters(flag="alert"))
    assert [r.person_id for r in flagged] == [gaining]


def test_overdue_tasks_escalate_and_overdue_steps_are_flagged(
    session: Session, coordinator: Actor, add_person: PersonFactory
) -> None:
    start = utc_now().replace(microsecond=0)
    person = add_person()
    _on_pathway(session, coordinator, person, "frailty-falls", start)
    # falls-risk-assessment: task due in 120 h, step due in 21 days.
    assert tasks.escalate_overdue(session, at=start + timedelta(hours=119)) == tasks.EscalationReport(0, 0)
    assert tasks.escalate_overdue(session, at=start + timedelta(hours=121)) == tasks.EscalationReport(1, 0)
    assert tasks.escalate_overdue(session, at=start + timedelta(hours=140)) == tasks.EscalationReport(0, 0)
    assert tasks.escalate_overdue(session, at=start + timedelta(hours=146)) == tasks.EscalationReport(1, 0)
    [task] = tasks.queue(session, actor=coordinator)
    assert (task.escalation_level, task.priority) == (2, "asap")

    late = start + timedelta(days=22)
    report = tasks.escalate_overdue(session, at=late)
    assert report == tasks.EscalationReport(1, 1)
    [row] = board(session, actor=coordinator, filters=BoardFilters(flag="overdue_step"), at=late)
    assert (row.person_id, row.pathway_id, row.step_id) == (person, "frailty-falls", "falls-risk-assessment")
    [instance] = pathway_instances.pathway_instances_for(session, actor=coordinator, person_id=person)
    pathway_instances.finish_step(
        session, actor=coordinator, pathway_instance_id=instance.pathway_instance_id,
        step_id="falls-risk-assessment", outcome="assessed at home", at=late,
    )
    assert board(session, actor=coordinator, filters=BoardFilters(flag="overdue_step"), at=late) == []


def _task_id(session: Session, coordinator: Actor, person: str, kind: str) -> int:
    return next(
        t.task_id for t in tasks.tasks_for_person(session, actor=coordinator, person_id=person, include_done=False)
        if t.kind == kind
    )


def test_a_person_merge_moves_the_centres_work_to_the_survivor(
    session: Session, coordinator: Actor, add_person: PersonFactory
) -> None:
    now = utc_now().replace(microsecond=0)
    survivor, duplicate = add_person(family_name="Kept"), add_person(family_name="Duplicate")
    _on_pathway(session, coordinator, survivor, "copd", now - timedelta(days=3))
    _on_pathway(session, coordinator, duplicate, "heart-failure", now - timedelta(days=2))
    add_outbox_event(session, "adt.admit", duplicate, now - timedelta(hours=1), ward="AMU")
    session.commit()
    process_outbox(session)
    assert len(board(session, actor=coordinator)) == 2

    gone = session.get(Person, duplicate)
    assert gone is not None
    gone.status, gone.merged_into_person_id = "merged", survivor
    add_outbox_event(session, "adt.merge", survivor, now, event="A40")
    session.commit()
    process_outbox(session)

    [row] = board(session, actor=coordinator)
    assert (row.person_id, row.place, row.ward, row.flags) == (survivor, "admitted", "AMU", ("admitted",))
    kinds = {(t.origin, t.kind) for t in tasks.tasks_for_person(session, actor=coordinator, person_id=survivor)}
    assert {("pathway_step", "book_gp_review"), ("pathway_step", "phone_patient"),
            ("discharge_planning", "contact_ward")} <= kinds
    pathways = {i.pathway_id for i in pathway_instances.pathway_instances_for(
        session, actor=coordinator, person_id=survivor)}
    assert pathways == {"copd", "heart-failure"}
    assert session.scalar(select(CaseloadEntry.caseload_entry_id).where(CaseloadEntry.person_id == duplicate)) is None

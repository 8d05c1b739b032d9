"""End to end: a GP's phone referral → triage onto a pathway → tasks → bookings → the step is done."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup.coordination import bookings, pathway_instances, referrals, tasks
from joinedup.coordination.errors import CapacityFull, CoordinationInputError, PathwayError
from joinedup.coordination.schemas import ReferralCreate, ServiceCreate, TriageDecision
from joinedup.errors import AccessDenied
from joinedup.model import Actor
from joinedup.store.tables import utc_now
from joinedup.store.tables.governance import AuditEntry

from .conftest import PersonFactory, add_observation


def _services(session: Session, coordinator: Actor) -> None:
    directory = (("hf-clinic", "clinic", 1), ("echo-lab", "diagnostics", 4), ("ptc", "transport", 9))
    for service_id, kind, capacity in directory:
        bookings.add_service(
            session,
            actor=coordinator,
            request=ServiceCreate(service_id=service_id, name=service_id, kind=kind, capacity_per_day=capacity),
        )


def test_phone_referral_to_booked_step(
    session: Session, coordinator: Actor, add_person: PersonFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="joinedup")
    person = add_person(nhs_number="9434765919", family_name="Identifiable")
    _services(session, coordinator)
    start = utc_now().replace(microsecond=0)

    found = referrals.find_patients(session, actor=coordinator, nhs_number="943 476 5919")
    assert [match.person_id for match in found] == [person]

    referral = referrals.receive_referral(
        session,
        actor=coordinator,
        request=ReferralCreate(
            person_id=person, reason="Breathless, ankle swelling", urgency="urgent",
            suggested_pathway_id="heart-failure", referrer_org_code="P81001",
        ),
        at=start,
    )
    assert referral.status == "received"

    accepted = referrals.triage_referral(
        session, actor=coordinator, referral_id=referral.referral_id,
        decision=TriageDecision(outcome="accept", reason="meets NG106 criteria"), at=start,
    )
    assert accepted.status == "accepted"
    instance_id = accepted.pathway_instance_id
    assert instance_id is not None

    queue = tasks.queue(session, actor=coordinator)
    assert [(t.kind, t.priority, t.due_at) for t in queue] == [("phone_patient", "urgent", start + timedelta(hours=24))]

    # The first step ends in a decision: doing its task does not move the pathway by itself.
    tasks.complete_task(session, actor=coordinator, task_id=queue[0].task_id, outcome="spoke to patient", at=start)
    state = pathway_instances.get_pathway_instance(session, actor=coordinator, pathway_instance_id=instance_id)
    assert state.current_step_id == "triage"

    add_observation(session, person, "33762-6", 2400.0, "ng/L", start - timedelta(days=2), "ntprobnp-1")
    suggested = pathway_instances.suggest_decision(session, actor=coordinator, pathway_instance_id=instance_id)
    assert suggested == "above_2000"
    with pytest.raises(PathwayError, match="needs a decision"):
        pathway_instances.finish_step(
            session, actor=coordinator, pathway_instance_id=instance_id, step_id="triage", at=start
        )
    state = pathway_instances.finish_step(
        session, actor=coordinator, pathway_instance_id=instance_id, step_id="triage", decision=suggested,
        at=start + timedelta(hours=2),
    )
    assert state.current_step_id == "specialist-assessment-2-weeks"
    assert state.current_step_due_at == start + timedelta(hours=2, days=14)

    open_tasks = {t.kind: t for t in tasks.queue(session, actor=coordinator)}
    assert set(open_tasks) == {"book_outpatient", "arrange_transport"}
    clinic_day = (start + timedelta(days=7)).replace(hour=9, minute=30)

    with pytest.raises(CoordinationInputError, match="cannot be booked with a transport service"):
        bookings.book(session, actor=coordinator, task_id=open_tasks["book_outpatient"].task_id,
                      service_id="ptc", booked_for_at=clinic_day)
    clinic = bookings.book(
        session, actor=coordinator, task_id=open_tasks["book_outpatient"].task_id, service_id="hf-clinic",
        booked_for_at=clinic_day, at=start + timedelta(hours=3),
    )
    assert clinic.status == "confirmed"

    moved = bookings.move_booking(
        session, actor=coordinator, booking_id=clinic.booking_id, booked_for_at=clinic_day + timedelta(days=1)
    )
    assert (moved.move_count, moved.booked_for_at) == (1, clinic_day + timedelta(days=1))

    bookings.book(
        session, actor=coordinator, task_id=open_tasks["arrange_transport"].task_id, service_id="ptc",
        booked_for_at=clinic_day + timedelta(days=1, hours=-1), at=start + timedelta(hours=4),
    )
    # Both tasks booked: the step is done and the pathway moved on by itself.
    state = pathway_instances.get_pathway_instance(session, actor=coordinator, pathway_instance_id=instance_id)
    assert state.current_step_id == "specialist-nurse-review"
    assert [(s.step_id, s.status, s.decision) for s in state.steps] == [
        ("triage", "completed", "above_2000"),
        ("specialist-assessment-2-weeks", "completed", None),
        ("specialist-nurse-review", "in_progress", None),
    ]
    assert {t.kind for t in tasks.queue(session, actor=coordinator)} == {"book_community", "agree_care_plan"}
    # Logs name people by opaque id only (STYLE §7).
    assert caplog.records, "the services log their steps"
    assert "9434765919" not in caplog.text
    assert "Identifiable" not in caplog.text


def test_capacity_is_per_day_and_cancelling_reopens_the_task(
    session: Session, coordinator: Actor, add_person: PersonFactory
) -> None:
    _services(session, coordinator)
    first, second = add_person(), add_person()
    day = datetime(2027, 3, 3, 10, 0, tzinfo=UTC)
    booked: dict[str, int] = {}
    for person in (first, second):
        referral = referrals.receive_referral(
            session, actor=coordinator,
            request=ReferralCreate(person_id=person, reason="HF confirmed", suggested_pathway_id="heart-failure"),
        )
        referrals.triage_referral(
            session, actor=coordinator, referral_id=referral.referral_id,
            decision=TriageDecision(outcome="accept", reason="meets criteria"),
        )
        instance = pathway_instances.pathway_instances_for(session, actor=coordinator, person_id=person)[0]
        pathway_instances.finish_step(
            session, actor=coordinator, pathway_instance_id=instance.pathway_instance_id, step_id="triage",
            decision="above_2000",
        )
        booked[person] = next(
            t.task_id for t in tasks.tasks_for_person(session, actor=coordinator, person_id=person)
            if t.kind == "book_outpatient"
        )
    booking = bookings.book(
        session, actor=coordinator, task_id=booked[first], service_id="hf-clinic", booked_for_at=day
    )
    with pytest.raises(CapacityFull, match="hf-clinic is full on 2027-03-03"):
        bookings.book(session, actor=coordinator, task_id=booked[second], service_id="hf-clinic", booked_for_at=day)
    free = bookings.services_with_capacity(session, kinds=("clinic",), on=day.date())
    assert free == []

    bookings.cancel_booking(session, actor=coordinator, booking_id=booking.booking_id, reason="patient unwell")
    reopened = next(t for t in tasks.tasks_for_person(session, actor=coordinator, person_id=first)
                    if t.task_id == booked[first])
    assert reopened.status == "requested"
    second_booking = bookings.book(
        session, actor=coordinator, task_id=booked[second], service_id="hf-clinic", booked_for_at=day
    )
    assert second_booking.status == "confirmed"


def test_fhir_service_request_is_taken_once(session: Session, coordinator: Actor, add_person: PersonFactory) -> None:
    person = add_person(nhs_number="9434765870")
    resource = {
        "resourceType": "ServiceRequest",
        "id": "sr-123",
        "status": "active",
        "intent": "order",
        "priority": "urgent",
        "category": [{"coding": [{"system": "https://joinedup.example/pathway", "code": "copd"}]}],
        "subject": {"identifier": {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765870"}},
        "requester": {
            "identifier": {"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "P81002"},
            "display": "Dr Example",
        },
        "reasonCode": [{"text": "Two exacerbations this winter"}],
        "note": [{"text": "Lives with daughter"}],
    }
    first = referrals.receive_service_request(session, actor=coordinator, resource=resource)
    again = referrals.receive_service_request(session, actor=coordinator, resource=resource)
    assert first.referral_id == again.referral_id
    assert (first.person_id, first.channel, first.urgency, first.suggested_pathway_id, first.external_id) == (
        person, "fhir", "urgent", "copd", "sr-123",
    )
    assert first.reason == "Two exacerbations this winter"

    broken = {**resource, "id": "sr-124", "subject": {"identifier": {"value": 9434765870}}, "authoredOn": "soon"}
    with pytest.raises(CoordinationInputError, match="authoredOn") as caught:
        referrals.receive_service_request(session, actor=coordinator, resource=broken)
    assert "9434765870" not in str(caught.value)


def test_declining_ends_the_centres_access(session: Session, coordinator: Actor, add_person: PersonFactory) -> None:
    person = add_person()
    referral = referrals.receive_referral(
        session, actor=coordinator, request=ReferralCreate(person_id=person, reason="Wants help with shopping")
    )
    declined = referrals.triage_referral(
        session, actor=coordinator, referral_id=referral.referral_id,
        decision=TriageDecision(outcome="decline", reason="no clinical need; signposted to Age UK"),
    )
    assert (declined.status, declined.triage_reason) == ("declined", "no clinical need; signposted to Age UK")
    with pytest.raises(AccessDenied, match="no care relationship"):
        referrals.triage_referral(
            session, actor=coordinator, referral_id=referral.referral_id,
            decision=TriageDecision(outcome="accept", reason="changed mind", pathway_id="copd"),
        )
    with pytest.raises(AccessDenied):
        pathway_instances.pathway_instances_for(session, actor=coordinator, person_id=person)
    refused = session.execute(
        select(AuditEntry.user_id, AuditEntry.action, AuditEntry.resource_type, AuditEntry.outcome).where(
            AuditEntry.person_id == person, AuditEntry.outcome != "allowed"
        )
    ).all()
    assert [tuple(row) for row in refused] == [
        ("u-coord-1", "write", "referral", "denied"),
        ("u-coord-1", "read", "care_plan", "denied"),
    ]

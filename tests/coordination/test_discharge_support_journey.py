"""End to end (issue 10): a frail person living alone attends A&E → worklist → passport → home →
settle-in → calls on day 1 and 2 (one unreachable → retry) → Home from Hospital → closed; a
volunteer is refused the person's diagnoses."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup.coordination import (
    discharge_support,
    experience,
    follow_up,
    home_from_hospital,
    passports,
    process_outbox,
    tasks,
)
from joinedup.coordination.errors import CoordinationInputError
from joinedup.errors import AccessDenied
from joinedup.governance import authorise, ensure_team, grant_relationship
from joinedup.model import Actor
from joinedup.store.tables import utc_now
from joinedup.store.tables.governance import AuditEntry
from joinedup.store.tables.risk import RiskScore

from .conftest import PersonFactory, add_encounter, add_observation, add_outbox_event


def _risk(session: Session, person_id: str, efi_category: str) -> None:
    session.add(RiskScore(
        person_id=person_id, model_version="ea-1", as_of_date=date(2026, 11, 1),
        scored_at=utc_now() - timedelta(days=3),
        score=0.1, population_rank=100, band="moderate", efi_count=9, efi_category=efi_category, charlson_index=1,
        reasons=[],
    ))


def test_frail_person_living_alone_is_helped_home(
    session: Session, discharge_lead: Actor, volunteer: Actor, add_person: PersonFactory
) -> None:
    now = utc_now().replace(microsecond=0)
    frail = add_person(family_name="Frail", birth_date=date(1938, 2, 3))
    young = add_person(family_name="Young", birth_date=date(1976, 2, 3))
    with_package = add_person(family_name="Packaged", birth_date=date(1935, 6, 1))
    add_observation(session, frail, "105529008", 1, "", now - timedelta(days=200), "lives-alone-1")
    _risk(session, frail, "moderate")
    _risk(session, with_package, "severe")
    add_encounter(session, with_package, setting="social_care", status="in-progress",
                  start_at=now - timedelta(days=90), source_record_id="pkg-1")
    arrived = now - timedelta(hours=5)
    for person, visit in ((frail, "AE1"), (young, "AE2"), (with_package, "AE3")):
        add_outbox_event(session, "adt.attend", person, arrived, visit_id=visit, ward="ED majors")
    session.commit()
    assert process_outbox(session) == 3

    [suggested] = discharge_support.worklist(session, actor=discharge_lead)
    assert (suggested.person_id, suggested.route, suggested.status, suggested.setting) == (
        frail, "worklist", "suggested", "ae",
    )
    assert suggested.reasons == ("age_80_plus", "frailty_moderate", "lives_alone", "no_package_of_care")

    # Before the team takes the person on, a volunteer has no relationship with them.
    with pytest.raises(AccessDenied):
        passports.read_passport(session, actor=volunteer, person_id=frail)
    case = discharge_support.confirm_case(
        session, actor=discharge_lead, discharge_support_id=suggested.discharge_support_id
    )
    case_id = case.discharge_support_id
    assert case.status == "confirmed"

    with pytest.raises(CoordinationInputError, match="not agreed"):
        passports.write_passport(session, actor=volunteer, person_id=frail,
                                 update=passports.PassportUpdate(pets="Cat called Mabel"))
    passports.write_passport(
        session, actor=volunteer, person_id=frail,
        update=passports.PassportUpdate(
            consent_given=True, what_happened="Fell in the kitchen; no fracture on X-ray",
            how_to_address_me="Margaret", who_matters="Daughter Jean (lives in Leeds)",
            key_safe="Yes, code held by Jean",
            pets="Cat called Mabel", worries="Managing the stairs",
        ),
    )
    patient = Actor(user_id="u-pat-1", username="margaret", role="patient", person_id=frail)
    passports.write_passport(session, actor=patient, person_id=frail,
                             update=passports.PassportUpdate(food_and_drink="Tea, milk no sugar"))
    ensure_team(session, team_id="community-nursing-south", name="Community nursing", kind="care_team")
    grant_relationship(session, person_id=frail, team_id="community-nursing-south", kind="care_team")
    nurse = Actor(user_id="u-cn-1", username="nurse", role="community_nurse", team_ids=("community-nursing-south",))
    seen = passports.read_passport(session, actor=nurse, person_id=frail)
    assert seen is not None
    assert (seen.how_to_address_me, seen.pets, seen.food_and_drink, seen.updated_by) == (
        "Margaret", "Cat called Mabel", "Tea, milk no sugar", "u-pat-1",
    )

    # The volunteer sees contact fields only, and is refused the diagnoses (with an audit row).
    summary = discharge_support.case_summary(session, actor=volunteer, discharge_support_id=case_id)
    assert set(summary.contact) == {"given_name", "family_name", "phone", "address_line", "postcode"}
    assert summary.contact["family_name"] == "Frail"
    with pytest.raises(AccessDenied):
        authorise(session, actor=volunteer, person_id=frail, resource_type="condition", action="read")
    refused = session.execute(
        select(AuditEntry.resource_type, AuditEntry.outcome).where(
            AuditEntry.person_id == frail, AuditEntry.user_id == volunteer.user_id, AuditEntry.outcome != "allowed"
        )
    ).all()
    assert [tuple(r) for r in refused] == [("passport", "denied"), ("condition", "denied")]

    decision_at = datetime(2026, 11, 20, 11, 0, tzinfo=UTC)
    home_at = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)
    discharge_support.record_home(
        session, actor=volunteer, discharge_support_id=case_id, decision_at=decision_at, home_at=home_at
    )
    raised = follow_up.record_settle_in(
        session, actor=volunteer, discharge_support_id=case_id, at=home_at + timedelta(minutes=30),
        answers=[
            follow_up.ChecklistAnswer(item="home_warm_and_safe", met=True),
            follow_up.ChecklistAnswer(item="food_in", met=True),
            follow_up.ChecklistAnswer(item="medicines_in_hand", met=False, note="Pharmacy still preparing"),
            follow_up.ChecklistAnswer(item="key_contacts", met=True),
        ],
    )
    assert len(raised) == 1
    pharmacy = tasks.queue(session, actor=discharge_lead, team_id="community-pharmacy")
    assert [(t.task_id, t.title, t.due_at, t.priority) for t in pharmacy] == [
        (raised[0], "Not met at home: Medicines in hand and understood", home_at + timedelta(hours=6, minutes=30),
         "urgent"),
    ]

    calls = follow_up.calls_for_case(session, actor=volunteer, discharge_support_id=case_id)
    assert [(c.day_number, c.attempt, c.due_at) for c in calls] == [
        (1, 1, datetime(2026, 11, 21, 10, 0, tzinfo=UTC)),
        (2, 1, datetime(2026, 11, 22, 10, 0, tzinfo=UTC)),
    ]
    follow_up.record_call(session, actor=volunteer, follow_up_call_id=calls[0].follow_up_call_id,
                          outcome="unreachable", at=calls[0].due_at + timedelta(minutes=5))
    retry = [c for c in follow_up.calls_for_case(session, actor=volunteer, discharge_support_id=case_id)
             if c.outcome is None and c.day_number == 1]
    assert [(c.attempt, c.due_at) for c in retry] == [(2, calls[0].due_at + timedelta(hours=3, minutes=5))]
    follow_up.record_call(session, actor=volunteer, follow_up_call_id=retry[0].follow_up_call_id, outcome="fine",
                          notes="Daughter visited", at=retry[0].due_at)
    needs = follow_up.record_call(
        session, actor=volunteer, follow_up_call_id=calls[1].follow_up_call_id, outcome="needs_help",
        notes="Struggling with the stairs", at=calls[1].due_at + timedelta(hours=1),
    )
    assert needs.task_id is not None

    with pytest.raises(CoordinationInputError, match="six weeks"):
        home_from_hospital.refer_to_home_from_hospital(
            session, actor=volunteer, discharge_support_id=case_id, start_date=date(2026, 11, 23),
            end_date=date(2027, 1, 5), goals=["Confidence on stairs"], planned_contacts=[],
        )
    support = home_from_hospital.refer_to_home_from_hospital(
        session, actor=volunteer, discharge_support_id=case_id, start_date=date(2026, 11, 23),
        end_date=date(2027, 1, 4), goals=["Confidence on stairs", "Shopping weekly"],
        planned_contacts=[home_from_hospital.PlannedContact(on=date(2026, 11, 25), kind="visit", purpose="shopping")],
    )
    closed = home_from_hospital.close_home_from_hospital(
        session, actor=volunteer, home_from_hospital_id=support.home_from_hospital_id,
        outcome="Managing independently; joined a lunch club",
    )
    assert (closed.status, closed.end_date - closed.start_date) == ("completed", timedelta(weeks=6))

    experience.record_survey(session, actor=volunteer, answer=experience.SurveyAnswer(
        person_id=frail, service="discharge_support", milestone="discharge_home", channel="phone", fft_answer=1,
        comment="The volunteer made me a cup of tea and fed Mabel",
    ))
    finished = discharge_support.close_case(
        session, actor=discharge_lead, discharge_support_id=case_id, outcome="home, settled, HfH completed"
    )
    assert finished.status == "closed"
    # Case closed: the service's relationship has ended, so the volunteer can no longer read the passport.
    with pytest.raises(AccessDenied):
        passports.read_passport(session, actor=volunteer, person_id=frail)


def test_experience_results_by_service_and_month(
    session: Session, volunteer: Actor, discharge_lead: Actor, add_person: PersonFactory
) -> None:
    """Answers 1, 2, 4 and 6 ("don't know") and one decline: asked 5, answered 4, positive 2 of 3 = 66.7 %."""
    people = [add_person() for _ in range(5)]
    for person in people:
        grant_relationship(session, person_id=person, team_id="discharge-support", kind="discharge_service")
    answers = [(1, "Kind and quick"), (2, None), (4, "Waited for medicines"), (6, None)]
    for person, (answer, comment) in zip(people, answers, strict=False):
        experience.record_survey(
            session, actor=volunteer, at=datetime(2026, 11, 3, tzinfo=UTC),
            answer=experience.SurveyAnswer(person_id=person, service="discharge_support", milestone="discharge_home",
                                           channel="sms", fft_answer=answer, comment=comment),
        )
    experience.record_survey(
        session, actor=volunteer, at=datetime(2026, 11, 4, tzinfo=UTC),
        answer=experience.SurveyAnswer(person_id=people[4], service="discharge_support", milestone="discharge_home",
                                       channel="phone", declined=True),
    )
    [result] = experience.experience_results(session, actor=discharge_lead)
    assert (result.service, result.month, result.asked, result.declined, result.answered, result.positive_percent) == (
        "discharge_support", "2026-11", 5, 1, 4, 66.7,
    )
    assert result.comments == ("Kind and quick", "Waited for medicines")
    with pytest.raises(AccessDenied):
        experience.experience_results(session, actor=Actor(user_id="u-x", username="x", role="gp"))


def test_three_unanswered_calls_escalate_to_a_welfare_check(
    session: Session, discharge_lead: Actor, volunteer: Actor, coordinator: Actor, add_person: PersonFactory
) -> None:
    person = add_person(birth_date=date(1939, 1, 1))
    case = discharge_support.refer_directly(
        session, actor=discharge_lead, person_id=person, setting="admitted", reason="Ward 4 asked for help home"
    )
    home_at = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
    discharge_support.record_home(session, actor=volunteer, discharge_support_id=case.discharge_support_id,
                                  decision_at=home_at - timedelta(hours=3), home_at=home_at)
    attempts = []
    for _ in range(3):
        call = next(c for c in follow_up.calls_for_case(
            session, actor=volunteer, discharge_support_id=case.discharge_support_id) if c.outcome is None)
        attempts.append((call.day_number, call.attempt))
        recorded = follow_up.record_call(session, actor=volunteer, follow_up_call_id=call.follow_up_call_id,
                                         outcome="unreachable", at=call.due_at)
    assert attempts == [(1, 1), (1, 2), (1, 3)]
    assert recorded.task_id is not None
    [welfare] = [t for t in tasks.queue(session, actor=coordinator) if t.kind == "welfare_check"]
    assert (welfare.task_id, welfare.priority, welfare.due_at) == (
        recorded.task_id, "asap", datetime(2026, 11, 21, 16, 0, tzinfo=UTC) + timedelta(hours=4),
    )

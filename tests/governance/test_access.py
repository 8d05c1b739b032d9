"""Access decisions: the role × relationship × resource matrix, sealed items, sensitive people, break-glass."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from joinedup.errors import AccessDenied, InvalidInput, NotFound
from joinedup.governance import (
    authorise,
    break_glass,
    end_relationship,
    ensure_team,
    grant_relationship,
    list_ig_alerts,
    review_break_glass,
)
from joinedup.governance.policy import load_access_policy
from joinedup.model import Actor
from joinedup.store.tables.base import utc_now
from joinedup.store.tables.governance import AuditEntry, BreakGlassSession, IgAlert

from .factories import PersonMade, actor, admit, make_person

RESOURCES = (
    "patient",
    "encounter",
    "condition",
    "observation",
    "medication",
    "risk_score",
    "care_plan",
    "passport",
    "follow_up_note",
    "audit",
)
CLINICAL = {"patient", "encounter", "condition", "observation", "medication", "risk_score"}
COORDINATION = {"care_plan", "passport", "follow_up_note"}
RELATIONSHIPS = (
    "registered_practice",
    "care_team",
    "coordination",
    "admission",
    "discharge_service",
    "self",
    "unrelated",
)

# Written by hand from the issue, not from the policy file: what each role may READ for direct care,
# per relationship held. Anything not listed is refused.
EXPECTED: dict[str, dict[str, set[str]]] = {
    "gp": {"registered_practice": CLINICAL | COORDINATION, "care_team": CLINICAL | COORDINATION},
    "practice_nurse": {"registered_practice": CLINICAL | COORDINATION, "care_team": CLINICAL | COORDINATION},
    "practice_administrator": {"registered_practice": {"patient", "encounter"}},
    "consultant": {"admission": CLINICAL | COORDINATION, "care_team": CLINICAL | COORDINATION},
    "community_nurse": {"care_team": CLINICAL | COORDINATION},
    "social_worker": {"care_team": {"patient", "encounter"} | COORDINATION},
    "care_coordinator": {"coordination": CLINICAL | COORDINATION, "care_team": CLINICAL | COORDINATION},
    "discharge_volunteer": {"discharge_service": {"patient", "passport", "follow_up_note"}},
    "patient": {"self": CLINICAL | {"care_plan", "passport", "audit"}},
    "analyst": {},
    "commissioner": {},
    "ig_officer": {relationship: {"audit"} for relationship in RELATIONSHIPS},
    "data_sharing_board_member": {},
    "system_administrator": {},
}

PRACTICE, HOSPITAL = "P00001", "RXX01"


def _world(session: Session) -> tuple[PersonMade, Callable[[str, str], Actor]]:
    """One person, and a maker of actors holding exactly one relationship with them."""
    person = make_person(session, practice=PRACTICE)
    admit(session, person, org_code=HOSPITAL)
    for team_id, kind in (("t-care", "care_team"), ("t-ccc", "coordination"), ("t-vol", "discharge_service")):
        ensure_team(session, team_id=team_id, name=team_id, org_code="ORG99")
        grant_relationship(session, person_id=person.person_id, team_id=team_id, kind=kind)

    def make(role: str, relationship: str) -> Actor:
        return {
            "registered_practice": lambda: actor(role, org=PRACTICE),
            "care_team": lambda: actor(role, org="ORG99", teams=("t-care",)),
            "coordination": lambda: actor(role, org="ORG99", teams=("t-ccc",)),
            "admission": lambda: actor(role, org=HOSPITAL),
            "discharge_service": lambda: actor(role, org="ORG99", teams=("t-vol",)),
            "self": lambda: actor(role, person_id=person.person_id),
            "unrelated": lambda: actor(role, org="P99999"),
        }[relationship]()

    return person, make


def _audit_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def test_every_role_relationship_and_resource_is_decided_as_the_issue_says_and_audited(session: Session) -> None:
    person, make = _world(session)
    first_sequence = _audit_count(session) + 1
    wrong: list[str] = []
    decided: list[tuple[str, str, str]] = []
    for role, allowed_by_relationship in EXPECTED.items():
        for relationship in RELATIONSHIPS:
            if relationship == "self" and role != "patient":
                continue
            who = make(role, relationship)
            for resource in RESOURCES:
                expected = resource in allowed_by_relationship.get(relationship, set())
                try:
                    authorise(session, actor=who, person_id=person.person_id, resource_type=resource)
                    allowed = True
                except AccessDenied:
                    allowed = False
                if allowed != expected:
                    wrong.append(f"{role}/{relationship}/{resource}: allowed={allowed}")
                decided.append((who.user_id, resource, "allowed" if allowed else "denied"))
    assert wrong == []
    # Every decision, allowed or not, left exactly one audit entry, in order, about this person.
    audited = session.execute(
        select(AuditEntry.user_id, AuditEntry.resource_type, AuditEntry.outcome, AuditEntry.person_id)
        .where(AuditEntry.sequence >= first_sequence)
        .order_by(AuditEntry.sequence)
    ).all()
    assert [tuple(row[:3]) for row in audited] == decided
    assert {row[3] for row in audited} == {person.person_id}
    assert len(decided) == 13 * 6 * len(RESOURCES) + 7 * len(RESOURCES)


def test_write_is_refused_where_only_reading_is_granted(session: Session) -> None:
    person, make = _world(session)
    volunteer = make("discharge_volunteer", "discharge_service")
    assert authorise(
        session, actor=volunteer, person_id=person.person_id, resource_type="follow_up_note", action="write"
    )
    with pytest.raises(AccessDenied, match="your role may not write patient records"):
        authorise(session, actor=volunteer, person_id=person.person_id, resource_type="patient", action="write")
    patient = make("patient", "self")
    with pytest.raises(AccessDenied):
        authorise(session, actor=patient, person_id=person.person_id, resource_type="condition", action="write")


def test_fields_and_sealed_items_follow_the_policy(session: Session) -> None:
    person, make = _world(session)
    contact = {"person_id", "given_name", "family_name", "phone", "address_line", "postcode"}

    volunteer = authorise(
        session,
        actor=make("discharge_volunteer", "discharge_service"),
        person_id=person.person_id,
        resource_type="patient",
    )
    admin = authorise(
        session,
        actor=make("practice_administrator", "registered_practice"),
        person_id=person.person_id,
        resource_type="patient",
    )
    gp = authorise(
        session, actor=make("gp", "registered_practice"), person_id=person.person_id, resource_type="condition"
    )
    nurse = authorise(
        session,
        actor=make("practice_nurse", "registered_practice"),
        person_id=person.person_id,
        resource_type="condition",
    )

    assert volunteer.visible_fields == frozenset(contact)
    assert not volunteer.can_see("birth_date")
    assert admin.visible_fields is not None
    assert contact | {"nhs_number", "birth_date", "sex"} <= admin.visible_fields
    assert (gp.visible_fields, gp.sealed_allowed, gp.basis) == (None, True, "registered_practice")
    assert (nurse.visible_fields, nurse.sealed_allowed) == (None, False)


def test_the_hospital_relationship_lasts_the_stay_and_a_day_after(session: Session) -> None:
    recent, long_ago = make_person(session), make_person(session)
    admit(session, recent, org_code=HOSPITAL, ended_hours_ago=20)
    admit(session, long_ago, org_code=HOSPITAL, ended_hours_ago=30)
    consultant = actor("consultant", org=HOSPITAL)
    assert (
        authorise(session, actor=consultant, person_id=recent.person_id, resource_type="condition").basis == "admission"
    )
    with pytest.raises(AccessDenied):
        authorise(session, actor=consultant, person_id=long_ago.person_id, resource_type="condition")
    with pytest.raises(AccessDenied):
        authorise(
            session, actor=actor("consultant", org="RYY99"), person_id=recent.person_id, resource_type="condition"
        )


def test_an_ended_relationship_no_longer_allows(session: Session) -> None:
    person, make = _world(session)
    volunteer = make("discharge_volunteer", "discharge_service")
    assert authorise(session, actor=volunteer, person_id=person.person_id, resource_type="passport")
    assert end_relationship(session, person_id=person.person_id, team_id="t-vol", reason="support finished") == 1
    with pytest.raises(AccessDenied, match="refer them to your service"):
        authorise(session, actor=volunteer, person_id=person.person_id, resource_type="passport")
    # An expiring grant stops by itself.
    grant_relationship(
        session,
        person_id=person.person_id,
        team_id="t-vol",
        kind="discharge_service",
        until=utc_now() - timedelta(seconds=1),
    )
    with pytest.raises(AccessDenied):
        authorise(session, actor=volunteer, person_id=person.person_id, resource_type="passport")


def test_a_sensitive_person_is_not_found_for_those_who_may_not_know_they_exist(session: Session) -> None:
    sensitive = make_person(session, practice=PRACTICE, sensitive=True)
    ordinary = make_person(session, practice=PRACTICE)
    stranger = actor("gp", org="P99999")
    with pytest.raises(NotFound) as hidden:
        authorise(session, actor=stranger, person_id=sensitive.person_id, resource_type="patient")
    with pytest.raises(NotFound) as missing:
        authorise(session, actor=stranger, person_id="per-does-not-exist", resource_type="patient")
    assert str(hidden.value) == str(missing.value)
    with pytest.raises(AccessDenied):
        authorise(session, actor=stranger, person_id=ordinary.person_id, resource_type="patient")
    assert authorise(session, actor=actor("gp", org=PRACTICE), person_id=sensitive.person_id, resource_type="patient")
    outcomes = session.scalars(select(AuditEntry.outcome).order_by(AuditEntry.sequence)).all()
    assert outcomes == ["not_found", "not_found", "denied", "allowed"]


def test_unknown_resource_types_and_actions_are_programming_errors(sqlite_session: Session) -> None:
    with pytest.raises(InvalidInput, match="unknown resource type"):
        authorise(sqlite_session, actor=actor("gp"), person_id=None, resource_type="horoscope")
    with pytest.raises(InvalidInput, match="unknown action"):
        authorise(sqlite_session, actor=actor("gp"), person_id=None, resource_type="patient", action="sell")


def test_the_policy_file_is_versioned_and_every_role_appears_in_it() -> None:
    policy = load_access_policy()
    assert policy.version == "2026-11-26.1"
    roles = {role for rule in policy.rules for role in rule.roles}
    assert roles == set(EXPECTED) | {"system"}


def test_break_glass_round_trip(session: Session) -> None:
    person = make_person(session, practice=PRACTICE)
    doctor = actor("gp", org="P99999")
    ig = actor("ig_officer", org="ICB01")

    with pytest.raises(AccessDenied, match="break-glass"):
        authorise(session, actor=doctor, person_id=person.person_id, resource_type="condition")
    with pytest.raises(InvalidInput, match="reason"):
        break_glass(session, actor=doctor, person_id=person.person_id, reason="  ")
    with pytest.raises(AccessDenied, match="may not use break-glass"):
        break_glass(
            session, actor=actor("discharge_volunteer"), person_id=person.person_id, reason="unconscious in A&E"
        )

    grant = break_glass(session, actor=doctor, person_id=person.person_id, reason="unconscious in A&E, no GP reachable")
    assert timedelta(minutes=239) < grant.expires_at - utc_now() <= timedelta(minutes=240)
    decision = authorise(session, actor=doctor, person_id=person.person_id, resource_type="condition")
    assert decision.break_glass
    assert decision.basis == f"break_glass #{grant.break_glass_id}: unconscious in A&E, no GP reachable"
    audited = session.scalars(
        select(AuditEntry).where(AuditEntry.user_id == doctor.user_id).order_by(AuditEntry.sequence)
    ).all()
    assert [(e.action, e.outcome) for e in audited] == [
        ("read", "denied"),
        ("break_glass", "allowed"),
        ("read", "allowed"),
    ]

    alerts = list_ig_alerts(session, actor=ig)
    assert [(a.kind, a.break_glass_id) for a in alerts] == [("break_glass", grant.break_glass_id)]
    # The alert names the user and the review, never the patient.
    assert person.person_id not in alerts[0].summary
    assert person.nhs_number not in alerts[0].summary
    assert "Testperson" not in alerts[0].summary
    with pytest.raises(AccessDenied):
        list_ig_alerts(session, actor=doctor)

    reviewed = review_break_glass(session, actor=ig, break_glass_id=grant.break_glass_id, outcome="appropriate")
    assert (reviewed.review_outcome, reviewed.reviewed_by) == ("appropriate", ig.username)
    assert list_ig_alerts(session, actor=ig) == []
    assert session.scalars(select(IgAlert.status)).all() == ["closed"]

    # Time-limited: once expired, the doctor is refused again.
    glass = session.get(BreakGlassSession, grant.break_glass_id)
    assert glass is not None
    glass.expires_at = utc_now() - timedelta(seconds=1)
    session.flush()
    with pytest.raises(AccessDenied):
        authorise(session, actor=doctor, person_id=person.person_id, resource_type="condition")

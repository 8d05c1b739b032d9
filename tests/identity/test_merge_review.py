"""Merge (A40 and reviewer), unmerge, the second-merge safety control, and the review queue round trip."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup.errors import Conflict, InvalidInput
from joinedup.identity import link_new_source_patients
from joinedup.identity.merge import MergeResult, link_history, merge_persons, merge_source_patients, unmerge_person
from joinedup.identity.review import accept_review_item, open_review_items, reject_review_item
from joinedup.identity.service import link_all
from joinedup.model import Actor
from joinedup.settings import Settings
from joinedup.store.tables.governance import AuditEntry
from joinedup.store.tables.identity import Person, PersonLinkEvent, SourcePatient

Patient = Callable[..., int]
REVIEWER = Actor(user_id="u-reviewer", username="reviewer", role="system_administrator")


def _person(session: Session, source_patient_id: int) -> str:
    person = session.scalar(select(SourcePatient.person_id).where(SourcePatient.source_patient_id == source_patient_id))
    assert person is not None
    return person


def _two_persons(session: Session, patient: Patient) -> tuple[list[int], list[int], str, str]:
    a = [patient("a1", nhs="9434765919", dob=date(1950, 3, 4)), patient("a2", source="pas", nhs="9434765919")]
    b = [patient("b1", nhs="9000000009", dob=date(1951, 5, 6))]
    link_new_source_patients(session, [*a, *b])
    return a, b, _person(session, a[0]), _person(session, b[0])


def test_merge_then_unmerge_restores_both_with_their_records(session: Session, patient: Patient) -> None:
    a, b, person_a, person_b = _two_persons(session, patient)
    result = merge_persons(session, survivor=person_a, merged=person_b, actor="system:feeds", reason="A40 MSG1")
    assert result.records_moved == 1
    assert {_person(session, i) for i in [*a, *b]} == {person_a}
    assert session.get(Person, person_b).status == "merged"  # type: ignore[union-attr]
    # A record arriving for the survivor after the merge stays with the survivor.
    later = patient("a3", source="community", nhs="9434765919", dob=date(1950, 3, 4))
    link_new_source_patients(session, [later])

    undone = unmerge_person(session, merged=person_b, actor=REVIEWER, reason="wrong merge")
    assert undone.records_moved == 1
    assert [_person(session, i) for i in a] == [person_a, person_a]
    assert [_person(session, i) for i in b] == [person_b]
    assert _person(session, later) == person_a
    restored = session.get(Person, person_b)
    assert restored is not None
    assert (restored.status, restored.merged_into_person_id) == ("active", None)
    history = [(event.action, event.source_patient_id, event.actor) for event in link_history(session, person_b)]
    assert history == [
        ("link", b[0], "system:identity"),
        ("merge", b[0], "system:feeds"),
        ("unmerge", b[0], "u-reviewer"),
    ]


def test_second_merge_of_a_merged_record_needs_review(session: Session, patient: Patient) -> None:
    _, b, person_a, person_b = _two_persons(session, patient)
    c = patient("c1", nhs="9000000025", dob=date(1970, 1, 1))
    link_new_source_patients(session, [c])
    person_c = _person(session, c)
    merge_persons(session, survivor=person_a, merged=person_b, actor="system:feeds", reason="A40 MSG1")
    with pytest.raises(Conflict):
        merge_persons(session, survivor=person_c, merged=person_b, actor="system:feeds", reason="A40 MSG2")
    unmerge_person(session, merged=person_b, actor=REVIEWER, reason="wrong")
    # b's record was merged once: an unreviewed merge of it again is refused, a reviewed one is allowed.
    with pytest.raises(Conflict):
        merge_persons(session, survivor=person_c, merged=person_b, actor="system:feeds", reason="A40 MSG3")
    merge_persons(session, survivor=person_c, merged=person_b, actor=REVIEWER, reason="checked", reviewed=True)
    assert _person(session, b[0]) == person_c
    with pytest.raises(InvalidInput):
        merge_persons(session, survivor=person_c, merged=person_c, actor=REVIEWER, reason="self")


def test_review_queue_round_trip(session: Session, patient: Patient, settings: Settings) -> None:
    first = patient("g1", given="JOHN", family="SMITH", dob=date(1960, 1, 1), sex="male", postcode="LS1 1AA",
                    nhs="4865447040")
    second = patient("g2", given="JOHN", family="SMITH", dob=date(1960, 1, 1), sex="male", postcode="LS1 1AA",
                     nhs="4823917286")
    unknown = patient("c1", source="community", given="John", family="Smith", dob=date(1960, 1, 1), sex="male",
                      postcode="LS1 1AA")
    link_all(session, settings)
    items = {(item.source_patient_id, item.candidate_source_patient_id): item for item in open_review_items(session)}
    # The unknown record against each John Smith, and the two registered John Smiths against each
    # other (one person with two NHS numbers would look exactly like this).
    assert set(items) == {(unknown, first), (unknown, second), (first, second)}
    two_johns = items[(first, second)]
    assert two_johns.explanation.startswith("different valid NHS numbers; possibly a wrong number; ")
    evidence = items[(unknown, first)]
    fields = {entry["field"]: entry["level"] for entry in evidence.evidence}
    assert fields == {"first_name": "the same", "surname": "the same", "dob": "the same", "sex": "the same",
                      "postcode": "the same"}
    assert "date of birth: the same (+" in evidence.explanation

    reject_review_item(session, two_johns.review_item_id, actor=REVIEWER, reason="two people, checked with PDS")
    reject_review_item(session, items[(unknown, second)].review_item_id, actor=REVIEWER, reason="wrong John")
    accept_review_item(session, items[(unknown, first)].review_item_id, actor=REVIEWER, reason="confirmed by phone")
    assert _person(session, unknown) == _person(session, first)
    assert _person(session, second) != _person(session, first)
    assert open_review_items(session) == []
    decisions = session.execute(
        select(PersonLinkEvent.action, PersonLinkEvent.actor)
        .where(PersonLinkEvent.action.in_(["review_accept", "review_reject"]))
        .order_by(PersonLinkEvent.link_event_id)
    ).all()
    assert [tuple(row) for row in decisions] == [
        ("review_reject", "u-reviewer"),
        ("review_reject", "u-reviewer"),
        ("review_accept", "u-reviewer"),
    ]
    audited = session.execute(
        select(AuditEntry.user_id, AuditEntry.action, AuditEntry.resource_type)
        .where(AuditEntry.resource_type == "person_link")
        .order_by(AuditEntry.sequence)
    ).all()
    assert [tuple(row) for row in audited] == [
        ("u-reviewer", "review_reject", "person_link"),
        ("u-reviewer", "review_reject", "person_link"),
        ("u-reviewer", "merge", "person_link"),
    ]
    with pytest.raises(Conflict):
        accept_review_item(session, items[(unknown, first)].review_item_id, actor=REVIEWER)
    # A re-run does not queue the rejected pair again.
    link_all(session, settings)
    assert open_review_items(session) == []


def test_a40_between_source_patients(session: Session, patient: Patient) -> None:
    a, b, person_a, person_b = _two_persons(session, patient)
    unlinked = patient("x1", source="pas", nhs="9999999999")
    # The retired record is not linked yet: it simply joins the survivor's person.
    joined = merge_source_patients(session, surviving=a[1], retired=unlinked, actor="system:feeds", reason="A40 M1")
    assert joined is not None
    assert _person(session, unlinked) == person_a
    result = merge_source_patients(session, surviving=a[1], retired=b[0], actor="system:feeds", reason="A40 M2")
    assert result == MergeResult(survivor=person_a, merged=person_b, records_moved=1)
    # A repeat of the same message changes nothing.
    assert merge_source_patients(session, surviving=a[1], retired=b[0], actor="system:feeds", reason="A40 M2") is None

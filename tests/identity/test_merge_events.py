"""HL7 A40 merge messages acted on by identity, once each, with the second-merge safety control."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup.identity.merge_events import apply_merge_events
from joinedup.store.tables import OutboxEvent, Person, SourcePatient
from joinedup.store.tables.identity_review import IdentityReviewItem


def _record(session: Session, local_id: str, person_id: str) -> int:
    session.add(Person(person_id=person_id))
    row = SourcePatient(source="hospital-pas", local_id=local_id, person_id=person_id, link_method="new_person")
    session.add(row)
    session.flush()
    return row.source_patient_id


def _a40(session: Session, surviving: int, retired: int) -> None:
    session.add(OutboxEvent(kind="adt.merge", source_patient_id=surviving,
                            payload={"event": "A40", "other_source_patient_id": retired}))
    session.flush()


def test_an_a40_merges_once_and_a_second_merge_goes_to_review(session: Session) -> None:
    first, second, third = (_record(session, f"MRN{n}", f"p{n}") for n in (1, 2, 3))
    _a40(session, first, second)
    report = apply_merge_events(session)
    assert (report.read, report.merged) == (1, 1)
    assert session.get(SourcePatient, second).person_id == "p1"
    assert session.get(Person, "p2").status == "merged"

    assert apply_merge_events(session).read == 0  # acted on once

    # The record merged by the first message may not be merged on again without a reviewer.
    _a40(session, third, second)
    report = apply_merge_events(session)
    assert (report.merged, report.sent_to_review) == (0, 1)
    assert session.get(SourcePatient, second).person_id == "p1"
    queued = session.scalars(select(IdentityReviewItem).where(IdentityReviewItem.source_patient_id == second)).one()
    assert queued.status == "open"
    assert "A40" in queued.explanation


def test_an_a40_between_records_of_one_person_changes_nothing(session: Session) -> None:
    first = _record(session, "MRN1", "p1")
    again = SourcePatient(source="hospital-pas", local_id="MRN1b", person_id="p1")
    session.add(again)
    session.flush()
    _a40(session, first, again.source_patient_id)
    report = apply_merge_events(session)
    assert (report.merged, report.already_one_person) == (0, 1)

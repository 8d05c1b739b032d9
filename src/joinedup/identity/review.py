"""The review queue: possible matches between the thresholds, decided by a person.

Each item carries the evidence in plain English (which fields agree, and what each was worth).
Accepting merges the record's person into the candidate's person (a reviewed merge, allowed even
for records merged before); rejecting keeps the two apart and stops the pair being queued again.
Both decisions are kept on the item, in the link history (``review_accept``/``review_reject`` with
the actor) and in governance's audit trail.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from joinedup.errors import Conflict, NotFound
from joinedup.identity.merge import actor_name, audit, merge_persons
from joinedup.model import Actor
from joinedup.store.tables.base import utc_now
from joinedup.store.tables.identity import PersonLinkEvent, SourcePatient
from joinedup.store.tables.identity_review import IdentityReviewItem


@dataclass(frozen=True)
class ReviewItem:
    """One queued pair as a reviewer sees it (ids and evidence; demographics are fetched by the UI)."""

    review_item_id: int
    source_patient_id: int
    candidate_source_patient_id: int
    person_id: str | None
    candidate_person_id: str | None
    match_weight: float
    match_probability: float
    evidence: list[dict[str, Any]]
    explanation: str
    status: str
    decided_by: str | None


def _view(item: IdentityReviewItem) -> ReviewItem:
    return ReviewItem(
        item.review_item_id,
        item.source_patient_id,
        item.candidate_source_patient_id,
        item.person_id,
        item.candidate_person_id,
        item.match_weight,
        item.match_probability,
        json.loads(item.evidence or "[]"),
        item.explanation,
        item.status,
        item.decided_by,
    )


def open_review_items(session: Session, *, limit: int = 100) -> list[ReviewItem]:
    """Open items, strongest evidence first."""
    query = (
        select(IdentityReviewItem)
        .where(IdentityReviewItem.status == "open")
        .order_by(IdentityReviewItem.match_weight.desc(), IdentityReviewItem.review_item_id)
        .limit(limit)
    )
    return [_view(item) for item in session.scalars(query)]


def count_open(session: Session) -> int:
    """How many items wait for a decision."""
    return session.scalar(select(func.count()).where(IdentityReviewItem.status == "open")) or 0


def _open_item(session: Session, review_item_id: int) -> IdentityReviewItem:
    item = session.get(IdentityReviewItem, review_item_id)
    if item is None:
        raise NotFound(f"no review item {review_item_id}")
    if item.status != "open":
        raise Conflict(f"review item {review_item_id} is already {item.status}")
    return item


def _person_of(session: Session, source_patient_id: int) -> str | None:
    return session.scalar(select(SourcePatient.person_id).where(SourcePatient.source_patient_id == source_patient_id))


def _decide(session: Session, item: IdentityReviewItem, status: str, actor: Actor | str, reason: str) -> None:
    item.status = status
    item.decided_at = utc_now()
    item.decided_by = actor_name(actor)[:64]
    item.decision_reason = reason[:400]
    session.add(
        PersonLinkEvent(
            source_patient_id=item.source_patient_id,
            action=f"review_{'accept' if status == 'accepted' else 'reject'}",
            from_person_id=item.person_id,
            to_person_id=item.candidate_person_id,
            method="reviewer",
            match_weight=item.match_weight,
            actor=actor_name(actor)[:64],
            reason=f"review item {item.review_item_id}: {reason}"[:400],
        )
    )
    session.flush()


def accept_review_item(session: Session, review_item_id: int, *, actor: Actor | str, reason: str = "") -> ReviewItem:
    """The two records are the same person: merge the record's person into the candidate's.

    Uses the persons the records belong to *now* (they may have moved since the item was queued);
    when they already share a person the item is simply closed.
    """
    item = _open_item(session, review_item_id)
    record_person = _person_of(session, item.source_patient_id)
    candidate_person = _person_of(session, item.candidate_source_patient_id)
    if record_person is None or candidate_person is None:
        raise Conflict(f"review item {review_item_id} refers to a record that is not linked")
    item.person_id, item.candidate_person_id = record_person, candidate_person
    _decide(session, item, "accepted", actor, reason or "same person")
    if record_person != candidate_person:
        merge_persons(
            session,
            survivor=candidate_person,
            merged=record_person,
            actor=actor,
            reason=f"review item {review_item_id} accepted",
            reviewed=True,
            method="reviewer",
        )
    _close_siblings(session, item)
    return _view(item)


def reject_review_item(session: Session, review_item_id: int, *, actor: Actor | str, reason: str = "") -> ReviewItem:
    """The two records are different people: keep them apart and never queue the pair again."""
    item = _open_item(session, review_item_id)
    _decide(session, item, "rejected", actor, reason or "different people")
    if item.person_id:
        audit(session, actor, "review_reject", item.person_id, f"review item {review_item_id} rejected")
    return _view(item)


def _close_siblings(session: Session, decided: IdentityReviewItem) -> None:
    """Other open items about the same record and the same (now merged) persons are settled too."""
    query = select(IdentityReviewItem).where(
        IdentityReviewItem.status == "open",
        IdentityReviewItem.source_patient_id == decided.source_patient_id,
        IdentityReviewItem.review_item_id != decided.review_item_id,
    )
    for item in session.scalars(query):
        if _person_of(session, item.candidate_source_patient_id) == _person_of(session, item.source_patient_id):
            item.status = "superseded"
            item.decided_at = utc_now()
            item.decision_reason = f"settled by review item {decided.review_item_id}"
    session.flush()

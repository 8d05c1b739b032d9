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
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from joinedup.errors import Conflict, InvalidInput, NotFound
from joinedup.identity.deterministic import chunked
from joinedup.identity.merge import actor_name, audit, merge_persons
from joinedup.identity.model import FIELD_NAMES
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


# --- the reviewer's desk: the same queue, read and decided through governance -------------------


@dataclass(frozen=True)
class ReviewRecord:
    """One side of a queued pair as the reviewer compares it: the source system's demographics."""

    source_patient_id: int
    source: str
    given_name: str | None
    family_name: str | None
    birth_date: date | None
    sex: str | None
    postcode: str | None
    nhs_number: str | None
    nhs_number_status: str
    person_id: str | None

    def shown(self, field: str) -> str:
        """The value of a compared field as a person reads it ("not recorded" when empty)."""
        values = {
            "first_name": self.given_name,
            "surname": self.family_name,
            "dob": f"{self.birth_date.day} {self.birth_date:%B %Y}" if self.birth_date else None,
            "sex": self.sex,
            "postcode": self.postcode,
            "nhs_number": _spaced(self.nhs_number) if self.nhs_number else None,
        }
        return values.get(field) or "not recorded"


def _spaced(number: str) -> str:
    return f"{number[:3]} {number[3:6]} {number[6:]}"


@dataclass(frozen=True)
class FieldComparison:
    """How one field compared, in plain English, and what it was worth (log2 Bayes factor)."""

    field: str
    label: str
    level: str
    match_weight: float
    record_value: str
    candidate_value: str

    @property
    def agrees(self) -> bool:
        """Whether this field counts for the pair being one person."""
        return self.match_weight > 0

    def sentence(self) -> str:
        """E.g. "Surname: very similar spelling, counts for a match (+5.2)"."""
        side = "counts for a match" if self.agrees else "counts against a match"
        return f"{self.label[:1].upper()}{self.label[1:]}: {self.level}, {side} ({self.match_weight:+.1f})"


@dataclass(frozen=True)
class ReviewCase:
    """A queued pair with both records and the evidence field by field, for a reviewer to decide."""

    item: ReviewItem
    record: ReviewRecord
    candidate: ReviewRecord
    comparisons: list[FieldComparison]

    @property
    def starting_weight(self) -> float:
        """The weight before any field is compared: how unlikely two records taken at random are one person."""
        return round(self.item.match_weight - sum(comparison.match_weight for comparison in self.comparisons), 1)

    @property
    def note(self) -> str:
        """Why the linker queued it beyond the weights (e.g. two different valid NHS numbers), or ""."""
        head = self.item.explanation.split(";", 1)[0]
        return head if head.startswith("different valid NHS numbers") else ""


def _records(session: Session, ids: set[int]) -> dict[int, ReviewRecord]:
    columns = (
        SourcePatient.source_patient_id,
        SourcePatient.source,
        SourcePatient.given_name,
        SourcePatient.family_name,
        SourcePatient.birth_date,
        SourcePatient.sex,
        SourcePatient.postcode,
        SourcePatient.nhs_number,
        SourcePatient.nhs_number_status,
        SourcePatient.person_id,
    )
    found: dict[int, ReviewRecord] = {}
    for part in chunked(sorted(ids)):
        for row in session.execute(select(*columns).where(SourcePatient.source_patient_id.in_(part))):
            found[row.source_patient_id] = ReviewRecord(**row._mapping)
    return found


def _comparisons(item: ReviewItem, record: ReviewRecord, candidate: ReviewRecord) -> list[FieldComparison]:
    return [
        FieldComparison(
            field=entry["field"],
            label=FIELD_NAMES.get(entry["field"], entry["field"]),
            level=entry["level"],
            match_weight=float(entry["match_weight"]),
            record_value=record.shown(entry["field"]),
            candidate_value=candidate.shown(entry["field"]),
        )
        for entry in item.evidence
    ]


def review_cases(session: Session, *, actor: Actor, limit: int = 50) -> list[ReviewCase]:
    """Open pairs, strongest evidence first, with both records: for a reviewer, through governance.

    The queue is refused (and the refusal audited) unless the actor's role may review person
    links; each person whose demographics are shown gets an audit entry of their own, so a
    patient's "who looked at my record" includes the reviewer.

    Raises:
        AccessDenied: the role may not review the identity queue.
    """
    from joinedup.governance import AuditItem, authorise, record_audit_many

    authorise(session, actor=actor, person_id=None, resource_type="person_link", action="review", detail="queue")
    items = open_review_items(session, limit=limit)
    records = _records(session, {i.source_patient_id for i in items} | {i.candidate_source_patient_id for i in items})
    cases = []
    for item in items:
        record, candidate = records.get(item.source_patient_id), records.get(item.candidate_source_patient_id)
        if record is None or candidate is None:
            continue
        cases.append(ReviewCase(item, record, candidate, _comparisons(item, record, candidate)))
    persons = sorted({r.person_id for case in cases for r in (case.record, case.candidate) if r.person_id})
    record_audit_many(
        session,
        actor=actor,
        items=[
            AuditItem("read", "person_link", person, "demographics shown in the identity review queue")
            for person in persons
        ],
    )
    return cases


def decide_review_item(
    session: Session, *, actor: Actor, review_item_id: int, decision: str, reason: str = ""
) -> ReviewItem:
    """A reviewer's decision on one pair: ``accept`` (one person: merge) or ``reject`` (two people).

    Decided by governance first (refused and audited unless the role may decide person links),
    then kept on the item, in the link history and in the audit trail (see ``accept_review_item``).

    Raises:
        AccessDenied: the role may not decide identity reviews.
        InvalidInput: the decision is neither accept nor reject.
        NotFound / Conflict: no such item, or it was already decided.
    """
    from joinedup.governance import authorise

    if decision not in ("accept", "reject"):
        raise InvalidInput("a review decision is accept or reject")
    item = _open_item(session, review_item_id)
    authorise(
        session,
        actor=actor,
        person_id=item.person_id,
        resource_type="person_link",
        action="decide",
        detail=f"review item {review_item_id}: {decision}",
    )
    if decision == "accept":
        return accept_review_item(session, review_item_id, actor=actor, reason=reason)
    return reject_review_item(session, review_item_id, actor=actor, reason=reason)
